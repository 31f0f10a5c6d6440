// Package neural is the neural and hybrid compression methods: a byte model
// predicts every next byte, and a range coder (method neural) or the
// context-mixing coder of package codec/cm (the hybrid methods) codes it, in
// streams side by side. It chooses the model, decides whether a fine-tune on
// the file pays, and builds and reads the image's sections. Package core
// runs it as one of its methods.
package neural

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"zpng/codec"
	"zpng/codec/entropy"
	"zpng/core/catalog"
	"zpng/core/engine"
	_ "zpng/core/engine/goengine" // the pure-Go engine, in every build
	"zpng/core/model"
)

// The header's ModelID names the base model (the SHA-256 of its file); the
// flags say what else the decoder needs, carried in the WGHT section:
const (
	weightsNone  = 0 // the base model as shipped
	weightsDelta = 1 // model.Delta of the fine-tuned model against the base
	weightsFull  = 2 // the whole integer model, model.MarshalBinary, zstd
)

var weightsKinds = map[uint16]string{weightsNone: "none", weightsDelta: "delta", weightsFull: "full"}

// Errors callers can test with errors.Is.
var (
	// ErrUnavailable: the method cannot run in this build or with these settings.
	ErrUnavailable = errors.New("method not available")
	// ErrNotCompetitive: the sample estimate says the classical size to
	// beat (Settings.Bar) is out of reach, so the file was not coded.
	ErrNotCompetitive = errors.New("skipped")
)

// Meta is the META section of a neural image (JSON): display facts only;
// the decoder needs none of it except the model's name for messages.
type Meta struct {
	Model   string `json:"model"`              // preset name or file name
	ModelID string `json:"model_id,omitempty"` // in some images; the header holds the identity
	Config  string `json:"config"`             // e.g. "2x256"
	// Engine and Device, in some images, name where the image was coded.
	// Writers leave them out: the image does not depend on where it is made.
	Engine        string  `json:"engine,omitempty"`
	Device        string  `json:"device,omitempty"`
	FinetuneSteps int     `json:"finetune_steps"`
	Trained       string  `json:"trained,omitempty"` // the tensors the fine-tune changed
	BPBBase       float64 `json:"bpb_base"`          // payload under the base model (estimate for large files)
	BPBTuned      float64 `json:"bpb_tuned,omitempty"`
	Embedded      string  `json:"embedded"` // none, delta or full
	EmbeddedBytes int     `json:"embedded_bytes"`
	Streams       int     `json:"streams"`
	BPB           float64 `json:"bpb"` // weights + stream table + payload, bits per original byte
}

