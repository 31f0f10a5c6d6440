// Package enginetest holds the checks that every integer engine must pass
// against the pure-Go engine: random models, a side-by-side comparison of
// frequency tables, the factory's contract and a shared benchmark; and
// real text for the tests that train the float model. It is for tests
// only.
package enginetest

import (
	"math/rand/v2"
	"slices"
	"testing"

	"zpng/core/engine"
	"zpng/core/model"
)

// RandomQuant quantizes random weights. Scaling the recurrent and head
// weights up drives the gates into saturation and the clamps of act, so
// a comparison covers the edges of the lookup tables too.
func RandomQuant(t testing.TB, cfg model.Config, seed uint64, scale float32) *model.Quantized {
	t.Helper()
	w, err := model.RandomWeights(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range w.Tensors {
		if name == "embed.weight" {
			continue
		}
		for i := range v {
			v[i] *= scale
		}
	}
	qm, err := model.Quantize(w)
	if err != nil {
		t.Fatal(err)
	}
	return qm
}

// Compare steps got and want (the reference, usually the pure-Go engine)
// side by side for steps steps of random input, resetting both halfway, and
// fails at the first table entry that differs. It also fails when the
// tables hardly vary, since then the comparison proves little.
func Compare(t *testing.T, got, want engine.Predictor, steps int, seed uint64) {
	t.Helper()
	batch := want.Batch()
	if got.Batch() != batch {
		t.Fatalf("batch %d, reference %d", got.Batch(), batch)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	in := make([]byte, batch)
	w := make([]uint16, batch*256)
	g := make([]uint16, batch*256)
	distinct := map[uint16]bool{}
	for s := range steps {
		if s == steps/2 {
			got.Reset()
			want.Reset()
		}
		for b := range in {
			if s%7 == 0 {
				in[b] = 0
			} else {
				in[b] = byte(rng.IntN(256))
			}
		}
		if err := want.Step(in, w); err != nil {
			t.Fatal(err)
		}
		if err := got.Step(in, g); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(g, w) {
			for i := range g {
				if g[i] != w[i] {
					t.Fatalf("step %d stream %d symbol %d: got %d, reference %d", s, i/256, i%256, g[i], w[i])
				}
			}
		}
		distinct[w[0]] = true
	}
	if len(distinct) < 10 {
		t.Fatalf("only %d distinct values of freq[0] over %d steps", len(distinct), steps)
	}
}

// A Case is a random model for the side-by-side comparison: its shape, and
// how far RandomQuant scales its weights.
type Case struct {
	Cfg   model.Config
	Scale float32
}

// Cases are the models every engine is compared on, with seed index + 1:
// shapes whose hidden size fills no tile or state row of any engine's
// layout (21, 40, 70), saturating scales, and one of 256 units.
var Cases = []Case{
	{model.Config{Layers: 2, Hidden: 48, Embed: 48}, 1},
	{model.Config{Layers: 3, Hidden: 40, Embed: 40}, 6},
	{model.Config{Layers: 2, Hidden: 21, Embed: 21}, 2},
	{model.Config{Layers: 1, Hidden: 256, Embed: 256}, 3},
	{model.Config{Layers: 2, Hidden: 70, Embed: 70}, 1},
}

// Steps is how long a comparison of batch streams on cfg runs: 3000 bytes
// in all, 200 steps for 64 streams, a quarter of that above 64 units.
func Steps(cfg model.Config, batch int) int {
	steps := 3000 / batch
	if batch == 64 {
		steps = 200
	}
	if cfg.Hidden > 64 {
		steps /= 4
	}
	return steps
}

// CheckCPUFactory checks what the registry and the pipeline expect of an
// engine that runs on the CPU only: it is registered as name and available
// on "cpu"; its predictors have the batch asked for and refuse a short
// input and a step after Close; it refuses CUDA, batch 0 and a malformed
// model. qm is any valid model.
func CheckCPUFactory(t *testing.T, name string, qm *model.Quantized) {
	t.Helper()
	f, err := engine.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	if dev, ok := f.Available(); !ok || dev != "cpu" {
		t.Errorf("Available() = %q, %v", dev, ok)
	}
	p, err := f.NewPredictor(qm, 2, engine.Options{Device: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Batch() != 2 {
		t.Errorf("Batch() = %d, want 2", p.Batch())
	}
	if err := p.Step([]byte{1}, make([]uint16, 512)); err == nil {
		t.Error("short input accepted")
	}
	p.Close()
	if err := p.Step([]byte{1, 2}, make([]uint16, 512)); err == nil {
		t.Error("step after close accepted")
	}
	if _, err := f.NewPredictor(qm, 1, engine.Options{Device: "cuda"}); err == nil {
		t.Error("cuda accepted")
	}
	if _, err := f.NewPredictor(qm, 0, engine.Options{}); err == nil {
		t.Error("batch 0 accepted")
	}
	short := qm.Clone()
	short.Wout = short.Wout[:3]
	for what, bad := range map[string]*model.Quantized{"empty": {Config: qm.Config}, "short head": short} {
		if _, err := f.NewPredictor(bad, 1, engine.Options{}); err == nil {
			t.Errorf("malformed model (%s) accepted", what)
		}
	}
}
