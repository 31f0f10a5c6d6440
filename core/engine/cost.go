package engine

import (
	"fmt"
	"math"
)

// log2Freq[f] = log2(f) for every possible table entry.
var log2Freq = func() *[65537]float64 {
	var t [65537]float64
	for f := 1; f <= 65536; f++ {
		t[f] = math.Log2(float64(f))
	}
	return &t
}()

// CodeCost returns the exact ideal code length in bits, Σ −log2(f/65536), of
// up to p.Batch() byte streams coded in lockstep under p (stream b is
// data[b]; streams may differ in length). It resets p first.
func CodeCost(p Predictor, data [][]byte) (float64, error) {
	B := p.Batch()
	if len(data) > B {
		return 0, fmt.Errorf("engine: %d streams for a predictor of batch %d", len(data), B)
	}
	steps := 0
	for _, d := range data {
		steps = max(steps, len(d))
	}
	p.Reset()
	in := make([]byte, B)
	freqs := make([]uint16, 256*B)
	perStream := make([]float64, len(data))
	for t := range steps {
		if err := p.Step(in, freqs); err != nil {
			return 0, err
		}
		for b, d := range data {
			if t < len(d) {
				perStream[b] += ProbBits - log2Freq[freqs[b*256+int(d[t])]]
				in[b] = d[t]
			}
		}
	}
	bits := 0.0
	for _, v := range perStream {
		bits += v
	}
	return bits, nil
}

// BPB is the ideal code length of data under p in bits per byte, with the
// data split into p.Batch() contiguous streams of nearly equal length.
func BPB(p Predictor, data []byte) (float64, error) {
	if len(data) == 0 {
		return 0, nil
	}
	bits, err := CodeCost(p, Split(data, p.Batch()))
	return bits / float64(len(data)), err
}

// Split cuts data into n contiguous parts whose lengths differ by at most one.
func Split(data []byte, n int) [][]byte {
	parts := make([][]byte, n)
	for i := range n {
		parts[i] = data[len(data)*i/n : len(data)*(i+1)/n]
	}
	return parts
}
