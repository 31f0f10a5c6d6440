package core

// Long repeats: runs of a file that repeat an earlier run byte for byte,
// found by hashing aligned blocks and rolling a hash over every position.

// Rules of the repeat search. They depend on the bytes only.
const (
	// repeatBlock: the search indexes the blocks of this size that start
	// at multiples of it, so a repeat of at least 2·repeatBlock−1 bytes
	// always covers one (a tar's members start at multiples of 512).
	repeatBlock = 512
	// minRepeat: shorter repeats are left to the regions' own models.
	minRepeat = 32 << 10
	// repeatWindow: a repeat's source starts at most this far before it,
	// which bounds the memory of a reader (FORMAT.md section 16).
	repeatWindow = 64 << 20
)

// repeat says that bytes [off, off+n) of a file equal bytes [src, src+n),
// src+n <= off.
type repeat struct {
	off, n, src int
}

// rollMul is the multiplier of the rolling hash (odd, so that the hash of
// a block mixes all its bytes).
const rollMul = 0x100000001b3

// findRepeats returns the repeats of at least minLen bytes in src, in
// order, none overlapping another. A block's index entry is its first
// copy while that lies within half the window (so that a run that repeats
// with a short period makes few long repeats, not many short ones), then
// the latest.
func findRepeats(src []byte, minLen int) []repeat {
	const B = repeatBlock
	if len(src) < 2*B {
		return nil
	}
	// pow = rollMul^(B-1), to take the oldest byte out of the hash.
	pow := uint64(1)
	for range B - 1 {
		pow *= rollMul
	}
	hashAt := func(p int) uint64 {
		var h uint64
		for _, c := range src[p : p+B] {
			h = h*rollMul + uint64(c)
		}
		return h
	}
	index := make(map[uint64]int32)
	next := 0 // the next block to index, once it lies wholly before the position
	var out []repeat
	lit := 0 // where the bytes not yet in a repeat start
	p := 0
	h := hashAt(0)
	for p+B <= len(src) {
		for next+B <= p {
			k := hashAt(next)
			if q, ok := index[k]; !ok || next-int(q) > repeatWindow/2 {
				index[k] = int32(next)
			}
			next += B
		}
		if q, ok := index[h]; ok && p-int(q) <= repeatWindow {
			if r, ok := extendRepeat(src, int(q), p, lit); ok {
				if r.n >= minLen {
					out = append(out, r)
					p = r.off + r.n
					lit = p
				} else {
					// Later positions of this match are shorter still.
					p = max(p+1, r.off+r.n-B+1)
				}
				if p+B <= len(src) {
					h = hashAt(p)
				}
				continue
			}
		}
		if p+B < len(src) {
			h = (h-uint64(src[p])*pow)*rollMul + uint64(src[p+B])
		}
		p++
	}
	return out
}

// extendRepeat checks that the block at p equals the block at s < p and
// grows the match backward down to lit and forward, with the source kept
// wholly before the repeat.
func extendRepeat(src []byte, s, p, lit int) (repeat, bool) {
	if string(src[s:s+repeatBlock]) != string(src[p:p+repeatBlock]) {
		return repeat{}, false
	}
	for s > 0 && p > lit && src[s-1] == src[p-1] && p-s <= repeatWindow {
		s--
		p--
	}
	n := 0
	for p+n < len(src) && s+n < p && src[s+n] == src[p+n] {
		n++
	}
	return repeat{off: p, n: n, src: s}, true
}
