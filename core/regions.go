package core

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"zpng/codec"
	"zpng/codec/cm"
	"zpng/core/catalog"
	"zpng/core/neural"
)

// regionsMethod is method regions (FORMAT.md section 16): the file cut
// into regions by content (scan.go), each coded on its own with the
// method that suits its kind, on all cores.
type regionsMethod struct{}

func init() { registerMethod(regionsMethod{}, useMake) }

func (regionsMethod) name() string             { return codec.MethodRegions.String() }
func (regionsMethod) id() codec.Method         { return codec.MethodRegions }
func (regionsMethod) available(*Options) error { return nil }

// Limits of the region table (FORMAT.md section 16). A region is at most
// maxRegion bytes (scan.go), which bounds the reader's memory: it holds at
// most one decoded region per worker.
const (
	maxRegions        = 1 << 16
	maxRegionSections = 4
)

// regionMethods are the methods a region may be coded with.
var regionMethods = map[codec.Method]bool{
	codec.MethodStored: true, codec.MethodZstd: true, codec.MethodXz: true,
	codec.MethodCM: true, codec.MethodCM3: true, codec.MethodHybrid: true, codec.MethodCopy: true,
}

// regionCM is the cm revision the encoder codes regions with; images whose
// regions are in cm3 (method id 9) keep decoding.
const regionCM = codec.MethodCM

// Flags of methods cm and cm3, which code the cm regions (FORMAT.md 10.8).
const (
	cmBinary = 1 // the binary profile
	cmX86    = 2 // the x86 filter
)

// mixed reports whether regions pay off for src: the scan finds more than
// one kind of content. A file of one kind codes best as one piece.
func mixed(src []byte) bool {
	rs := cutContent(src, contentCuts(src), 0, len(src))
	for _, r := range rs[min(1, len(rs)):] {
		if r.kind != rs[0].kind {
			return true
		}
	}
	return false
}

// workers is how many regions code at once: the thread option, or the
// cores Go runs on. It changes speed and memory, never the image.
func workers(opt *Options) int {
	if opt.Threads > 0 {
		return opt.Threads
	}
	return runtime.GOMAXPROCS(0)
}

// subJob is a job for one region on its own goroutine: the same options
// (one engine thread, since the regions share the cores) and no progress
// reports of its own.
func subJob(j *job, w int) *job {
	s := &job{opt: j.opt, progress: &progress{}, models: j.models}
	if w > 1 {
		s.opt.Threads = 1
	}
	return s
}

// codedRegion is a region's part of the image.
type codedRegion struct {
	n        int
	method   codec.Method
	flags    uint16
	modelID  [32]byte
	model    string // the hybrid's model, for display
	sections []codec.Section
	models   []*catalog.Model // models named by path that the region used
	note     string
}

func (c *codedRegion) size() int {
	n := 0
	for _, s := range c.sections {
		n += len(s.Data)
	}
	return n
}

func (regionsMethod) encode(ctx context.Context, j *job, src []byte) (*encoded, error) {
	rs := cutRegions(src)
	w := workers(&j.opt)
	out := make([]*codedRegion, len(rs))
	j.progress.begin("compress regions", int64(len(src)))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu   sync.Mutex
		done int64
		errs = make([]error, len(rs))
		wg   sync.WaitGroup
		sem  = make(chan struct{}, w)
	)
	for i, r := range rs {
		if r.kind == kindCopy {
			out[i] = &codedRegion{n: r.n, method: codec.MethodCopy,
				sections: []codec.Section{{Type: codec.SectionPayload, Data: binary.LittleEndian.AppendUint64(nil, uint64(r.src))}}}
			mu.Lock()
			done += int64(r.n)
			mu.Unlock()
			continue
		}
		sem <- struct{}{}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := codeRegion(ctx, subJob(j, w), src[r.off:r.off+r.n], r.kind, int64(len(src)))
			if err != nil {
				errs[i] = fmt.Errorf("region %d (%s, bytes %d to %d): %w", i, r.kind, r.off, r.off+r.n, err)
				cancel()
				return
			}
			out[i] = c
			mu.Lock()
			done += int64(r.n)
			j.progress.update(done, 0, false)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return assembleRegions(j, out)
}

