// Package enginetest holds the checks that every integer engine must pass
// against the pure-Go engine: random models and a side-by-side comparison
// of frequency tables. It is for tests only.
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
