package model

import (
	"strings"
	"testing"

	"zpng/weights"
)

// BenchmarkLoad decodes and quantizes each shipped model, what every
// process that codes with a model does once before its first step.
func BenchmarkLoad(b *testing.B) {
	for _, m := range weights.Models() {
		if !strings.HasSuffix(m.Name, ".safetensors") {
			continue
		}
		b.Run(strings.TrimSuffix(m.Name, ".safetensors"), func(b *testing.B) {
			b.SetBytes(int64(len(m.Data)))
			for b.Loop() {
				w, _, err := Decode(m.Data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Quantize(w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
