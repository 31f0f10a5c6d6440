package cm

import "testing"

// TestStates: the bit histories of FORMAT.md 10.9 number 239, every one
// within the bounds, and each next state counts the bit: one more of it
// unless at its bound, the other count halved to n/2 + 1 above 2.
func TestStates(t *testing.T) {
	n := 1
	for s := range stateNext {
		for y := range 2 {
			n = max(n, int(stateNext[s][y])+1)
		}
	}
	if n != 239 {
		t.Errorf("%d states, want 239", n)
	}
	for s := range n {
		c := stateCounts[s]
		if !stateAllowed(int(c[0]), int(c[1])) {
			t.Errorf("state %d: counts %v out of bounds", s, c)
		}
		for y := range 2 {
			d := stateCounts[stateNext[s][y]]
			own, other := int(c[y]), int(c[1-y])
			if other > 2 {
				other = other/2 + 1
			}
			if int(d[1-y]) != other || int(d[y]) > own+1 || int(d[2]) != y {
				t.Errorf("state %d %v, bit %d: state %v", s, c, y, d)
			}
		}
	}
}