// assembleRegions writes the region table and the payload of the coded
// regions.
func assembleRegions(j *job, out []*codedRegion) (*encoded, error) {
	e := &encoded{}
	table := binary.LittleEndian.AppendUint32(nil, uint32(len(out)))
	var data []byte
	by := map[string]int{}
	hybrid := false
	for _, c := range out {
		if c.method == codec.MethodHybrid {
			if hybrid && c.modelID != e.modelID {
				return nil, errors.New("the hybrid regions ran different models")
			}
			hybrid, e.modelID, e.model = true, c.modelID, c.model
		}
		table = binary.LittleEndian.AppendUint64(table, uint64(c.n))
		table = append(table, byte(c.method), byte(len(c.sections)))
		table = binary.LittleEndian.AppendUint16(table, c.flags)
		for _, s := range c.sections {
			table = append(table, s.Type[:]...)
			table = binary.LittleEndian.AppendUint64(table, uint64(len(s.Data)))
			data = append(data, s.Data...)
		}
		by[c.method.String()] += c.n
		j.models = append(j.models, c.models...)
		if c.note != "" {
			e.notes = append(e.notes, c.note)
		}
	}
	e.sections = []codec.Section{{Type: codec.SectionRegions, Data: table}, {Type: codec.SectionPayload, Data: data}}
	s := fmt.Sprintf("regions: %d", len(out))
	for _, m := range []codec.Method{codec.MethodHybrid, regionCM, codec.MethodStored, codec.MethodCopy} {
		if by[m.String()] > 0 {
			s += fmt.Sprintf(", %s %d B", m, by[m.String()])
		}
	}
	e.notes = append([]string{s}, e.notes...)
	return e, nil
}