// ParseMeta decodes the META section of a neural image.
func ParseMeta(meta []byte) (*Meta, error) {
	var m Meta
	if err := json.Unmarshal(meta, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// IsMethod reports whether id is a method that runs a model: neural,
// hybrid, or hybrid1, hybrid2 and hybrid3, which zpng decodes but does not make.
func IsMethod(id codec.Method) bool {
	switch id {
	case codec.MethodNeural, codec.MethodHybrid, codec.MethodHybrid1, codec.MethodHybrid2, codec.MethodHybrid3:
		return true
	}
	return false
}

// RunsModel reports whether the method named codes with a model, so that
// its META is a Meta.
func RunsModel(method string) bool {
	id, ok := codec.ParseMethod(method)
	return ok && IsMethod(id)
}

// Policy holds the thresholds by which the method spends time and bytes.
type Policy struct {
	// MinSegmentBytes is the shortest stream worth its own warm-up.
	MinSegmentBytes int64
	// SmallSegmentBytes is the longest segment that method hybrid cuts
	// for a model of the small preset (segmentBytes; 0: MinSegmentBytes).
	SmallSegmentBytes int64
	// ShortSegmentBytes, under Settings.ShortSegments, is the shortest
	// segment of a file too short for shortStreams segments of
	// MinSegmentBytes (segmentBytes; 0: MinSegmentBytes).
	ShortSegmentBytes int64
	// CompetitiveMargin: with a bar to beat, method neural codes the file
	// only when the base model's sample estimate is within this factor of
	// it. HybridMargin: method hybrid codes it only when its estimate
	// (competeHybrid) is at most this fraction of the bar.
	CompetitiveMargin, HybridMargin float64
	// TuneBytesPerParam: a file smaller than this many bytes per trained
	// parameter is too small for a fine-tune's delta to pay.
	TuneBytesPerParam int64
	// HybridTuneShare is the part of the network's sample gain from a
	// fine-tune that survives in a hybrid payload, whose cm model learns
	// much of the same from the file.
	HybridTuneShare float64
	// GroupBytes: method hybrid codes a file in one group of streams per
	// GroupBytes bytes (groupCount), which run in parallel; 0 means one group.
	GroupBytes int64
}

// DefaultPolicy is the policy zpng runs with.
//
// MinSegmentBytes: see streamCount.
//
// ShortSegmentBytes: at one stream the large model steps at 15 kB/s, at
// four 48 kB/s (BenchmarkInference, 2 cores), so a file of 16-64 KiB
// codes several times slower per byte than a larger one. Segments down to
// 8 KiB that give such a file up to four streams made nine texts of 12-60
// KB (code, man pages, licences, Markdown, HTML) 0-2.3% larger, 0.96% in
// all, and compressing and restoring them at the default level 1.5 and
// 1.6 times as fast (medians of 3); segments of 8 KiB for files of
// 100-400 KB cost 0.8-2.0% for 0-10% of speed.
//
// SmallSegmentBytes: a stream sees only what the other streams of its
// group have coded so far, so the more streams, the less history the cm
// half of the hybrid has. The large model needs many streams to run fast;
// the small one needs only about eight a group (segmentBytes). Payloads of
// 2 MB in 2 groups, small-v5 (BenchmarkGroups ZPNG_BENCH_SEGMENT=…, native):
// man pages 298,190 B at 16 KiB segments (122 streams; coding 150 kB/s,
// decoding 152), 293,263 at 125,000 B (16 streams: −1.7%, 171 and 158
// kB/s), 290,845 at 256 KiB (7 streams); Vim's documentation 331,298,
// 327,897 (−1.0%, 171 and 200 kB/s) and 323,761. Fewer than eight streams a
// group make small files slow: with 256 KiB segments alone the Canterbury
// files coded at 42 kB/s instead of 60.
// CompetitiveMargin: the fine-tune has gained up to about 10% (finetune.go).
// HybridMargin: the hybrid runs 10 to 50 times slower than cm, so the
// default levels run it only where it is estimated to save at least 3%;
// levels 8 and 9 run it unless it is estimated to lose (levelPlan).
//
// TuneBytesPerParam: see minTuneBytes.
//
// HybridTuneShare: on alice29.txt (small model) the fine-tune saved 4,087 B
// of neural payload and 637 B of hybrid payload, 16% of it.
//
// GroupBytes: each group relearns the cm model, which costs bytes, and runs
// on its own core. Measured with the small model (BenchmarkGroups, torch),
// bytes lost against one group: alice29.txt (152 kB) 3.5% at G = 2;
// lcet10.txt (427 kB) 3.5% at G = 2, 5.6% at G = 4; 1 MB of man pages and
// licences 0.9% at G = 2; 2.2 MB of them 1.3% at G = 2, 2.0% at G = 4. On
// 2 cores busy with other work, two groups coded alice29.txt 1.8 times as
// fast as one, but 1.2 MB of man pages no faster, in 25-35% more CPU time.
// 1 MiB keeps single texts up to 1 MiB in one group (at most about 1% more
// bytes above) and gives a group a core from 2 MiB on; levels 8 and 9 code
// one group (Settings.OneGroup).
func DefaultPolicy() Policy {
	return Policy{
		MinSegmentBytes:   16 << 10,
		SmallSegmentBytes: 256 << 10,
		ShortSegmentBytes: 8 << 10,
		CompetitiveMargin: 1.12,
		HybridMargin:      0.97,
		TuneBytesPerParam: 38,
		HybridTuneShare:   0.16,
		GroupBytes:        1 << 20,
	}
}

// Settings say how to code one file.
type Settings struct {
	Method codec.Method // neural or hybrid (hybrid1, hybrid2 and hybrid3 decode only)
	Model  string       // auto (or ""), a name of Catalog or a model file path
	// Prefer is the preset that Model auto takes when the catalog has it
	// (the level's choice); otherwise auto takes the largest model.
	Prefer        string
	FinetuneSteps int
	// ExactTune codes the file with and without the fine-tune and keeps the
	// smaller; otherwise a sample estimate decides and the file is coded once.
	ExactTune bool
	// OneGroup codes method hybrid in one group of streams, whatever the
	// file's size: the smallest image, on one core.
	OneGroup bool
	// ShortSegments gives a file too short for a few streams of
	// Policy.MinSegmentBytes shorter ones (segmentBytes): faster, a little
	// larger.
	ShortSegments bool
	SelfContained bool   // embed the whole model instead of naming it
	Engine        string // "" (best available), torch or go
	Device        string // "" or auto, cpu or cuda
	Threads       int
	// Bar is the size in bytes to beat (the best classical result); 0 for
	// no comparison.
	Bar int64
	// Catalog is the models to choose from; nil means catalog.Default("").
	Catalog *catalog.Catalog
	// Extra holds models named by path earlier in the job (Encoded.File), so
	// that the image's own check finds them.
	Extra  []*catalog.Model
	Policy Policy // the zero Policy means DefaultPolicy
}

func (s *Settings) catalog() *catalog.Catalog {
	if s.Catalog == nil {
		return catalog.Default("")
	}
	return s.Catalog
}

func (s *Settings) policy() Policy {
	if s.Policy == (Policy{}) {
		return DefaultPolicy()
	}
	return s.Policy
}

// Reporter hears how far the method is.
type Reporter interface {
	// Phase starts a phase of total units that runs over the part [from,
	// to] of the method's share of the job.
	Phase(name string, total int64, from, to float64)
	// Update reports done units of the current phase; loss is the fine-tune
	// loss in bits per byte, 0 in other phases.
	Update(done int64, loss float64)
}

// Encoded is an image's method-specific part.
type Encoded struct {
	Flags    uint16
	ModelID  [32]byte
	Sections []codec.Section // META first
	Model    string          // the model and any embedded weights, for display
	Notes    []string
	File     *catalog.Model // the base model
}

// Available returns nil if the method can run with s, or an error wrapping
// ErrUnavailable that says why not.
func Available(s Settings) error {
	if _, _, err := engineFor(&s); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if c := s.catalog(); (s.Model == "" || s.Model == "auto") && len(c.Models()) == 0 {
		return fmt.Errorf("%w: no model: this zpng ships none and %s holds none (use --model FILE)", ErrUnavailable, c.Dir())
	}
	return nil
}

// engineFor returns the engine s asks for: s.Engine, else defaultEngine.
func engineFor(s *Settings) (engine.Factory, engine.Options, error) {
	dev := s.Device
	if dev == "" {
		dev = "auto"
	}
	name := s.Engine
	if name == "" {
		name = defaultEngine(dev)
	}
	f, err := engine.Lookup(name)
	return f, engine.Options{Device: dev, Threads: s.Threads}, err
}

// defaultEngine is the engine that runs on dev when none is named: on CUDA
// libtorch, the only engine that runs there (a build without it then
// reports that it lacks it); on the CPU the native engine (plain C, no
// libtorch), else libtorch, else the pure-Go engine. All give identical
// tables, so the choice changes speed only.
func defaultEngine(dev string) string {
	if dev == "cuda" {
		return "torch"
	}
	for _, name := range []string{"native", "torch", "go"} {
		if _, err := engine.Lookup(name); err == nil {
			return name
		}
	}
	return "go"
}

// EngineReady returns nil when the engine named (or, for "", the default
// for device) can run on device here, else why not: its library missing,
// or no CUDA device for "cuda". It loads the engine's library, so callers
// ask only when the user named an engine or a device.
func EngineReady(name, device string) error {
	f, eo, err := engineFor(&Settings{Engine: name, Device: device})
	if err != nil {
		return err
	}
	if l, ok := f.(engine.Loader); ok {
		if err := l.Load(); err != nil {
			return err
		}
	}
	if eo.Device == "cuda" {
		if dev, ok := f.Available(); !ok || dev != "cuda" {
			return fmt.Errorf("no CUDA device for engine %s here", f.Name())
		}
	}
	return nil
}

// Engines lists the engines built into this zpng.
func Engines() []string { return engine.Names() }

func deviceOf(p engine.Predictor) string {
	if d, ok := p.(interface{ Device() string }); ok {
		return d.Device()
	}
	return "cpu"
}

// Decode writes the original bytes of the neural image c to w.
func Decode(ctx context.Context, c *codec.Container, w io.Writer, s Settings, r Reporter) error {
	kind, ok := weightsKinds[c.Flags]
	if !ok {
		return fmt.Errorf("%w: flags %#x for method %s", codec.ErrCorrupt, c.Flags, c.Method)
	}
	var meta Meta
	if m, ok := c.Section(codec.SectionMeta); ok {
		json.Unmarshal(m, &meta) // display facts only; a bad one costs the name in messages
	}
	wsec, hasW := c.Section(codec.SectionWeights)
	if hasW != (c.Flags != weightsNone) {
		return fmt.Errorf("%w: %s weights but WGHT section present: %v", codec.ErrCorrupt, kind, hasW)
	}
	table, ok1 := c.Section(codec.SectionStreams)
	payload, ok2 := c.Section(codec.SectionPayload)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: a %s image needs STRM and DATA sections", codec.ErrCorrupt, c.Method)
	}
	var groups []int
	var groupFlags []uint16
	if isGrouped(c.Method) {
		var err error
		if table, groups, groupFlags, err = splitGroupTable(table, c.Method); err != nil {
			return err
		}
	}
	streams, err := entropy.ParseStreamTable(table, c.OriginalSize, int64(len(payload)))
	if err != nil {
		return err
	}
	if len(streams) > maxStreams {
		return fmt.Errorf("%w: %d streams (at most %d)", codec.ErrCorrupt, len(streams), maxStreams)
	}
	q, err := decodeModel(c, wsec, meta.Model, &s)
	if err != nil {
		return err
	}
	f, eo, err := engineFor(&s)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	update := func(d int64) { r.Update(d, 0) }
	if groups != nil {
		return decodeGroups(ctx, network{f, eo, q}, c.Method, streams, groups, groupFlags, payload, c.OriginalSize, 0, w, update)
	}
	p, err := f.NewPredictor(q, len(streams), eo)
	if err != nil {
		return err
	}
	defer p.Close()
	return decodeStreams(ctx, p, table, payload, c.OriginalSize, c.Method, 0, w, update)
}

// decodeModel rebuilds the integer model that coded c: embedded whole, or
// the base model that c names, with the delta in wsec if there is one.
func decodeModel(c *codec.Container, wsec []byte, name string, s *Settings) (*model.Quantized, error) {
	if c.Flags == weightsFull {
		return unmarshalFull(wsec)
	}
	mf, err := s.catalog().ByID(c.ModelID, name, s.Extra)
	if err != nil {
		return nil, err
	}
	q, err := quantize(mf, nil)
	if err != nil {
		return nil, err
	}
	if c.Flags == weightsDelta {
		if q, err = model.ApplyDelta(q, wsec); err != nil {
			return nil, fmt.Errorf("%w: %v", codec.ErrCorrupt, err)
		}
	}
	return q, nil
}
