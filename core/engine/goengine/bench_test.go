package goengine

import (
	"fmt"
	"testing"

	"zpng/core/model"
)

// BenchmarkGoEngine measures the pure-Go engine in bytes per second (all
// streams together) on random weights, with the default thread count.
func BenchmarkGoEngine(b *testing.B) {
	for _, preset := range []string{"small", "large"} {
		cfg, _ := model.Preset(preset)
		_, m := randomModel(b, cfg, 1)
		for _, B := range []int{1, 64, 256} {
			b.Run(fmt.Sprintf("%s/B=%d", preset, B), func(b *testing.B) {
				p, err := NewPredictor(m, B, 0)
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				in := randomBytes(1, B)
				freqs := make([]uint16, 256*B)
				for b.Loop() {
					p.Step(in, freqs)
				}
				b.ReportMetric(float64(B)*float64(b.N)/b.Elapsed().Seconds(), "bytes/s")
			})
		}
	}
}

// BenchmarkReference is the baseline: the literal transcription of
// docs/ENGINE.md in reference_test.go, one stream.
func BenchmarkReference(b *testing.B) {
	for _, preset := range []string{"small", "large"} {
		cfg, _ := model.Preset(preset)
		_, m := randomModel(b, cfg, 1)
		b.Run(preset, func(b *testing.B) {
			r := newRef(m)
			freqs := make([]uint16, 256)
			for b.Loop() {
				r.step('a', freqs)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bytes/s")
		})
	}
}
