package model

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"zpng/weights"
)

// referenceQuantize is Quantize written as plainly as docs/ENGINE.md
// states it, one value at a time on one core: the check that Quantize,
// shared among cores and with sums side by side, gives the same integers.
func referenceQuantize(w *Weights) *Quantized {
	cfg := w.Config
	H, E := cfg.Hidden, cfg.Embed
	matrix := func(v []float32, rows int) ([]int8, []int32) {
		q, mul := make([]int8, rows*H), make([]int32, rows)
		for i := range rows {
			mx := 0.0
			for _, x := range v[i*H : (i+1)*H] {
				mx = math.Max(mx, math.Abs(float64(x)))
			}
			s := 1.0
			if mx != 0 {
				s = mx / 127
			}
			for j, x := range v[i*H : (i+1)*H] {
				q[i*H+j] = int8(math.Max(-127, math.Min(127, math.Round(float64(x)/s))))
			}
			mul[i] = int32(math.Round(float64(s*4096) * 1048576 / 127))
		}
		return q, mul
	}
	bias := func(v []float32) []int32 {
		b := make([]int32, len(v))
		for i, x := range v {
			b[i] = int32(math.Round(float64(x) * 4096))
		}
		return b
	}
	m := &Quantized{Config: cfg, Layers: make([]QuantizedLayer, cfg.Layers), T0: make([]int32, 256*3*H)}
	embed, wih, bih := w.Tensors["embed.weight"], w.Tensors["gru.weight_ih_l0"], w.Tensors["gru.bias_ih_l0"]
	for v := range 256 {
		for i := range 3 * H {
			sum := 0.0
			for j := range E {
				sum += float64(float64(embed[v*E+j]) * float64(wih[i*E+j]))
			}
			m.T0[v*3*H+i] = int32(math.Round((sum + float64(bih[i])) * 4096))
		}
	}
	for k := range m.Layers {
		l := &m.Layers[k]
		name := func(s string) string { return fmt.Sprintf("gru.%s_l%d", s, k) }
		if k > 0 {
			l.Wih, l.Mih = matrix(w.Tensors[name("weight_ih")], 3*H)
			l.Bih = bias(w.Tensors[name("bias_ih")])
		}
		l.Whh, l.Mhh = matrix(w.Tensors[name("weight_hh")], 3*H)
		l.Bhh = bias(w.Tensors[name("bias_hh")])
	}
	m.Wout, m.Mout = matrix(w.Tensors["head.weight"], 256)
	m.Bout = bias(w.Tensors["head.bias"])
	return m
}

func equalQuantized(t *testing.T, name string, got, want *Quantized) {
	t.Helper()
	same := slices.Equal(got.T0, want.T0) && slices.Equal(got.Wout, want.Wout) &&
		slices.Equal(got.Mout, want.Mout) && slices.Equal(got.Bout, want.Bout)
	for k := range want.Layers {
		g, w := got.Layers[k], want.Layers[k]
		same = same && slices.Equal(g.Wih, w.Wih) && slices.Equal(g.Mih, w.Mih) && slices.Equal(g.Bih, w.Bih) &&
			slices.Equal(g.Whh, w.Whh) && slices.Equal(g.Mhh, w.Mhh) && slices.Equal(g.Bhh, w.Bhh)
	}
	if !same {
		t.Errorf("%s: Quantize differs from the reference", name)
	}
}

func TestQuantizeMatchesReference(t *testing.T) {
	w, q := randomModel(t, odd, 7)
	equalQuantized(t, "random "+odd.String(), q, referenceQuantize(w))
	shipped := 0
	for _, f := range weights.Models() {
		if !strings.HasSuffix(f.Name, ".safetensors") {
			continue
		}
		w, _, err := Decode(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Quantize(w)
		if err != nil {
			t.Fatal(err)
		}
		equalQuantized(t, f.Name, q, referenceQuantize(w))
		shipped++
	}
	if shipped == 0 {
		t.Error("no shipped model to check")
	}
}
