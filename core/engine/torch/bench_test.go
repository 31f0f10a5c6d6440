//go:build !notorch

package torch

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"zpng/core/engine"
	"zpng/core/model"
)

// Shapes benchmarked: the presets plus candidates for "small".
// ZPNG_BENCH_SHAPES=1x256,2x384 overrides the list.
func benchShapes(b *testing.B) []struct {
	name string
	cfg  model.Config
} {
	var out []struct {
		name string
		cfg  model.Config
	}
	if s := os.Getenv("ZPNG_BENCH_SHAPES"); s != "" {
		for _, f := range strings.Split(s, ",") {
			l, h, ok := strings.Cut(f, "x")
			L, e1 := strconv.Atoi(l)
			H, e2 := strconv.Atoi(h)
			if !ok || e1 != nil || e2 != nil {
				b.Fatalf("bad shape %q in ZPNG_BENCH_SHAPES", f)
			}
			out = append(out, struct {
				name string
				cfg  model.Config
			}{f, model.Config{Layers: L, Hidden: H, Embed: H}})
		}
		return out
	}
	for _, p := range []string{"small", "large"} {
		cfg, err := model.Preset(p)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, struct {
			name string
			cfg  model.Config
		}{p, cfg})
	}
	return out
}

// BenchmarkInference measures integer inference in bytes per second (one
// byte per stream per step) for the torch engine with each GEMM path of this
// CPU (torch-float, torch-int8, torch-vnni; ZPNG_BENCH_GEMM=float,vnni picks
// some) and, as the baseline in the same run, the pure-Go engine. The int8
// paths also report their speed relative to torch-float in the same run
// (x-float: 1.5 means 1.5 times the bytes/s).
func BenchmarkInference(b *testing.B) {
	paths := GemmPaths()
	if s := os.Getenv("ZPNG_BENCH_GEMM"); s != "" {
		paths = strings.Split(s, ",")
	}
	var engines []string
	for _, p := range paths {
		engines = append(engines, "torch-"+p)
	}
	engines = append(engines, "go")
	for _, s := range benchShapes(b) {
		qm := randomQuant(b, s.cfg, 1, 1)
		for _, batch := range []int{1, 64, 256, 1024} {
			rate := map[string]float64{} // bytes/s of the last run of each engine
			for _, eng := range engines {
				b.Run(fmt.Sprintf("%s=%v/B=%d/%s", s.name, s.cfg, batch, eng), func(b *testing.B) {
					name, gemm, _ := strings.Cut(eng, "-")
					if gemm != "" {
						b.Setenv(GemmEnv, gemm)
					}
					f, err := engine.Lookup(name)
					if err != nil {
						b.Fatal(err)
					}
					threads, _ := strconv.Atoi(os.Getenv("ZPNG_BENCH_THREADS"))
					p, err := f.NewPredictor(qm, batch, engine.Options{Device: os.Getenv("ZPNG_BENCH_DEVICE"), Threads: threads})
					if err != nil {
						b.Fatal(err)
					}
					defer p.Close()
					if tp, ok := p.(*Predictor); ok && tp.Device() == "cpu" && tp.Gemm() != gemm {
						b.Fatalf("engine uses the %s GEMM, want %s", tp.Gemm(), gemm)
					}
					in := make([]byte, batch)
					freqs := make([]uint16, batch*256)
					b.SetBytes(int64(batch))
					cpu := cpuTime()
					for i := 0; b.Loop(); i++ {
						for j := range in {
							in[j] = byte(i*31 + j)
						}
						if err := p.Step(in, freqs); err != nil {
							b.Fatal(err)
						}
					}
					reportCPU(b, cpu, batch)
					rate[eng] = float64(b.N*batch) / b.Elapsed().Seconds()
					b.ReportMetric(rate[eng], "B/s") // MB/s shows too few digits here
					if gemm != "" && gemm != "float" && rate["torch-float"] > 0 {
						b.ReportMetric(rate[eng]/rate["torch-float"], "x-float")
					}
				})
			}
		}
	}
}

// BenchmarkTrainStep measures float training steps (forward, backward, Adam)
// on windows of 128 bytes; bytes/s counts the bytes of each batch.
func BenchmarkTrainStep(b *testing.B) {
	text := goText(b, 200_000)
	for _, s := range benchShapes(b) {
		for _, batch := range []int{16, 64} {
			b.Run(fmt.Sprintf("%s=%v/B=%d/T=128", s.name, s.cfg, batch), func(b *testing.B) {
				if threads, _ := strconv.Atoi(os.Getenv("ZPNG_BENCH_THREADS")); threads > 0 {
					SetThreads(threads)
				}
				m, err := NewModel(s.cfg, os.Getenv("ZPNG_BENCH_DEVICE"), 1)
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				const T = 128
				in := make([]byte, 0, batch*T)
				tgt := make([]byte, 0, batch*T)
				for i := range batch {
					off := i * 1000
					in = append(in, text[off:off+T]...)
					tgt = append(tgt, text[off+1:off+T+1]...)
				}
				b.SetBytes(int64(batch * T))
				cpu := cpuTime()
				defer func() {
					reportCPU(b, cpu, batch*T)
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
				}()
				for b.Loop() {
					if _, err := m.Backward(in, tgt, batch, T); err != nil {
						b.Fatal(err)
					}
					if _, err := m.Step(1); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// cpuTime is the CPU time of the whole process, every thread included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU time per byte to the benchmark's output. On a
// machine shared with other work, it measures the work done better than
// the wall-clock bytes/s does.
func reportCPU(b *testing.B, start time.Duration, bytesPerOp int) {
	used := cpuTime() - start
	b.ReportMetric(float64(used.Nanoseconds())/float64(b.N)/float64(bytesPerOp), "cpu-ns/B")
}
