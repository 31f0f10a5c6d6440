package goengine

import "zpng/core/model"

// expTable is model.Tables' exponential table.
var expTable = func() []int32 {
	_, _, exp := model.Tables()
	return exp
}()

// refStream is a literal transcription of docs/ENGINE.md's fixed-point step,
// unoptimised, for checking the engine against the contract.
type refStream struct {
	m      *model.Quantized
	h, h8  [][]int64
	logits []int32
}

func newRef(m *model.Quantized) *refStream {
	r := &refStream{m: m, logits: make([]int32, 256)}
	for range m.Config.Layers {
		r.h = append(r.h, make([]int64, m.Config.Hidden))
		r.h8 = append(r.h8, make([]int64, m.Config.Hidden))
	}
	return r
}

func refLinear(w []int8, mul, b []int32, x []int64, i int) int64 {
	k := len(x)
	var acc int64
	for j := range k {
		acc += int64(w[i*k+j]) * x[j]
	}
	return (acc*int64(mul[i])+1<<19)>>20 + int64(b[i])
}

func refAct(lut []int16, x int64) int64 {
	if x < -32768 {
		x = -32768
	}
	if x > 32767 {
		x = 32767
	}
	return int64(lut[(x+32768)>>3])
}

func (r *refStream) step(x byte, freqs []uint16) {
	m := r.m
	H := m.Config.Hidden
	gi, gh := make([]int64, 3*H), make([]int64, 3*H)
	for l := range m.Config.Layers {
		layer := m.Layers[l]
		for i := range 3 * H {
			if l == 0 {
				gi[i] = int64(m.T0[int(x)*3*H+i])
			} else {
				gi[i] = refLinear(layer.Wih, layer.Mih, layer.Bih, r.h8[l-1], i)
			}
			gh[i] = refLinear(layer.Whh, layer.Mhh, layer.Bhh, r.h8[l], i)
		}
		for j := range H {
			rr := refAct(sigTable[:], gi[j]+gh[j])
			z := refAct(sigTable[:], gi[H+j]+gh[H+j])
			n := refAct(tanhTable[:], gi[2*H+j]+((rr*gh[2*H+j]+(1<<14))>>15))
			r.h[l][j] = n + ((z*(r.h[l][j]-n) + (1 << 14)) >> 15)
			r.h8[l][j] = (r.h[l][j]*127 + (1 << 14)) >> 15
		}
	}
	for k := range 256 {
		r.logits[k] = int32(refLinear(m.Wout, m.Mout, m.Bout, r.h8[m.Config.Layers-1], k))
	}
	refSoftmax(r.logits, freqs)
}

func refSoftmax(logit []int32, f []uint16) {
	m, a := logit[0], 0
	for k := range 256 {
		if logit[k] > m {
			m, a = logit[k], k
		}
	}
	e := make([]int64, 256)
	var S int64
	for k := range 256 {
		d := (int64(m) - int64(logit[k])) >> 3
		if d > 8191 {
			d = 8191
		}
		e[k] = int64(expTable[d])
		S += e[k]
	}
	var sum int64
	for k := range 256 {
		v := 1 + (e[k]*65280)/S
		f[k] = uint16(v)
		sum += v
	}
	f[a] = uint16(int64(f[a]) + 65536 - sum)
}
