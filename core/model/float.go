package model

import (
	"fmt"
	"math"
)

// FloatBPB runs the float model exactly as trained (embed → GRU → head →
// softmax) in float64 over data as one stream and returns its ideal code
// length in bits per byte. It is the reference for the quantization loss.
func FloatBPB(w *Weights, data []byte) (float64, error) {
	if err := w.Validate(); err != nil {
		return 0, err
	}
	if len(data) == 0 {
		return 0, nil
	}
	cfg := w.Config
	H, L := cfg.Hidden, cfg.Layers
	t := func(name string, k int) []float64 {
		return f64(w.Tensors[fmt.Sprintf(name, k)])
	}
	type layer struct{ wih, whh, bih, bhh []float64 }
	layers := make([]layer, L)
	for k := range layers {
		layers[k] = layer{t("gru.weight_ih_l%d", k), t("gru.weight_hh_l%d", k), t("gru.bias_ih_l%d", k), t("gru.bias_hh_l%d", k)}
	}
	embed, headW, headB := f64(w.Tensors["embed.weight"]), f64(w.Tensors["head.weight"]), f64(w.Tensors["head.bias"])
	h := make([][]float64, L)
	for k := range h {
		h[k] = make([]float64, H)
	}
	gi, gh := make([]float64, 3*H), make([]float64, 3*H)
	logits := make([]float64, 256)
	bits := 0.0
	x := byte(0)
	for _, next := range data {
		in := embed[int(x)*cfg.Embed : (int(x)+1)*cfg.Embed]
		for k, l := range layers {
			affine(gi, l.wih, l.bih, in)
			affine(gh, l.whh, l.bhh, h[k])
			for j := range H {
				r := sigmoid(gi[j] + gh[j])
				z := sigmoid(gi[H+j] + gh[H+j])
				n := math.Tanh(gi[2*H+j] + r*gh[2*H+j])
				h[k][j] = (1-z)*n + z*h[k][j]
			}
			in = h[k]
		}
		affine(logits, headW, headB, in)
		mx := logits[0]
		for _, v := range logits {
			mx = math.Max(mx, v)
		}
		sum := 0.0
		for _, v := range logits {
			sum += math.Exp(v - mx)
		}
		bits += (math.Log(sum) - (logits[next] - mx)) / math.Ln2
		x = next
	}
	return bits / float64(len(data)), nil
}

// affine sets out = W·x + b for W [len(out)][len(x)].
func affine(out, w, b, x []float64) {
	k := len(x)
	for i := range out {
		s := b[i]
		for j, v := range w[i*k : (i+1)*k] {
			s += v * x[j]
		}
		out[i] = s
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
