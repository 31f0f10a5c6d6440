//go:build !amd64 || purego

package cm

// dotProduct returns Σ x[i]·w[i] for i < len(x); w is at least as long.
func dotProduct(x, w []int32) int64 { return dotGo(x, w) }

// trainWeights takes a mixer's gradient step (trainGo) on the weights w
// of the inputs x.
func trainWeights(x, w []int32, err, shift int32) { trainGo(x, w, err, shift) }
