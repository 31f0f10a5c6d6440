//go:build !notorch

package neural

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"zpng/core/engine/torch"
	"zpng/core/engine/torch/torchtest"
	"zpng/core/model"
)

// TestTorchFinetune: the fine-tune lowers the loss on its file, changes
// exactly the tensors its subset names, reports every step, refuses a file
// too short for a window and stops when its context is cancelled.
func TestTorchFinetune(t *testing.T) {
	torchtest.Require(t, torch.Load)
	w, err := model.RandomWeights(model.Config{Layers: 1, Hidden: 32, Embed: 32}, 1)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "fmt", "print.go"))
	if err != nil {
		t.Fatal(err)
	}
	all := func(string) bool { return true }
	s := tuneSettings{Steps: 60, Device: "cpu", Train: all, LR: 1e-2, Batch: 8, Window: 64, Seed: 1}
	var losses []float64
	tuned, err := torchFinetune(context.Background(), w, data, s, func(step int, loss float64) {
		if step != len(losses)+1 {
			t.Errorf("step %d reported after %d steps", step, len(losses))
		}
		losses = append(losses, loss/math.Ln2)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(losses) != 60 {
		t.Fatalf("%d steps reported, want 60", len(losses))
	}
	first, last := mean(losses[:5]), mean(losses[55:])
	t.Logf("fine-tune loss %.2f -> %.2f bits/byte", first, last)
	if last > first-1 {
		t.Errorf("fine-tuning did not lower the loss: %.2f -> %.2f", first, last)
	}
	for name, v := range w.Tensors {
		if slices.Equal(v, tuned.Tensors[name]) {
			t.Errorf("%s unchanged by a fine-tune of every tensor", name)
		}
	}

	// The shipped subset: only its biases move, everything else stays bit for bit.
	s = tuneSettings{Steps: 5, Device: "cpu", Train: tuneSubset.train, LR: 1e-2, Batch: 4, Window: 64, Seed: 1}
	biases, err := torchFinetune(context.Background(), w, data, s, func(int, float64) {})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range w.Tensors {
		if same := slices.Equal(v, biases.Tensors[name]); same == tuneSubset.train(name) {
			t.Errorf("%s: unchanged = %v, in the subset = %v", name, same, tuneSubset.train(name))
		}
	}

	if _, err := torchFinetune(context.Background(), w, []byte{1}, s, func(int, float64) {}); err == nil {
		t.Error("a 1-byte file was fine-tuned")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := torchFinetune(ctx, w, data, s, func(int, float64) {}); err == nil {
		t.Error("a cancelled fine-tune returned weights")
	}
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
