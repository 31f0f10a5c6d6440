package neural

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"zpng/codec"
	"zpng/core/catalog"
	"zpng/core/model"
)

func TestStreamCount(t *testing.T) {
	minSegment := DefaultPolicy().MinSegmentBytes
	for _, c := range []struct {
		n    int64
		want int
	}{{0, 1}, {1, 1}, {32<<10 - 1, 1}, {32 << 10, 2}, {1 << 20, 64}, {100 << 20, 1024}, {1 << 40, 1024}} {
		if got := streamCount(c.n, minSegment); got != c.want {
			t.Errorf("streamCount(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// TestMinTuneBytes: the smallest file worth a fine-tune grows with the
// parameters the fine-tune trains (the delta's size): about 96 KiB for the
// 2×256 small model, about 418 kB for the 4×512 large one.
func TestMinTuneBytes(t *testing.T) {
	perParam := DefaultPolicy().TuneBytesPerParam
	for _, c := range []struct {
		cfg  model.Config
		want int64
	}{
		{model.Config{Layers: 2, Hidden: 256, Embed: 256}, 38 * 2560},
		{model.Config{Layers: 4, Hidden: 512, Embed: 512}, 38 * 11008},
		{model.Config{Layers: 2, Hidden: 32, Embed: 32}, 38 * 544},
	} {
		w, err := model.NewWeights(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := minTuneBytes(w, perParam); got != c.want {
			t.Errorf("%v: minTuneBytes %d, want %d", c.cfg, got, c.want)
		}
	}
}

// TestZeroPolicy: settings without a policy run with DefaultPolicy.
func TestZeroPolicy(t *testing.T) {
	var s Settings
	if s.policy() != DefaultPolicy() {
		t.Errorf("zero policy gives %+v", s.policy())
	}
}

// recorder is a Reporter that keeps the phases it is told of.
type recorder struct{ phases []string }

func (r *recorder) Phase(name string, total int64, from, to float64) {
	r.phases = append(r.phases, name)
}
func (r *recorder) Update(done int64, loss float64) {}

// TestEncodeDecode: what Encode returns decodes to the input with Decode,
// names the model it used, and a bar out of reach skips the file.
func TestEncodeDecode(t *testing.T) {
	dir := t.TempDir()
	w, err := model.RandomWeights(model.Config{Layers: 1, Hidden: 32, Embed: 32}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := model.Save(filepath.Join(dir, "tiny.safetensors"), w, &model.Meta{Preset: "tiny"}, model.F32); err != nil {
		t.Fatal(err)
	}
	src := bytes.Repeat([]byte("abcabd "), 300)
	for _, method := range []codec.Method{codec.MethodNeural, codec.MethodHybrid} {
		s := Settings{Method: method, Model: "tiny", Engine: "go", Catalog: catalog.New(nil, dir)}
		var rec recorder
		e, err := Encode(context.Background(), src, s, &rec)
		if err != nil {
			t.Fatal(err)
		}
		if e.File.Name != "tiny" || e.ModelID != e.File.ID || e.Flags != weightsNone || len(rec.phases) == 0 {
			t.Errorf("%s: encoded %+v, phases %v", method, e, rec.phases)
		}
		c := &codec.Container{Header: codec.Header{Method: method, Flags: e.Flags, ModelID: e.ModelID,
			OriginalSize: int64(len(src))}, Sections: e.Sections}
		var out bytes.Buffer
		if err := Decode(context.Background(), c, &out, s, &rec); err != nil || !bytes.Equal(out.Bytes(), src) {
			t.Errorf("%s: decode: %v, %d bytes", method, err, out.Len())
		}
		s.Bar = 1
		if _, err := Encode(context.Background(), src, s, &rec); !errors.Is(err, ErrNotCompetitive) {
			t.Errorf("%s: a bar of 1 byte: %v, want ErrNotCompetitive", method, err)
		}
	}
}

// TestCompeteHybrid: with the shipped small model, the hybrid's sample
// estimate lets it run on English text against cm's size and skips random
// bytes against their stored size.
func TestCompeteHybrid(t *testing.T) {
	var text []byte
	for _, f := range []string{"../../README.md", "../../codec/FORMAT.md", "../../docs/ENGINE.md", "../../docs/GPU.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text = append(text, b...)
	}
	random := make([]byte, 48<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	cmSize, err := cmBytes(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		src  []byte
		bar  int64
		runs bool
	}{{"text", text, int64(cmSize), true}, {"random", random, int64(len(random)) + 16, false}} {
		s := Settings{Method: codec.MethodHybrid, Model: "small", Bar: c.bar}
		f, eo, err := engineFor(&s)
		if err != nil {
			t.Fatal(err)
		}
		s.Catalog = s.catalog()
		e := &encoder{s: s, policy: s.policy(), f: f, eo: eo, src: c.src, n: int64(len(c.src))}
		m, err := s.Catalog.ByName("small")
		if err != nil {
			t.Fatal(err)
		}
		pick, err := load(m)
		if err != nil {
			t.Fatal(err)
		}
		err = e.competeHybrid(context.Background(), pick)
		if c.runs && err != nil || !c.runs && !errors.Is(err, ErrNotCompetitive) {
			t.Errorf("%s (%d bytes, bar %d): %v; want the hybrid to run: %v", c.name, len(c.src), c.bar, err, c.runs)
		}
	}
}

// TestSegmentBytes: method hybrid gives the small preset's models streams
// as long as SmallSegmentBytes allows while each group keeps
// smallGroupStreams of them; the large model and method neural keep
// MinSegmentBytes.
func TestSegmentBytes(t *testing.T) {
	p := DefaultPolicy()
	small := &catalog.Model{Meta: model.Meta{Preset: "small"}}
	large := &catalog.Model{Meta: model.Meta{Preset: "large"}}
	for _, c := range []struct {
		method  codec.Method
		m       *catalog.Model
		n       int64
		want    int64
		streams int
	}{
		{codec.MethodHybrid, small, 100_000, p.MinSegmentBytes, 6}, // 8 streams would be too short
		{codec.MethodHybrid, small, 152_089, 19_011, 8},
		{codec.MethodHybrid, small, 2_000_000, 250_000, 8},   // one group (under 2 MiB)
		{codec.MethodHybrid, small, 2_200_000, 137_500, 16},  // 2 groups of 8
		{codec.MethodHybrid, small, 10_000_000, 156_250, 64}, // 8 groups of 8
		{codec.MethodHybrid, small, 100_000_000, p.SmallSegmentBytes, 381},
		{codec.MethodHybrid, large, 2_000_000, p.MinSegmentBytes, 122},
		{codec.MethodNeural, small, 2_000_000, p.MinSegmentBytes, 122},
	} {
		e := &encoder{s: Settings{Method: c.method}, policy: p, n: c.n}
		got := e.segmentBytes(c.m)
		if got != c.want || streamCount(c.n, got) != c.streams {
			t.Errorf("%s, %s model, %d bytes: segments of %d bytes, %d streams; want %d, %d",
				c.method, c.m.Meta.Preset, c.n, got, streamCount(c.n, got), c.want, c.streams)
		}
	}
	// Levels up to 6 give files of 16-64 KiB up to 4 streams of at least
	// 8 KiB; the small model in method hybrid keeps its own rule.
	for _, c := range []struct {
		m       *catalog.Model
		n       int64
		streams int
	}{
		{large, 8_000, 1}, {large, 12_607, 1}, {large, 17_001, 2}, {large, 31_526, 3},
		{large, 35_371, 4}, {large, 60_000, 4}, {large, 152_089, 9}, {large, 2_000_000, 122},
		{small, 100_000, 6}, {small, 152_089, 8},
	} {
		e := &encoder{s: Settings{Method: codec.MethodHybrid, ShortSegments: true}, policy: p, n: c.n}
		if got := streamCount(c.n, e.segmentBytes(c.m)); got != c.streams {
			t.Errorf("short segments, %s model, %d bytes: %d streams, want %d", c.m.Meta.Preset, c.n, got, c.streams)
		}
	}
	// In one group (levels 8 and 9) the 8 streams are the whole file's.
	e := &encoder{s: Settings{Method: codec.MethodHybrid, OneGroup: true}, policy: p, n: 10_000_000}
	if got := e.segmentBytes(small); got != p.SmallSegmentBytes {
		t.Errorf("one group, 10 MB: segments of %d bytes, want %d", got, p.SmallSegmentBytes)
	}
}
