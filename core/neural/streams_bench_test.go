//go:build cgo

package neural

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"zpng/codec"
	"zpng/core/engine"
	_ "zpng/core/engine/native"
)

// BenchmarkStreams codes one file in one group of B streams for each B of
// ZPNG_BENCH_STREAMS (default 9,16,32,64) and decodes it, reporting the
// payload against the first B and the speed of both directions:
//
//	ZPNG_BENCH_FILE=FILE ZPNG_BENCH_MODEL=large ZPNG_BENCH_ENGINE=native ZPNG_BENCH_THREADS=2 go test -run - -bench Streams -benchtime 1x ./core/neural
func BenchmarkStreams(b *testing.B) {
	file := os.Getenv("ZPNG_BENCH_FILE")
	if file == "" {
		b.Skip("set ZPNG_BENCH_FILE")
	}
	src, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	name := cmp.Or(os.Getenv("ZPNG_BENCH_MODEL"), "large")
	_, q := benchModel(b, name)
	f, err := engine.Lookup(cmp.Or(os.Getenv("ZPNG_BENCH_ENGINE"), "native"))
	if err != nil {
		b.Fatal(err)
	}
	threads, _ := strconv.Atoi(os.Getenv("ZPNG_BENCH_THREADS"))
	net := network{f: f, eo: engine.Options{Device: "cpu", Threads: threads}, q: q}
	var Bs []int
	for _, s := range strings.Split(cmp.Or(os.Getenv("ZPNG_BENCH_STREAMS"), "9,16,32,64"), ",") {
		B, err := strconv.Atoi(s)
		if err != nil || B < 1 {
			b.Fatalf("bad stream count %q", s)
		}
		Bs = append(Bs, B)
	}
	n := int64(len(src))
	size0 := 0
	for _, B := range Bs {
		b.Run(fmt.Sprintf("B=%d", B), func(b *testing.B) {
			b.SetBytes(n)
			for b.Loop() {
				start := time.Now()
				payload, table, _, err := encodeGroups(context.Background(), net, codec.MethodHybrid, src, B, 1, 1, nil)
				if err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				if _, err := decodeAll(net, codec.MethodHybrid, payload, table, n, 1); err != nil {
					b.Fatal(err)
				}
				if size0 == 0 {
					size0 = len(payload) + len(table)
				}
				size := len(payload) + len(table)
				b.ReportMetric(float64(n)/mid.Sub(start).Seconds()/1e3, "enc-kB/s")
				b.ReportMetric(float64(n)/time.Since(mid).Seconds()/1e3, "dec-kB/s")
				b.ReportMetric(float64(size), "bytes")
				b.ReportMetric(100*float64(size-size0)/float64(size0), "%lost")
			}
		})
	}
}
