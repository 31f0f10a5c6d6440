package core

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"zpng/codec"
	"zpng/codec/classic"
	"zpng/codec/cm"
)

// method is one way of turning a file into container sections and back.
type method interface {
	name() string
	id() codec.Method
	// available returns nil if the method can run with these options, or an
	// error wrapping ErrUnavailable that says why not.
	available(opt *Options) error
	// encode returns the container parts for src.
	encode(ctx context.Context, j *job, src []byte) (*encoded, error)
	// decode writes the original bytes of c to w.
	decode(ctx context.Context, j *job, c *codec.Container, w io.Writer) error
}

// encoded is what a method makes of a file; the pipeline adds the name,
// size and hash.
type encoded struct {
	flags    uint16
	modelID  [32]byte
	sections []codec.Section // META, if any, first: Inspect reads only that far
	model    string          // for Result.Model
	notes    []string
	follow   *follower // the check that followed the coding, if one did (check.go)
}

func (e *encoded) size() int64 {
	var n int64
	for _, s := range e.sections {
		n += int64(len(s.Data))
	}
	return n
}

// use says what a registered method is for.
type use int

const (
	useMake       use = iota // makes images, by name or as a level's candidate (levels.go)
	useDecodeOnly            // decodes images, makes none
)

type registration struct {
	m   method
	use use
}

var methods = map[string]registration{}

// registerMethod makes m known by name for use. Methods call it from init.
func registerMethod(m method, u use) {
	methods[m.name()] = registration{m, u}
}

func methodNames() string {
	names := []string{"auto"}
	for n, r := range methods {
		if r.use != useDecodeOnly {
			names = append(names, n)
		}
	}
	for _, n := range []string{"neural", "hybrid"} {
		if _, ok := methods[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names[1:])
	return strings.Join(names, ", ")
}

// candidates returns the methods to try for opt.Method.
func candidates(opt *Options) ([]method, error) {
	name := opt.Method
	if name == "" || name == "auto" {
		// The level's classical methods, the hybrid last so that it knows
		// the classical result to beat, stored first so that ties go to
		// real codecs.
		p := opt.plan()
		var ms []method
		for _, id := range p.classical {
			ms = append(ms, methods[id.String()].m)
		}
		slices.Reverse(ms)
		if h, ok := methods[codec.MethodHybrid.String()]; ok && p.hybrid && h.m.available(opt) == nil {
			ms = append(ms, h.m)
		}
		return ms, nil
	}
	r, ok := methods[name]
	if !ok {
		if name == "neural" || name == "hybrid" {
			return nil, fmt.Errorf("%w: method %s is not available in this build", ErrUnavailable, name)
		}
		return nil, fmt.Errorf("unknown method %q (have: %s)", name, methodNames())
	}
	if r.use == useDecodeOnly {
		return nil, fmt.Errorf("method %s only decodes images of earlier zpng versions (have: %s)", name, methodNames())
	}
	if err := r.m.available(opt); err != nil {
		return nil, err
	}
	return []method{r.m}, nil
}

// withRegions adds method regions to the candidates ms of a file of mixed
// content, last, and takes out cm and the hybrid unless the level keeps
// them too (levelPlan.regions).
func withRegions(ms []method, opt *Options) []method {
	if !opt.plan().wholeToo {
		ms = slices.DeleteFunc(slices.Clone(ms), func(m method) bool {
			return m.id() == codec.MethodCM || m.id() == codec.MethodHybrid
		})
	}
	return append(ms, methods[codec.MethodRegions.String()].m)
}

// methodByID returns the method that decodes id.
func methodByID(id codec.Method) (method, error) {
	for _, r := range methods {
		if r.m.id() == id {
			return r.m, nil
		}
	}
	if _, known := codec.ParseMethod(id.String()); !known {
		return nil, fmt.Errorf("%w: method id %d is unknown to this zpng; the image was probably made by a newer version", codec.ErrUnsupportedMethod, uint8(id))
	}
	return nil, fmt.Errorf("%w: this zpng cannot decode method %s (id %d)", codec.ErrUnsupportedMethod, id, uint8(id))
}

// classical is stored, zstd, xz (package classic), cm, cm2 or cm1 (package
// cm): one DATA section that codes the whole file.
type classical struct{ m codec.Method }

// isCM says whether the method is one of package cm's.
func (c classical) isCM() bool {
	return c.m == codec.MethodCM || c.m == codec.MethodCM3 || c.m == codec.MethodCM2 || c.m == codec.MethodCM1
}

func init() {
	for _, m := range []codec.Method{codec.MethodStored, codec.MethodZstd, codec.MethodXz, codec.MethodCM} {
		registerMethod(classical{m}, useMake)
	}
	registerMethod(classical{codec.MethodCM3}, useDecodeOnly)
	registerMethod(classical{codec.MethodCM2}, useDecodeOnly)
	registerMethod(classical{codec.MethodCM1}, useDecodeOnly)
}

func (c classical) name() string             { return c.m.String() }
func (c classical) id() codec.Method         { return c.m }
func (c classical) available(*Options) error { return nil }

func (c classical) encode(ctx context.Context, j *job, src []byte) (*encoded, error) {
	var payload bytes.Buffer
	var flags uint16
	var w io.WriteCloser
	var err error
	var f *follower
	if c.isCM() {
		flags = cm.ChooseFlags(src)
		var out io.Writer = &payload
		if followsCoding(len(src)) {
			f = followCM(ctx, c.m, flags, src)
			out = f.payload
		}
		w, err = cm.NewFlagCompressor(c.m, out, int64(len(src)), flags)
	} else {
		w, err = classic.NewCompressor(c.m, &payload, int64(len(src)))
	}
	if err == nil {
		j.progress.begin("compress "+c.name(), int64(len(src)))
		if err = copyWithProgress(ctx, j, w, bytes.NewReader(src)); err == nil {
			err = w.Close()
		}
	}
	if f != nil {
		f.finish(err != nil)
	}
	if err != nil {
		return nil, err
	}
	data := payload.Bytes()
	if f != nil {
		data = f.payload.bytes()
	}
	return &encoded{flags: flags, sections: []codec.Section{{Type: codec.SectionPayload, Data: data}}, follow: f}, nil
}

func (c classical) decode(ctx context.Context, j *job, ct *codec.Container, w io.Writer) error {
	if ct.Flags != 0 && !c.isCM() { // package cm checks its methods' flags
		return fmt.Errorf("%w: flags %#x for method %s", codec.ErrCorrupt, ct.Flags, c.name())
	}
	payload, ok := ct.Section(codec.SectionPayload)
	if !ok {
		return fmt.Errorf("%w: no DATA section", codec.ErrCorrupt)
	}
	var r io.ReadCloser
	var err error
	if c.isCM() {
		r, err = cm.NewFlagDecompressor(c.m, payload, ct.OriginalSize, ct.Flags)
	} else {
		r, err = classic.NewDecompressor(c.m, payload, ct.OriginalSize)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	return copyWithProgress(ctx, j, w, r)
}
