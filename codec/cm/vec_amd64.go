//go:build !purego

package cm

import "golang.org/x/sys/cpu"

var haveAVX2 = cpu.X86.HasAVX2

// dotAVX2 returns Σ x[i]·w[i] for i < n, n a multiple of 4.
//
//go:noescape
func dotAVX2(x, w *int32, n int) int64

// trainAVX2 is trainGo for the first n inputs, n a multiple of 8, with
// round = 2^(shift−1).
//
//go:noescape
func trainAVX2(x, w *int32, n int, err, round, shift int32)

// dotProduct returns Σ x[i]·w[i] for i < len(x); w is at least as long.
func dotProduct(x, w []int32) int64 {
	n := len(x) &^ 3
	if !haveAVX2 || n == 0 {
		return dotGo(x, w)
	}
	w = w[:len(x)]
	return dotAVX2(&x[0], &w[0], n) + dotGo(x[n:], w[n:])
}

// trainWeights takes a mixer's gradient step (trainGo) on the weights w
// of the inputs x.
func trainWeights(x, w []int32, err, shift int32) {
	n := len(x) &^ 7
	if !haveAVX2 || n == 0 {
		trainGo(x, w, err, shift)
		return
	}
	w = w[:len(x)]
	trainAVX2(&x[0], &w[0], n, err, 1<<(shift-1), shift)
	trainGo(x[n:], w[n:], err, shift)
}
