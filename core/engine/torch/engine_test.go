//go:build !notorch

package torch

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"zpng/core/engine"
	"zpng/core/engine/enginetest"
	"zpng/core/engine/goengine"
	"zpng/core/engine/torch/torchtest"
	"zpng/core/model"
)

func TestRegistered(t *testing.T) {
	torchtest.Require(t, Load)
	f, err := engine.Lookup("torch")
	if err != nil {
		t.Fatal(err)
	}
	dev, ok := f.Available()
	if !ok || (dev != "cpu" && dev != "cuda") {
		t.Fatalf("Available() = %q, %v", dev, ok)
	}
}

// TestIdenticalToGoEngine steps the torch engine and the pure-Go engine side by
// side on random models and random input, and requires identical tables.
func TestIdenticalToGoEngine(t *testing.T) {
	torchtest.Require(t, Load)
	devices := []string{"cpu"}
	if CUDAAvailable() {
		devices = append(devices, "cuda")
	}
	for ci, c := range enginetest.Cases {
		qm := enginetest.RandomQuant(t, c.Cfg, uint64(ci+1), c.Scale)
		for _, dev := range devices {
			for _, gemm := range GemmPaths() {
				if dev == "cuda" && gemm != "float" {
					continue // CUDA has one path
				}
				for _, threads := range []int{1, 2} {
					for _, batch := range []int{1, 3, 64} {
						for _, split := range []bool{true, false} {
							if !split && (dev != "cpu" || gemm != "float" || batch < 16) {
								continue // only the CPU float path with several chunks has two ways
							}
							name := fmt.Sprintf("%v×%g/%s/%s/threads=%d/B=%d/split=%v", c.Cfg, c.Scale, dev, gemm, threads, batch, split)
							t.Run(name, func(t *testing.T) {
								t.Setenv(GemmEnv, gemm)
								compareEngines(t, qm, batch, enginetest.Steps(c.Cfg, batch), engine.Options{Device: dev, Threads: threads}, gemm, split, uint64(batch*10+threads))
							})
						}
					}
				}
			}
		}
	}
}

