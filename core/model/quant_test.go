package model

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// odd has a hidden size that is not a multiple of 64 or 3, so every tail
// path of the packed kernel runs.
var odd = Config{Layers: 3, Hidden: 70, Embed: 70}

func randomModel(t testing.TB, cfg Config, seed uint64) (*Weights, *Quantized) {
	t.Helper()
	w, err := RandomWeights(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	// Sharpen the head so that predictions are far from uniform.
	for i := range w.Tensors["head.weight"] {
		w.Tensors["head.weight"][i] *= 8
	}
	m, err := Quantize(w)
	if err != nil {
		t.Fatal(err)
	}
	return w, m
}

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(16)) + 'a' // a small alphabet, so there is something to learn
	}
	return b
}

func TestTables(t *testing.T) {
	for i := range 8192 {
		c := float64(8*i-32768+4) / 4096
		if want := int16(math.Round(32767 / (1 + math.Exp(-c)))); sigTable[i] != want {
			t.Fatalf("SIG[%d] = %d, want %d", i, sigTable[i], want)
		}
		if want := int16(math.Round(32767 * math.Tanh(c))); tanhTable[i] != want {
			t.Fatalf("TANH[%d] = %d, want %d", i, tanhTable[i], want)
		}
		if want := int32(math.Round(65536 * math.Exp(-float64(i)/512))); expTable[i] != want {
			t.Fatalf("EXP[%d] = %d, want %d", i, expTable[i], want)
		}
		if sigTable[i] < 0 || tanhTable[i] < -32767 || expTable[i] < 0 || expTable[i] > 65536 {
			t.Fatalf("entry %d out of range", i)
		}
		if i > 0 && (sigTable[i] < sigTable[i-1] || tanhTable[i] < tanhTable[i-1] || expTable[i] > expTable[i-1]) {
			t.Fatalf("tables not monotone at %d", i)
		}
	}
	if expTable[0] != 65536 || sigTable[4096] != 16391 || tanhTable[4095] != -32 || tanhTable[4096] != 32 {
		t.Errorf("EXP[0]=%d SIG[4096]=%d TANH[4095..4096]=%d,%d", expTable[0], sigTable[4096], tanhTable[4095], tanhTable[4096])
	}
	sig, tanh, exp := Tables()
	sig[0] = 99 // a copy: the engine's tables are untouched
	if len(sig) != 8192 || len(tanh) != 8192 || len(exp) != 8192 || sigTable[0] == 99 {
		t.Error("Tables() does not return copies of 8192 entries")
	}
}

func TestQuantizeRules(t *testing.T) {
	cfg := Config{Layers: 2, Hidden: 2, Embed: 2}
	w, _ := NewWeights(cfg)
	// Layer 1 input row 0 = [0.5, -0.25]: s = 0.5/127, Wq = [127, -64 (−63.5 rounds away)].
	copy(w.Tensors["gru.weight_ih_l1"], []float32{0.5, -0.25})
	copy(w.Tensors["gru.bias_ih_l1"], []float32{0.125, -1.0 / 8192}) // Q12: 512, round(-0.5) = -1
	copy(w.Tensors["embed.weight"][2*65:], []float32{1, 2})          // byte 65
	copy(w.Tensors["gru.weight_ih_l0"], []float32{0.25, 0.5})
	w.Tensors["gru.bias_ih_l0"][0] = 0.0625
	m, err := Quantize(w)
	if err != nil {
		t.Fatal(err)
	}
	l1 := m.Layers[1]
	if l1.Wih[0] != 127 || l1.Wih[1] != -64 {
		t.Errorf("Wq row 0 = %v", l1.Wih[:2])
	}
	if want := int32(math.Round(0.5 / 127 * 4096 * (1 << 20) / 127)); l1.Mih[0] != want {
		t.Errorf("M = %d, want %d", l1.Mih[0], want)
	}
	if l1.Mih[1] != int32(math.Round(float64(1<<32)/127)) || l1.Wih[2] != 0 {
		t.Errorf("zero row: M = %d", l1.Mih[1])
	}
	if l1.Bih[0] != 512 || l1.Bih[1] != -1 {
		t.Errorf("biases %v", l1.Bih[:2])
	}
	// T0[65][0] = round((1·0.25 + 2·0.5 + 0.0625) · 4096) = 5376
	if got := m.T0[65*6]; got != 5376 {
		t.Errorf("T0[65][0] = %d", got)
	}
	if m.Layers[0].Wih != nil {
		t.Error("layer 0 has Wih")
	}

	w.Tensors["head.bias"][0] = 1e6
	if _, err := Quantize(w); err == nil {
		t.Error("huge bias accepted")
	}
	w.Tensors["head.bias"][0] = 0
	w.Tensors["head.weight"][0] = 1e5
	if _, err := Quantize(w); err == nil {
		t.Error("huge weight accepted")
	}
	w.Tensors["head.weight"][0] = float32(math.Inf(1))
	if _, err := Quantize(w); err == nil {
		t.Error("inf accepted")
	}
}

func TestDelta(t *testing.T) {
	w, base := randomModel(t, odd, 6)
	w2 := w.Clone()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"gru.weight_hh_l1", "head.bias"} {
		for i := range w2.Tensors[name] {
			w2.Tensors[name][i] += float32(rng.NormFloat64() * 0.01)
		}
	}
	tuned, err := Quantize(w2)
	if err != nil {
		t.Fatal(err)
	}
	full, err := Delta(base, tuned, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ApplyDelta(base, full)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := got.MarshalBinary()
	b, _ := tuned.MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Fatal("base + delta != tuned")
	}
	// Only the chosen tensors change.
	part, err := Delta(base, tuned, []string{"out.b"})
	if err != nil {
		t.Fatal(err)
	}
	got, err = ApplyDelta(base, part)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Bout, tuned.Bout) || !slices.Equal(got.Layers[1].Whh, base.Layers[1].Whh) {
		t.Error("partial delta applied wrongly")
	}
	if len(part) >= len(full) || len(full) > len(b)/2 {
		t.Errorf("delta sizes: part %d, full %d, model %d", len(part), len(full), len(b))
	}
	t.Logf("delta sizes: out.b %d bytes, all %d bytes; model %d bytes", len(part), len(full), len(b))
	// Errors: unknown tensor, other base, corruption.
	if _, err := Delta(base, tuned, []string{"nope"}); err == nil {
		t.Error("unknown tensor accepted")
	}
	if _, err := ApplyDelta(tuned, full); err == nil {
		t.Error("delta applied to the wrong base")
	}
	for _, bad := range [][]byte{nil, full[:len(full)/2], {1, 2, 3}} {
		if _, err := ApplyDelta(base, bad); err == nil {
			t.Errorf("bad delta of %d bytes accepted", len(bad))
		}
	}
	_, other := randomModel(t, Config{Layers: 1, Hidden: 8, Embed: 8}, 1)
	if _, err := Delta(base, other, nil); err == nil {
		t.Error("delta across configs accepted")
	}
}
