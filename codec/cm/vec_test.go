package cm

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestVec checks that dotProduct and trainWeights (in assembly where the
// processor allows) agree exactly with dotGo and trainGo, for every
// length up to 40 and inputs and weights at their limits.
func TestVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(limit int32) int32 {
		switch rng.IntN(4) {
		case 0:
			return limit
		case 1:
			return -limit
		}
		return rng.Int32N(2*limit+1) - limit
	}
	for n := range 41 {
		for range 200 {
			x, w := make([]int32, n), make([]int32, n+3)
			for i := range x {
				x[i] = pick(2047)
			}
			for i := range w {
				w[i] = pick(cmMaxWeight)
			}
			if got, want := dotProduct(x, w), dotGo(x, w); got != want {
				t.Fatalf("n=%d: dotProduct %d, dotGo %d", n, got, want)
			}
			err, shift := pick(4095*64), int32(10+rng.IntN(6))
			w1, w2 := slices.Clone(w), slices.Clone(w)
			trainWeights(x, w1, err, shift)
			trainGo(x, w2, err, shift)
			if !slices.Equal(w1, w2) {
				t.Fatalf("n=%d err=%d shift=%d: trainWeights %v, trainGo %v", n, err, shift, w1, w2)
			}
		}
	}
}