func compareEngines(t *testing.T, qm *model.Quantized, batch, steps int, opt engine.Options, gemm string, split bool, seed uint64) {
	tp, err := NewPredictor(qm, batch, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	if got := tp.Gemm(); got != gemm {
		t.Fatalf("engine uses the %s GEMM, want %s", got, gemm)
	}
	tp.splitProducts(split)
	// libtorch's and the BLAS's threads too.
	SetThreads(opt.Threads)
	defer ResetThreads()
	gp, err := goengine.NewPredictor(qm, batch, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer gp.Close()
	enginetest.Compare(t, tp, gp, steps, seed)
}

func TestPredictorErrors(t *testing.T) {
	torchtest.Require(t, Load)
	qm := enginetest.RandomQuant(t, model.Config{Layers: 1, Hidden: 8, Embed: 8}, 1, 1)
	if _, err := NewPredictor(qm, 0, engine.Options{}); err == nil {
		t.Error("batch 0 accepted")
	}
	if _, err := NewPredictor(qm, 1, engine.Options{Device: "tpu"}); err == nil {
		t.Error("unknown device accepted")
	}
	if !CUDAAvailable() {
		if _, err := NewPredictor(qm, 1, engine.Options{Device: "cuda"}); err == nil {
			t.Error("cuda accepted without CUDA")
		}
	}
	p, err := NewPredictor(qm, 2, engine.Options{Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Step([]byte{1}, make([]uint16, 512)); err == nil {
		t.Error("short input accepted")
	}
	p.Close()
	if err := p.Step([]byte{1, 2}, make([]uint16, 512)); err == nil {
		t.Error("step after close accepted")
	}
	bad := qm.Clone()
	bad.Wout = bad.Wout[:10]
	if _, err := NewPredictor(bad, 1, engine.Options{}); err == nil {
		t.Error("malformed model accepted")
	}
}

// TestGemmChoice checks that ZPNG_TORCH_GEMM picks the path and that auto
// takes VNNI where the CPU has it.
func TestGemmChoice(t *testing.T) {
	torchtest.Require(t, Load)
	qm := enginetest.RandomQuant(t, model.Config{Layers: 1, Hidden: 8, Embed: 8}, 1, 1)
	want := "float"
	if slices.Contains(GemmPaths(), "vnni") {
		want = "vnni"
	}
	for _, env := range []string{"", "auto"} {
		t.Setenv(GemmEnv, env)
		p, err := NewPredictor(qm, 1, engine.Options{Device: "cpu"})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Gemm(); got != want {
			t.Errorf("%s=%q: path %s, want %s", GemmEnv, env, got, want)
		}
		p.Close()
	}
	t.Setenv(GemmEnv, "int4")
	if _, err := NewPredictor(qm, 1, engine.Options{Device: "cpu"}); err == nil {
		t.Errorf("%s=int4 accepted", GemmEnv)
	}
	if !slices.Contains(GemmPaths(), "vnni") {
		t.Setenv(GemmEnv, "vnni")
		if _, err := NewPredictor(qm, 1, engine.Options{Device: "cpu"}); err == nil {
			t.Error("vnni accepted on a CPU without it")
		}
	}
}

// TestGemmInt8 compares the int8 GEMMs with a plain product on odd shapes
// (tails of the 6-row, 64-column and 4-k blocks) and on extreme values:
// int8's full range, beyond the ±127 that quant produces.
func TestGemmInt8(t *testing.T) {
	torchtest.Require(t, Load)
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {7, 17, 13}, {13, 48, 144}, {5, 33, 2}, {6, 256, 384}, {25, 70, 99}, {1, 1536, 512}, {50, 200, 1024}}
	fills := map[string]func(rng *rand.Rand, x, w []int8){
		"random": func(rng *rand.Rand, x, w []int8) {
			for i := range x {
				x[i] = int8(rng.IntN(256) - 128)
			}
			for i := range w {
				w[i] = int8(rng.IntN(256) - 128)
			}
		},
		"-128·-128": func(_ *rand.Rand, x, w []int8) { fill(x, -128); fill(w, -128) },
		"127·127":   func(_ *rand.Rand, x, w []int8) { fill(x, 127); fill(w, 127) },
		"-127·127":  func(_ *rand.Rand, x, w []int8) { fill(x, -127); fill(w, 127) },
		"-128·127":  func(_ *rand.Rand, x, w []int8) { fill(x, -128); fill(w, 127) },
		"extremes": func(rng *rand.Rand, x, w []int8) {
			for i := range x {
				x[i] = []int8{-128, -127, 127, 0}[rng.IntN(4)]
			}
			for i := range w {
				w[i] = []int8{-128, -127, 127, 0}[rng.IntN(4)]
			}
		},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, path := range GemmPaths() {
		if path == "float" || path == "ops" {
			continue // libtorch's; TestIdenticalToGoEngine covers them
		}
		for _, sh := range shapes {
			rows, n, k := sh[0], sh[1], sh[2]
			for name, f := range fills {
				x, w := make([]int8, rows*k), make([]int8, n*k)
				f(rng, x, w)
				got, err := gemmInt8(path, x, rows, k, w, n)
				if err != nil {
					t.Fatal(err)
				}
				for r := range rows {
					for i := range n {
						var want int64
						for j := range k {
							want += int64(x[r*k+j]) * int64(w[i*k+j])
						}
						if int64(got[r*n+i]) != want {
							t.Fatalf("%s %dx%d·%dx%d %s: out[%d][%d] = %d, want %d", path, rows, k, n, k, name, r, i, got[r*n+i], want)
						}
					}
				}
			}
		}
	}
	if _, err := gemmInt8("float", []int8{1}, 1, 1, []int8{1}, 1); err == nil {
		t.Error("gemm test hook accepted the float path")
	}
}

func fill(v []int8, x int8) {
	for i := range v {
		v[i] = x
	}
}
