//go:build !purego

package cm

import "golang.org/x/sys/cpu"

var haveAVX2 = cpu.X86.HasAVX2

// dotAVX2 is dotGo for n > 0 inputs.
//
//go:noescape
func dotAVX2(x, w *int32, n int) int64

// trainAVX2 is trainGo for n > 0 inputs, with round = 2^(shift−1).
//
//go:noescape
func trainAVX2(x, w *int32, n int, err, round, shift int32)

// dotProduct returns Σ x[i]·w[i] for i < len(x); w is at least as long.
func dotProduct(x, w []int32) int64 {
	if !haveAVX2 || len(x) == 0 {
		return dotGo(x, w)
	}
	w = w[:len(x)]
	return dotAVX2(&x[0], &w[0], len(x))
}

// trainWeights takes a mixer's gradient step (trainGo) on the weights w
// of the inputs x.
func trainWeights(x, w []int32, err, shift int32) {
	if !haveAVX2 || len(x) == 0 {
		trainGo(x, w, err, shift)
		return
	}
	w = w[:len(x)]
	trainAVX2(&x[0], &w[0], len(x), err, 1<<(shift-1), shift)
}
