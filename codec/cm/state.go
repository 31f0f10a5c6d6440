package cm

// A bit history is a state byte that summarises the bits seen in one
// context: how many zeros and ones (n0, n1), both bounded, and which bit
// came last. A new bit y adds one to its own count and, when the other
// count is above 2, halves that one (to n/2 + 1), so that a history
// favours what it saw lately; the counts then stay within stateCap.
// stateNext is generated from these rules (FORMAT.md 10.9).

// stateCap[k] bounds the larger count of a history whose smaller count is
// k; there is no history with both counts above len(stateCap) − 1.
var stateCap = [...]uint8{40, 24, 14, 9, 7, 6}

// stateNext[s][y] is the state after bit y in state s; stateCounts[s] its
// n0, n1 and last bit. State 0 is the empty history.
var stateNext, stateCounts = makeStates()

func stateAllowed(n0, n1 int) bool {
	lo, hi := min(n0, n1), max(n0, n1)
	return lo < len(stateCap) && hi <= int(stateCap[lo])
}

// makeStates numbers the histories reachable from the empty one in the
// order a breadth-first walk first meets them, bit 0 before bit 1.
func makeStates() (next [256][2]uint8, counts [256][3]uint8) {
	index := map[[3]uint8]int{{0, 0, 0}: 0}
	list := [][3]uint8{{0, 0, 0}}
	for s := 0; s < len(list); s++ {
		for y := range 2 {
			n := [2]int{int(list[s][0]), int(list[s][1])}
			n[y]++
			if n[1-y] > 2 {
				n[1-y] = n[1-y]/2 + 1
			}
			for !stateAllowed(n[0], n[1]) {
				n[y]--
			}
			t := [3]uint8{uint8(n[0]), uint8(n[1]), uint8(y)}
			i, ok := index[t]
			if !ok {
				i = len(list)
				if i > 255 {
					panic("cm: more than 256 bit histories")
				}
				index[t] = i
				list = append(list, t)
			}
			next[s][y] = uint8(i)
		}
	}
	copy(counts[:], list)
	return next, counts
}
