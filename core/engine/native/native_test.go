//go:build cgo

package native

import (
	"fmt"
	"testing"

	"zpng/core/engine"
	"zpng/core/engine/enginetest"
	"zpng/core/engine/goengine"
	"zpng/core/model"
)

// TestIdenticalToGoEngine steps every path of this CPU beside the pure-Go
// engine on random models and random input and requires identical tables.
func TestIdenticalToGoEngine(t *testing.T) {
	cases := []struct {
		cfg   model.Config
		scale float32
	}{
		{model.Config{Layers: 2, Hidden: 48, Embed: 48}, 1},
		{model.Config{Layers: 3, Hidden: 40, Embed: 40}, 6},
		{model.Config{Layers: 2, Hidden: 21, Embed: 21}, 2}, // H % 16 != 0: padded groups
		{model.Config{Layers: 1, Hidden: 256, Embed: 256}, 3},
		{model.Config{Layers: 2, Hidden: 70, Embed: 70}, 1},
	}
	for ci, c := range cases {
		qm := enginetest.RandomQuant(t, c.cfg, uint64(ci+1), c.scale)
		for _, path := range Paths() {
			for _, threads := range []int{1, 2} {
				for _, batch := range []int{1, 3, 10, 64} { // 10: a two-stream tail; 64: split by streams
					t.Run(fmt.Sprintf("%v×%g/%s/threads=%d/B=%d", c.cfg, c.scale, path, threads, batch), func(t *testing.T) {
						steps := 3000 / batch
						if batch == 64 {
							steps = 200
						}
						if c.cfg.Hidden > 64 {
							steps /= 4
						}
						np, err := NewPredictor(qm, batch, threads, path)
						if err != nil {
							t.Fatal(err)
						}
						defer np.Close()
						gp, err := goengine.NewPredictor(qm, batch, 1)
						if err != nil {
							t.Fatal(err)
						}
						defer gp.Close()
						enginetest.Compare(t, np, gp, steps, uint64(batch*10+threads))
					})
				}
			}
		}
	}
}

func TestRegistered(t *testing.T) {
	f, err := engine.Lookup("native")
	if err != nil {
		t.Fatal(err)
	}
	if dev, ok := f.Available(); !ok || dev != "cpu" {
		t.Errorf("Available() = %q, %v", dev, ok)
	}
	qm := enginetest.RandomQuant(t, model.Config{Layers: 1, Hidden: 8, Embed: 8}, 1, 1)
	p, err := f.NewPredictor(qm, 2, engine.Options{Device: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Batch() != 2 {
		t.Error("batch")
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
	bad := qm.Clone()
	bad.Wout = bad.Wout[:3]
	if _, err := f.NewPredictor(bad, 1, engine.Options{}); err == nil {
		t.Error("malformed model accepted")
	}
}

// TestPathChoice checks that IsaEnv forces a path and that auto takes the
// fastest.
func TestPathChoice(t *testing.T) {
	qm := enginetest.RandomQuant(t, model.Config{Layers: 1, Hidden: 8, Embed: 8}, 1, 1)
	f, _ := engine.Lookup("native")
	paths := Paths()
	for env, want := range map[string]string{"": paths[len(paths)-1], "auto": paths[len(paths)-1], "scalar": "scalar"} {
		t.Setenv(IsaEnv, env)
		p, err := f.NewPredictor(qm, 1, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.(*Predictor).Path(); got != want {
			t.Errorf("%s=%q: path %s, want %s", IsaEnv, env, got, want)
		}
		p.Close()
	}
	t.Setenv(IsaEnv, "sse9")
	if _, err := f.NewPredictor(qm, 1, engine.Options{}); err == nil {
		t.Errorf("%s=sse9 accepted", IsaEnv)
	}
}

func TestStepDoesNotAllocate(t *testing.T) {
	qm := enginetest.RandomQuant(t, model.Config{Layers: 2, Hidden: 40, Embed: 40}, 1, 1)
	p, err := NewPredictor(qm, 4, 2, Paths()[len(Paths())-1])
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	in, freqs := make([]byte, 4), make([]uint16, 1024)
	if a := testing.AllocsPerRun(20, func() { p.Step(in, freqs) }); a != 0 {
		t.Errorf("Step allocates %v times", a)
	}
}
