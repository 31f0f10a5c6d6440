package cm

// The mixers' two loops, a dot product of inputs and weights and a
// gradient step on the weights, are most of the model's arithmetic.
// vec_amd64.s runs them with AVX2 where the processor has it; these are
// the same functions in Go, which every other machine runs and which the
// assembly must agree with exactly (TestVec). Integer sums and products
// do not depend on their order, so both give the same bits.

// dotGo returns Σ x[i]·w[i] for i < len(x), in 64 bits.
func dotGo(x, w []int32) int64 {
	w = w[:len(x)]
	var d int64
	for i := range x {
		d += int64(x[i]) * int64(w[i])
	}
	return d
}

// trainGo adds (x[i]·err + 2^(shift−1)) >> shift to w[i] for i < len(x),
// each weight kept within ±cmMaxWeight; the products are 32-bit, as the
// mixers have always computed them.
func trainGo(x, w []int32, err, shift int32) {
	w = w[:len(x)]
	round := int32(1) << (shift - 1)
	for i := range x {
		w[i] = min(max(w[i]+(x[i]*err+round)>>shift, -cmMaxWeight), cmMaxWeight)
	}
}
