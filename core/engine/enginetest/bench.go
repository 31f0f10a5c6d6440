package enginetest

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"zpng/core/engine"
	"zpng/core/model"
)

// Shape is a model shape to benchmark.
type Shape struct {
	Name string
	Cfg  model.Config
}

// BenchShapes returns the presets, or the shapes ZPNG_BENCH_SHAPES lists
// (e.g. 1x256,2x384: layers x hidden).
func BenchShapes(b *testing.B) []Shape {
	var out []Shape
	if s := os.Getenv("ZPNG_BENCH_SHAPES"); s != "" {
		for _, f := range strings.Split(s, ",") {
			l, h, ok := strings.Cut(f, "x")
			L, e1 := strconv.Atoi(l)
			H, e2 := strconv.Atoi(h)
			if !ok || e1 != nil || e2 != nil {
				b.Fatalf("bad shape %q in ZPNG_BENCH_SHAPES", f)
			}
			out = append(out, Shape{f, model.Config{Layers: L, Hidden: H, Embed: H}})
		}
		return out
	}
	for _, p := range []string{"small", "large"} {
		cfg, err := model.Preset(p)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, Shape{p, cfg})
	}
	return out
}

// BenchThreads returns the thread counts to benchmark: ZPNG_BENCH_THREADS
// (a comma-separated list; 0 is the engine's default), else 1 and 2.
func BenchThreads(b *testing.B) []int { return envInts(b, "ZPNG_BENCH_THREADS", 0, []int{1, 2}) }

// BenchBatches returns ZPNG_BENCH_BATCHES (a comma-separated list of
// batch sizes), else batches.
func BenchBatches(b *testing.B, batches []int) []int {
	return envInts(b, "ZPNG_BENCH_BATCHES", 1, batches)
}

// envInts returns the comma-separated integers, each at least least, of
// the environment variable name, else def.
func envInts(b *testing.B, name string, least int, def []int) []int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < least {
			b.Fatalf("bad value %q in %s: want integers of at least %d", f, name, least)
		}
		out = append(out, n)
	}
	return out
}

// BenchEngine is one engine configuration of BenchInference.
type BenchEngine struct {
	Label string            // the last element of the sub-benchmark name
	Name  string            // the registered engine
	Env   map[string]string // environment while the predictor opens
}

// BenchInference measures integer inference in bytes per second (one byte
// per stream per step) for every shape, batch size (BenchBatches), thread count and engine,
// as sub-benchmarks named shape=cfg/B=batch/threads=n/label. Every engine
// also reports its speed relative to each engine of base measured before it
// in the same run, as "x-label" (2 means twice the bytes/s). around, when
// not nil, wraps each timed loop (for extra metrics); check, when not nil,
// vets a predictor before it is timed.
func BenchInference(b *testing.B, batches []int, engines []BenchEngine, base []string,
	check func(b *testing.B, e BenchEngine, p engine.Predictor),
	around func(b *testing.B, batch int, loop func())) {
	for _, s := range BenchShapes(b) {
		qm := RandomQuant(b, s.Cfg, 1, 1)
		for _, batch := range BenchBatches(b, batches) {
			for _, threads := range BenchThreads(b) {
				rate := map[string]float64{} // bytes/s of each engine in this group
				for _, e := range engines {
					b.Run(fmt.Sprintf("%s=%v/B=%d/threads=%d/%s", s.Name, s.Cfg, batch, threads, e.Label), func(b *testing.B) {
						for k, v := range e.Env {
							b.Setenv(k, v)
						}
						f, err := engine.Lookup(e.Name)
						if err != nil {
							b.Fatal(err)
						}
						p, err := f.NewPredictor(qm, batch, engine.Options{Device: os.Getenv("ZPNG_BENCH_DEVICE"), Threads: threads})
						if err != nil {
							b.Fatal(err)
						}
						defer p.Close()
						if check != nil {
							check(b, e, p)
						}
						in := make([]byte, batch)
						freqs := make([]uint16, batch*256)
						b.SetBytes(int64(batch))
						loop := func() {
							for i := 0; b.Loop(); i++ {
								for j := range in {
									in[j] = byte(i*31 + j)
								}
								if err := p.Step(in, freqs); err != nil {
									b.Fatal(err)
								}
							}
						}
						if around != nil {
							around(b, batch, loop)
						} else {
							loop()
						}
						rate[e.Label] = float64(b.N*batch) / b.Elapsed().Seconds()
						b.ReportMetric(rate[e.Label], "B/s") // MB/s shows too few digits here
						var names []string
						for _, other := range base {
							if other != e.Label && rate[other] > 0 {
								names = append(names, other)
							}
						}
						sort.Strings(names)
						for _, other := range names {
							b.ReportMetric(rate[e.Label]/rate[other], "x-"+other)
						}
					})
				}
			}
		}
	}
}
