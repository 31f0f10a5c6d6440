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
	"zpng/core/engine/enginetest"
	"zpng/core/engine/native"
	"zpng/core/engine/torch/torchtest"
)

// BenchmarkInference measures integer inference in bytes per second (one
// byte per stream per step) for the torch engine with each GEMM path of this
// CPU (torch-float, torch-int8, torch-vnni; ZPNG_BENCH_GEMM=float,vnni picks
// some), the native engine on each of its paths and, as the baseline in the
// same run, the pure-Go engine. Every engine also reports its speed relative
// to go, torch-float and torch-vnni measured in the same run (x-float: 1.5
// means 1.5 times the bytes/s of torch-float).
func BenchmarkInference(b *testing.B) {
	torchtest.Require(b, Load)
	paths := GemmPaths()
	if s := os.Getenv("ZPNG_BENCH_GEMM"); s != "" {
		paths = strings.Split(s, ",")
	}
	engines := []enginetest.BenchEngine{{Label: "go", Name: "go"}}
	for _, p := range paths {
		engines = append(engines, enginetest.BenchEngine{Label: "torch-" + p, Name: "torch", Env: map[string]string{GemmEnv: p}})
	}
	for _, p := range native.Paths() {
		if p != "scalar" { // a fallback, far slower than the others
			engines = append(engines, enginetest.BenchEngine{Label: "native-" + p, Name: "native", Env: map[string]string{native.IsaEnv: p}})
		}
	}
	check := func(b *testing.B, e enginetest.BenchEngine, p engine.Predictor) {
		if tp, ok := p.(*Predictor); ok && tp.Device() == "cpu" && tp.Gemm() != e.Env[GemmEnv] {
			b.Fatalf("engine uses the %s GEMM, want %s", tp.Gemm(), e.Env[GemmEnv])
		}
	}
	around := func(b *testing.B, batch int, loop func()) {
		cpu := cpuTime()
		loop()
		reportCPU(b, cpu, batch)
	}
	enginetest.BenchInference(b, []int{1, 16, 64, 256, 1024}, engines, []string{"go", "torch-float", "torch-vnni"}, check, around)
}

// BenchmarkTrainStep measures float training steps (forward, backward, Adam)
// on windows of 128 bytes; bytes/s counts the bytes of each batch.
func BenchmarkTrainStep(b *testing.B) {
	torchtest.Require(b, Load)
	text := enginetest.GoSource(b, 200_000)
	for _, s := range enginetest.BenchShapes(b) {
		for _, batch := range []int{16, 64} {
			b.Run(fmt.Sprintf("%s=%v/B=%d/T=128", s.Name, s.Cfg, batch), func(b *testing.B) {
				if threads, _ := strconv.Atoi(os.Getenv("ZPNG_BENCH_THREADS")); threads > 0 {
					SetThreads(threads)
				}
				m, err := NewModel(s.Cfg, os.Getenv("ZPNG_BENCH_DEVICE"), 1)
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
