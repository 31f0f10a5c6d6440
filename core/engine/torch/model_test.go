//go:build !notorch

package torch

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"zpng/core/engine/enginetest"
	"zpng/core/engine/torch/torchtest"
	"zpng/core/model"
)

var tinyCfg = model.Config{Layers: 2, Hidden: 16, Embed: 16}

func TestParamNamesFollowContract(t *testing.T) {
	torchtest.Require(t, Load)
	m, err := NewModel(tinyCfg, "cpu", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var want []string
	for _, s := range model.ParamSpecs(tinyCfg) {
		want = append(want, s.Name)
	}
	got := m.ParamNames()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
}

func TestWeightsRoundTrip(t *testing.T) {
	torchtest.Require(t, Load)
	w, err := model.RandomWeights(tinyCfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(tinyCfg, "cpu", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.SetWeights(w); err != nil {
		t.Fatal(err)
	}
	got, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range w.Tensors {
		if !slices.Equal(got.Tensors[name], v) {
			t.Fatalf("%s differs after set/get", name)
		}
	}

	// Through a safetensors file and into a second model.
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := model.Save(path, got, &model.Meta{Preset: "tiny"}, model.F32); err != nil {
		t.Fatal(err)
	}
	loaded, _, err := model.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := NewModel(tinyCfg, "cpu", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if err := m2.SetWeights(loaded); err != nil {
		t.Fatal(err)
	}
	x := []byte("hello, world, hello")
	in, tgt := x[:len(x)-1], x[1:]
	l1, err := m.Loss(in, tgt, 1, len(in))
	if err != nil {
		t.Fatal(err)
	}
	l2, err := m2.Loss(in, tgt, 1, len(in))
	if err != nil {
		t.Fatal(err)
	}
	if l1 != l2 {
		t.Fatalf("loss %v before save, %v after load", l1, l2)
	}
}

func TestModelErrors(t *testing.T) {
	torchtest.Require(t, Load)
	m, err := NewModel(tinyCfg, "cpu", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Set("nope", []float32{1}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown parameter: %v", err)
	}
	if err := m.Set("head.bias", make([]float32, 3)); err == nil {
		t.Error("wrong size accepted")
	}
	if _, err := m.Loss([]byte{1, 2}, []byte{1}, 1, 2); err == nil {
		t.Error("mismatched batch accepted")
	}
	if _, err := m.Step(1); err == nil {
		t.Error("step without gradients accepted")
	}
	if err := m.SetTrainable(func(string) bool { return false }); err == nil {
		t.Error("no trainable parameter accepted")
	}
	other, _ := model.RandomWeights(model.Config{Layers: 1, Hidden: 16, Embed: 16}, 1)
	if err := m.SetWeights(other); err == nil {
		t.Error("weights of another shape accepted")
	}
	if _, err := NewModel(model.Config{Layers: 1, Hidden: 2000, Embed: 2000}, "cpu", 1); err == nil {
		t.Error("oversized model accepted")
	}
}

// TestTrainingLowersLoss trains a tiny model with the binding's primitives
// and checks the loss on held-out text falls well below its start.
func TestTrainingLowersLoss(t *testing.T) {
	torchtest.Require(t, Load)
	text := enginetest.GoSource(t, 120_000)
	train, val := text[:100_000], text[100_000:]
	cfg := model.Config{Layers: 1, Hidden: 64, Embed: 64}
	m, err := NewModel(cfg, "cpu", 3)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetAdam(Adam{LR: 3e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	const B, T = 16, 64
	window := func(src []byte, i int) (in, tgt []byte) {
		for b := range B {
			off := (i*7919 + b*104729) % (len(src) - T - 1)
			in = append(in, src[off:off+T]...)
			tgt = append(tgt, src[off+1:off+T+1]...)
		}
		return
	}
	vin, vtgt := window(val, 0)
	before, err := m.Loss(vin, vtgt, B, T)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		in, tgt := window(train, i)
		if _, err := m.Backward(in, tgt, B, T); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Step(1); err != nil {
			t.Fatal(err)
		}
	}
	after, err := m.Loss(vin, vtgt, B, T)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("validation loss %.3f -> %.3f nats/byte", before, after)
	// ln 256 = 5.55 at the start; 300 steps reach well under 3.
	if after > 3.0 || after > before-2 {
		t.Fatalf("loss %.3f -> %.3f: training did not work", before, after)
	}
}

// TestTrainableSubset checks that only the selected parameters move, and
// that the optimizer state round-trips.
func TestTrainableSubset(t *testing.T) {
	torchtest.Require(t, Load)
	m, err := NewModel(tinyCfg, "cpu", 4)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	before, _ := m.Weights()
	isBias := func(n string) bool { return strings.Contains(n, "bias") }
	if err := m.SetTrainable(isBias); err != nil {
		t.Fatal(err)
	}
	x := []byte("abcabcabcabcabcabcabc")
	for range 3 {
		if _, err := m.Backward(x[:20], x[1:21], 1, 20); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Step(1); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := m.Weights()
	for name, v := range before.Tensors {
		moved := !slices.Equal(v, after.Tensors[name])
		if moved != isBias(name) {
			t.Errorf("%s: moved = %v", name, moved)
		}
	}
	steps, mom, vel, err := m.AdamState()
	if err != nil || steps != 3 {
		t.Fatalf("AdamState: %d steps, %v", steps, err)
	}
	m2, _ := NewModel(tinyCfg, "cpu", 4)
	defer m2.Close()
	m2.SetWeights(after)
	if err := m2.SetAdamState(steps, mom, vel); err != nil {
		t.Fatal(err)
	}
	m2.SetTrainable(isBias)
	// Both take the same next step.
	for _, mm := range []*Model{m, m2} {
		mm.Backward(x[:20], x[1:21], 1, 20)
		if _, err := mm.Step(1); err != nil {
			t.Fatal(err)
		}
	}
	w1, _ := m.Weights()
	w2, _ := m2.Weights()
	for name, v := range w1.Tensors {
		if !slices.Equal(v, w2.Tensors[name]) {
			t.Fatalf("%s differs after resuming the optimizer", name)
		}
	}
}
