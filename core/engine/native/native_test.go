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
	for ci, c := range enginetest.Cases {
		qm := enginetest.RandomQuant(t, c.Cfg, uint64(ci+1), c.Scale)
		for _, path := range Paths() {
			for _, threads := range []int{1, 2, 3} { // 3: phases cut into uneven runs
				for _, batch := range []int{1, 3, 10, 64} { // 10: a two-stream tail; 64: split by streams
					t.Run(fmt.Sprintf("%v×%g/%s/threads=%d/B=%d", c.Cfg, c.Scale, path, threads, batch), func(t *testing.T) {
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
						enginetest.Compare(t, np, gp, enginetest.Steps(c.Cfg, batch), uint64(batch*10+threads))
					})
				}
			}
		}
	}
}

func TestRegistered(t *testing.T) {
	enginetest.CheckCPUFactory(t, "native", enginetest.RandomQuant(t, model.Config{Layers: 1, Hidden: 8, Embed: 8}, 1, 1))
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

// TestThreadsThatPay checks the default thread count against the speeds
// threadWork was set from: one thread for the small model's smallest
// batches, two from the large model's B = 1.
func TestThreadsThatPay(t *testing.T) {
	small := model.Config{Layers: 2, Hidden: 256, Embed: 256} // the shipped small model
	large := model.Config{Layers: 4, Hidden: 512, Embed: 512}
	for _, c := range []struct {
		cfg   model.Config
		batch int
		want  int
	}{
		{small, 1, 1}, {small, 4, 1}, {small, 9, 2}, {small, 64, 16},
		{large, 1, 2}, {large, 9, 20},
	} {
		if got := threadsThatPay(c.cfg, c.batch); got != c.want {
			t.Errorf("%v B=%d: %d threads, want %d", c.cfg, c.batch, got, c.want)
		}
	}
}
