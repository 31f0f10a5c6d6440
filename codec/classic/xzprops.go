//go:build cgo && !windows

package classic

import "math/bits"

// lzmaProps are LZMA's literal context bits, literal position bits and
// position bits.
type lzmaProps struct{ lc, lp, pb int }

// xzDefault are the settings of xz's presets, good for text.
var xzDefault = lzmaProps{3, 0, 2}

// xzSample is how much of the input the rules below look at, and the sample
// that picks the candidate for inputs over xzTrialLimit.
const xzSample = 1 << 20

// xzCandidates are the settings the xz writer tries, keeping the smallest
// result. Text gets xz's default alone. Binary data also gets literals
// without context, and position bits matched to the alignment of its records:
// a table of 16-byte records codes best with lp = pb = 4. The rules read only
// the data, so the same input always gives the same stream.
func xzCandidates(src []byte) []lzmaProps {
	s := src[:min(len(src), xzSample)]
	if !isBinary(s) {
		return []lzmaProps{xzDefault}
	}
	c := []lzmaProps{xzDefault, {1, 0, 0}}
	if a := min(bits.TrailingZeros(uint(recordSize(s))), 4); a > 0 && a != 2 {
		c = append(c, lzmaProps{0, a, a})
	} else {
		c = append(c, lzmaProps{0, 2, 2})
	}
	return c
}

// isBinary says whether more than 1 byte in 64 of s is a control character
// other than the whitespace of text.
func isBinary(s []byte) bool {
	n := 0
	for _, b := range s {
		if b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f' || b == 0x7f {
			n++
		}
	}
	return n > len(s)/64
}

// recordSize is the distance from 2 to 64 at which the bytes of s repeat
// most often: the size of its records if it is a table of them.
func recordSize(s []byte) int {
	const maxSize = 64
	best, bestCount := 1, -1
	for d := 2; d <= maxSize; d++ {
		count := 0
		for i := maxSize; i < len(s); i++ {
			if s[i] == s[i-d] {
				count++
			}
		}
		if count > bestCount {
			best, bestCount = d, count
		}
	}
	return best
}