// codeRegion codes one region by its kind: random bytes stored (unless a
// fast zstd pass finds them compressible after all), the rest with cm in
// the profile of its kind, and text also with the hybrid where the level
// runs it and its estimate beats cm; the smallest wins, and nothing is
// coded larger than stored.
func codeRegion(ctx context.Context, j *job, b []byte, k kind, total int64) (*codedRegion, error) {
	stored := &codedRegion{n: len(b), method: codec.MethodStored,
		sections: []codec.Section{{Type: codec.SectionPayload, Data: b}}}
	if k == kindRandom {
		if incompressible(b) {
			return stored, nil
		}
		k = kindBinary
	}
	var flags uint16
	switch k {
	case kindBinary:
		flags = cmBinary
	case kindExec:
		flags = cmBinary | cmX86
	}
	var payload bytes.Buffer
	w, err := cm.NewFlagCompressor(regionCM, &payload, int64(len(b)), flags)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	best := stored
	if payload.Len() < len(b) {
		best = &codedRegion{n: len(b), method: regionCM, flags: flags,
			sections: []codec.Section{{Type: codec.SectionPayload, Data: payload.Bytes()}}}
	}
	if k != kindText || !j.opt.plan().hybrid {
		return best, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := neuralMethod{codec.MethodHybrid}
	if h.available(&j.opt) != nil {
		return best, nil
	}
	s := h.settings(&j.opt, j, total) // one model for every region: the level's for the whole file
	s.Bar = int64(best.size())
	e, err := neural.Encode(ctx, b, s, nopReporter{})
	switch {
	case errors.Is(err, neural.ErrNotCompetitive):
		return best, nil
	case err != nil:
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		best.note = fmt.Sprintf("hybrid failed on a region: %v", err)
		return best, nil
	}
	c := &codedRegion{n: len(b), method: codec.MethodHybrid, flags: e.Flags, modelID: e.ModelID, model: e.Model, sections: e.Sections}
	if e.File.Source != catalog.Shipped {
		c.models = append(c.models, e.File)
	}
	if c.size() < best.size() {
		return c, nil
	}
	return best, nil
}

// nopReporter hears nothing: regions report as they finish.
type nopReporter struct{}

func (nopReporter) Phase(string, int64, float64, float64) {}
func (nopReporter) Update(int64, float64)                 {}

// regionEntry is a region as the table describes it.
type regionEntry struct {
	off, n   int64 // the bytes of the original it holds
	method   codec.Method
	flags    uint16
	sections []codec.Section
	coded    int64 // the length of its sections
	src      int64 // a copy: where the bytes it repeats start
}

// parseRegions reads the region table of c and cuts its payload into the
// regions' sections, checking every rule of FORMAT.md section 16.
func parseRegions(c *codec.Container) ([]regionEntry, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: region table: %s", codec.ErrCorrupt, fmt.Sprintf(format, a...))
	}
	if c.Flags != 0 {
		return nil, fmt.Errorf("%w: flags %#x for method regions", codec.ErrCorrupt, c.Flags)
	}
	t, ok1 := c.Section(codec.SectionRegions)
	data, ok2 := c.Section(codec.SectionPayload)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: a regions image needs RGNS and DATA sections", codec.ErrCorrupt)
	}
	if len(t) < 4 {
		return nil, bad("%d bytes", len(t))
	}
	R := int64(binary.LittleEndian.Uint32(t))
	if R > maxRegions || (R == 0) != (c.OriginalSize == 0) {
		return nil, bad("%d regions for %d bytes", R, c.OriginalSize)
	}
	t = t[4:]
	var rs []regionEntry
	var total, off int64
	for i := range R {
		if len(t) < 12 {
			return nil, bad("region %d is cut short", i)
		}
		r := regionEntry{off: total, n: int64(binary.LittleEndian.Uint64(t)), method: codec.Method(t[8]), flags: binary.LittleEndian.Uint16(t[10:])}
		S := int(t[9])
		t = t[12:]
		if r.n < 1 || r.n > maxRegion || r.n > c.OriginalSize-total {
			return nil, bad("region %d: length %d", i, r.n)
		}
		total += r.n
		if !regionMethods[r.method] {
			return nil, bad("region %d: method %s", i, r.method)
		}
		if S < 1 || S > maxRegionSections || len(t) < 12*S {
			return nil, bad("region %d: %d sections", i, S)
		}
		for range S {
			var s codec.Section
			copy(s.Type[:], t)
			n := binary.LittleEndian.Uint64(t[4:])
			t = t[12:]
			if n > uint64(int64(len(data))-off) {
				return nil, bad("region %d: section %s runs past DATA", i, s.Type)
			}
			for _, o := range r.sections {
				if o.Type == s.Type {
					return nil, bad("region %d: section %s twice", i, s.Type)
				}
			}
			s.Data = data[off : off+int64(n)]
			off += int64(n)
			r.coded += int64(n)
			r.sections = append(r.sections, s)
		}
		if r.method == codec.MethodCopy {
			if err := checkCopy(&r); err != nil {
				return nil, bad("region %d: %v", i, err)
			}
		}
		rs = append(rs, r)
	}
	if len(t) != 0 || total != c.OriginalSize || off != int64(len(data)) {
		return nil, bad("%d bytes left, regions of %d bytes for %d, %d of %d DATA bytes used", len(t), total, c.OriginalSize, off, len(data))
	}
	return rs, nil
}

// checkCopy reads the source of the copy r and checks that it lies wholly
// before the copy and at most repeatWindow bytes before it.
func checkCopy(r *regionEntry) error {
	if r.flags != 0 || len(r.sections) != 1 || r.sections[0].Type != codec.SectionPayload || len(r.sections[0].Data) != 8 {
		return errors.New("a copy has flags 0 and one DATA section of 8 bytes")
	}
	src := binary.LittleEndian.Uint64(r.sections[0].Data)
	if src > uint64(r.off-r.n) || r.off < r.n || uint64(r.off)-src > repeatWindow {
		return fmt.Errorf("a copy of %d bytes at %d from %d", r.n, r.off, src)
	}
	r.src = int64(src)
	return nil
}

