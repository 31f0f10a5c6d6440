package model

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestAverage(t *testing.T) {
	cfg := Config{Layers: 1, Hidden: 8, Embed: 8}
	a, _ := RandomWeights(cfg, 1)
	b, _ := RandomWeights(cfg, 2)
	c, _ := RandomWeights(cfg, 3)
	avg, err := Average(a, b, c)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range avg.Tensors {
		for i, v := range got {
			want := float32((float64(a.Tensors[name][i]) + float64(b.Tensors[name][i]) + float64(c.Tensors[name][i])) / 3)
			if v != want {
				t.Fatalf("%s[%d] = %v, want %v", name, i, v, want)
			}
		}
	}
	// The inputs are not touched, and one model averages to itself.
	if a2, _ := RandomWeights(cfg, 1); !equalWeights(a, a2) {
		t.Error("Average modified its input")
	}
	if one, err := Average(a); err != nil || !equalWeights(one, a) {
		t.Errorf("average of one model differs from it (%v)", err)
	}

	other, _ := RandomWeights(Config{Layers: 2, Hidden: 8, Embed: 8}, 1)
	if _, err := Average(a, other); err == nil || !strings.Contains(err.Error(), "cannot average") {
		t.Errorf("shapes 1x8 and 2x8: %v", err)
	}
	if _, err := Average(); err == nil {
		t.Error("no models: no error")
	}
	broken := a.Clone()
	delete(broken.Tensors, "embed.weight")
	if _, err := Average(a, broken); err == nil || !strings.Contains(err.Error(), "model 2") {
		t.Errorf("missing tensor: %v", err)
	}
}

func equalWeights(a, b *Weights) bool {
	return a.Config == b.Config && maps.EqualFunc(a.Tensors, b.Tensors, slices.Equal[[]float32])
}
