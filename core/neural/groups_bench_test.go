package neural

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"zpng/codec"
	"zpng/core/catalog"
	"zpng/core/engine"
	"zpng/core/model"
)

// BenchmarkGroups codes one file with methods hybrid and hybrid3 in G = 1,
// 2 and 4 groups of B streams (streamCount; ZPNG_BENCH_GROUPS=G: that G
// alone) and decodes it, reporting each G's speed against the method's
// first G and the bytes it costs. By default the file is a repeated text and the model
// a random 1×32 one on the Go engine, so that the cm model dominates; to
// measure a real case:
//
//	ZPNG_BENCH_FILE=FILE ZPNG_BENCH_MODEL=small ZPNG_BENCH_ENGINE=torch go test -run - -bench Groups -benchtime 1x ./core/neural
func BenchmarkGroups(b *testing.B) {
	net := tinyNetwork(b)
	src := []byte(nil)
	for len(src) < 1<<20 {
		src = fmt.Appendf(src, "%d: it was the best of times, it was the worst of times; it was the age of wisdom.\n", len(src)%9973)
	}
	if file := os.Getenv("ZPNG_BENCH_FILE"); file != "" {
		var err error
		if src, err = os.ReadFile(file); err != nil {
			b.Fatal(err)
		}
	}
	if name := os.Getenv("ZPNG_BENCH_MODEL"); name != "" {
		_, net.q = benchModel(b, name)
	}
	if name := os.Getenv("ZPNG_BENCH_ENGINE"); name != "" {
		var err error
		if net.f, err = engine.Lookup(name); err != nil {
			b.Fatal(err)
		}
	}
	n := int64(len(src))
	seg := DefaultPolicy().MinSegmentBytes
	if s, err := strconv.ParseInt(os.Getenv("ZPNG_BENCH_SEGMENT"), 10, 64); err == nil {
		seg = s
	}
	B := streamCount(n, seg)
	groups := []int{1, 2, 4}
	if g, err := strconv.Atoi(os.Getenv("ZPNG_BENCH_GROUPS")); err == nil {
		groups = []int{g}
	}
	for _, m := range []codec.Method{codec.MethodHybrid, codec.MethodHybrid3} {
		var enc1, dec1 float64
		var size1 int
		for _, G := range groups {
			b.Run(fmt.Sprintf("%s/G=%d", m, G), func(b *testing.B) {
				b.SetBytes(n)
				for b.Loop() {
					start := time.Now()
					payload, table, _, err := encodeGroups(context.Background(), net, m, src, B, min(G, B), 0, nil)
					if err != nil {
						b.Fatal(err)
					}
					mid := time.Now()
					if _, err := decodeAll(net, m, payload, table, n, 0); err != nil {
						b.Fatal(err)
					}
					enc, dec := float64(n)/mid.Sub(start).Seconds()/1e6, float64(n)/time.Since(mid).Seconds()/1e6
					if enc1 == 0 {
						enc1, dec1, size1 = enc, dec, len(payload)
					}
					b.ReportMetric(enc, "enc-MB/s")
					b.ReportMetric(dec, "dec-MB/s")
					b.ReportMetric(enc/enc1, "enc-x")
					b.ReportMetric(dec/dec1, "dec-x")
					b.ReportMetric(float64(len(payload)), "bytes")
					b.ReportMetric(100*float64(len(payload)-size1)/float64(size1), "%lost")
				}
			})
		}
	}
}

// benchModel returns the float weights of the catalog's model name and
// their integer form.
func benchModel(b *testing.B, name string) (*model.Weights, *model.Quantized) {
	mf, err := catalog.Default("").ByName(name)
	if err != nil {
		b.Fatal(err)
	}
	w, err := mf.Weights()
	if err != nil {
		b.Fatal(err)
	}
	q, err := model.Quantize(w)
	if err != nil {
		b.Fatal(err)
	}
	return w, q
}