// decode decodes the regions on all cores and writes them in order; at
// most as many regions as workers are decoded or waiting to be written.
func (regionsMethod) decode(ctx context.Context, j *job, c *codec.Container, w io.Writer) error {
	rs, err := parseRegions(c)
	if err != nil {
		return err
	}
	// The decoded bytes that copies reach back to are kept, and no more.
	var window int64
	for _, r := range rs {
		if r.method == codec.MethodCopy {
			window = max(window, r.off-r.src)
		}
	}
	hist := &history{buf: make([]byte, window)}
	nw := workers(&j.opt)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		b   []byte
		err error
	}
	results := make([]chan result, len(rs))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	sem := make(chan struct{}, nw)
	go func() {
		for i, r := range rs {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				b, err := decodeRegion(ctx, subJob(j, nw), c, r)
				if err != nil {
					err = fmt.Errorf("region %d (%s): %w", i, r.method, err)
				}
				results[i] <- result{b, err}
			}()
		}
	}()
	var done int64
	for i := range rs {
		var res result
		select {
		case res = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if res.err != nil {
			return res.err
		}
		if r := rs[i]; r.method == codec.MethodCopy {
			res.b = make([]byte, r.n)
			hist.read(r.src, res.b)
		}
		hist.write(res.b)
		if _, err := w.Write(res.b); err != nil {
			return err
		}
		<-sem
		done += rs[i].n
		j.progress.update(done, 0, false)
	}
	return nil
}

// decodeRegion decodes one region as an image of its own method.
func decodeRegion(ctx context.Context, j *job, c *codec.Container, r regionEntry) ([]byte, error) {
	if r.method == codec.MethodCopy {
		return nil, nil // made from the bytes before it, in order
	}
	m, err := methodByID(r.method)
	if err != nil {
		return nil, err
	}
	sub := &codec.Container{Header: codec.Header{Method: r.method, Flags: r.flags, OriginalSize: r.n, ModelID: c.ModelID}, Sections: r.sections}
	var out bytes.Buffer
	out.Grow(int(r.n))
	lw := &limitWriter{w: &out, left: r.n}
	if err := m.decode(ctx, j, sub, lw); err != nil {
		return nil, err
	}
	if int64(out.Len()) != r.n {
		return nil, fmt.Errorf("%w: %d bytes decoded, want %d", codec.ErrCorrupt, out.Len(), r.n)
	}
	return out.Bytes(), nil
}

// limitWriter refuses more than left bytes, so that a corrupt region cannot
// grow without bound.
type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, fmt.Errorf("%w: a region decodes to more bytes than its length", codec.ErrCorrupt)
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}

// history keeps the last len(buf) bytes written, in a ring.
type history struct {
	buf []byte
	n   int64 // the bytes written in all
}

func (h *history) write(p []byte) {
	if len(h.buf) == 0 {
		return
	}
	if len(p) > len(h.buf) {
		h.n += int64(len(p) - len(h.buf))
		p = p[len(p)-len(h.buf):]
	}
	for len(p) > 0 {
		c := copy(h.buf[h.n%int64(len(h.buf)):], p)
		p = p[c:]
		h.n += int64(c)
	}
}

// read fills dst with the bytes written from offset off on, which must
// still be kept: h.n-len(h.buf) <= off and off+len(dst) <= h.n.
func (h *history) read(off int64, dst []byte) {
	for k := 0; k < len(dst); {
		k += copy(dst[k:], h.buf[(off+int64(k))%int64(len(h.buf)):])
	}
}

// isRegionCM says whether a region's method is one of the cm revisions a
// region may be coded with.
func isRegionCM(m codec.Method) bool { return m == codec.MethodCM || m == codec.MethodCM3 }

// inspectRegions reads the rest of the image r of method regions and lists
// its regions.
func inspectRegions(r *codec.Reader) ([]RegionInfo, error) {
	c := &codec.Container{Header: r.Header}
	for {
		s, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		c.Sections = append(c.Sections, s)
	}
	rs, err := parseRegions(c)
	if err != nil {
		return nil, err
	}
	var out []RegionInfo
	for _, e := range rs {
		k := "random"
		switch {
		case e.method == codec.MethodCopy:
			k = "copy"
		case e.method == codec.MethodHybrid || isRegionCM(e.method) && e.flags == 0:
			k = "text"
		case isRegionCM(e.method) && e.flags&cmX86 != 0:
			k = "executable"
		case isRegionCM(e.method):
			k = "binary"
		}
		out = append(out, RegionInfo{Offset: e.off, Length: e.n, Method: e.method.String(), Flags: e.flags, Kind: k, Coded: e.coded, Source: e.src})
	}
	return out, nil
}
