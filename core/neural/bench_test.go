//go:build !notorch

package neural

import (
	"context"
	"os"
	"testing"
	"time"

	"zpng/core/engine"
	"zpng/core/engine/torch"
	"zpng/core/engine/torch/torchtest"
	"zpng/core/model"
)

// BenchmarkPolicy measures what the stream count B and the fine-tune subset
// cost and gain on one file with one model (torch engine, CPU):
//
//	ZPNG_BENCH_FILE=FILE ZPNG_BENCH_MODEL=MODEL.safetensors go test -run - -bench Policy -benchtime 1x ./core/neural
func BenchmarkPolicy(b *testing.B) {
	torchtest.Require(b, torch.Load)
	file, spec := os.Getenv("ZPNG_BENCH_FILE"), os.Getenv("ZPNG_BENCH_MODEL")
	if file == "" || spec == "" {
		b.Skip("set ZPNG_BENCH_FILE and ZPNG_BENCH_MODEL")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	w, base := benchModel(b, spec)
	f, err := engine.Lookup("torch")
	if err != nil {
		b.Fatal(err)
	}
	eo := engine.Options{Device: "cpu"}
	cost := func(q *model.Quantized, B int) (float64, float64) {
		p, err := f.NewPredictor(q, B, eo)
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		start := time.Now()
		bits, err := engine.CodeCost(p, engine.Split(data, B))
		if err != nil {
			b.Fatal(err)
		}
		return bits / float64(len(data)), float64(len(data)) / time.Since(start).Seconds()
	}
	for _, B := range []int{1, 4, 16, 64} {
		bpb, speed := cost(base, B)
		b.Logf("B=%4d: %.4f bpb, +%.0f B vs ideal stream table, %.1f kB/s", B, bpb, float64(16*B), speed/1000)
	}
	B := streamCount(int64(len(data)), DefaultPolicy().MinSegmentBytes)
	bpb0, _ := cost(base, B)
	for _, sub := range []subset{subsetBiases, subsetBiasesHead} {
		for _, lr := range []float64{3e-3, 1e-2} {
			for _, snap := range []bool{false, true} {
				start := time.Now()
				var first, last float64
				s := tuneSettings{Steps: 50, Device: "cpu", Train: sub.train, LR: lr, Batch: tuneBatch, Window: tuneWindow, Seed: 1}
				tw, err := trainer(context.Background(), w, data, s, func(step int, loss float64) {
					if step == 1 {
						first = loss
					}
					last = loss
				})
				if err != nil {
					b.Fatal(err)
				}
				el := time.Since(start)
				if snap {
					snapBiases(w, tw, sub.train)
				}
				tq, err := model.Quantize(tw)
				if err != nil {
					b.Fatal(err)
				}
				names := changedTensors(base, tq)
				delta, err := model.Delta(base, tq, names)
				if err != nil {
					b.Fatal(err)
				}
				bpb1, _ := cost(tq, B)
				gain := (bpb0 - bpb1) * float64(len(data)) / 8
				b.Logf("%-12s snap %v lr %.0e: loss %.3f->%.3f, %.4f -> %.4f bpb (B=%d), saves %.0f B, delta %d B (%d tensors), net %+.0f B, %v",
					sub.name, snap, lr, first/0.6931, last/0.6931, bpb0, bpb1, B, gain, len(delta), len(names), gain-float64(len(delta)), el.Round(time.Millisecond))
			}
		}
	}
}
