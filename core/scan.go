package core

import (
	"bytes"
	"cmp"
	"math"
	"slices"

	"zpng/codec/cm"
)

// kind is what a region of a file holds; it decides the region's method.
type kind uint8

const (
	kindText   kind = iota // text and source code: cm's text profile, the hybrid where it pays
	kindBinary             // other data: cm's binary profile
	kindExec               // x86 executables: cm's binary profile and its x86 filter
	kindRandom             // compressed or random bytes: stored
	kindCopy               // a repeat of earlier bytes of the file: method copy
)

var kindNames = [...]string{"text", "binary", "executable", "random", "copy"}

func (k kind) String() string { return kindNames[k] }

// Rules of the scan. They depend on the bytes only, so the same file is cut
// the same way on every machine.
const (
	scanBlock = 64 << 10 // outside a tar, the file is classified in blocks of this size
	// minRegion: shorter runs of one kind join a neighbour, whose model
	// learns them at less cost than a fresh model would.
	minRegion = 256 << 10
	// maxRegion: longer regions are cut into equal parts, which bounds the
	// memory of a region's model and lets the cores share the work.
	maxRegion = 16 << 20
	// randomEntropy: a unit of at least 4 KiB whose order-0 entropy is above
	// this many bits per byte holds compressed or random bytes.
	randomEntropy = 7.9
)

// region is a run of the file [off, off+n) of one kind.
type region struct {
	off, n int
	kind   kind
	src    int // a copy: where the bytes it repeats start
	// ctl and data count the control bytes among the data bytes the
	// region's units were classified by (profileKind).
	ctl, data int
}

// cutRegions cuts src into regions. A long repeat (findRepeats) becomes a
// copy as far as its source lies before the region that the cut by content
// alone (cutContent) puts its start in, and the stretches between copies
// are cut by content. A repeat within one region is left to its model,
// which codes it for little; a copy there would cut the region in two and
// cost more.
func cutRegions(src []byte) []region {
	cuts := contentCuts(src)
	whole := cutContent(src, cuts, 0, len(src))
	var out []region
	off, g := 0, 0
	for _, r := range findRepeats(src, minRepeat) {
		for whole[g].off+whole[g].n <= r.off {
			g++
		}
		// Only the part whose source lies before the region is copied.
		if r.n = min(r.n, whole[g].off-r.src); r.n < minRepeat {
			continue
		}
		out = append(out, cutContent(src, cuts, off, r.off)...)
		out = append(out, splitLong([]region{{off: r.off, n: r.n, kind: kindCopy, src: r.src}})...)
		off = r.off + r.n
	}
	return append(out, cutContent(src, cuts, off, len(src))...)
}

// contentCuts returns the units that src is classified by, in order from
// offset 0: off, where a unit starts, and n, how many of its first bytes
// it is classified by. A tar is cut at the start of each member's data (so
// that an executable member begins its region), and a unit is classified
// by the member's data, without the padding and the next member's header
// that follow it; any other file is cut every scanBlock bytes; a file that
// starts as an x86 executable is one program, cut nowhere (nil).
func contentCuts(src []byte) []region {
	if cm.IsX86(src) && !isTar(src) {
		return nil
	}
	members := tarMembers(src)
	if members == nil {
		for off := 0; off < len(src); off += scanBlock {
			members = append(members, region{off: off, n: min(scanBlock, len(src)-off)})
		}
	} else if members[0].off > 0 {
		members = append([]region{{off: 0}}, members...)
	}
	return members
}

// cutContent cuts src[from:to] into regions by content (cuts, from
// contentCuts). Adjacent units of one kind merge, runs shorter than
// minRegion join a neighbour, and regions longer than maxRegion are cut
// into equal parts.
func cutContent(src []byte, cuts []region, from, to int) []region {
	if from >= to {
		return nil
	}
	if cuts == nil {
		return splitLong([]region{{off: from, n: to - from, kind: kindExec}})
	}
	// The units in the stretch, each classified by those of its first
	// bytes that lie in it.
	i, _ := slices.BinarySearchFunc(cuts, from+1, func(c region, off int) int { return cmp.Compare(c.off, off) })
	var units []region
	for i = max(i-1, 0); i < len(cuts) && cuts[i].off < to; i++ {
		m := cuts[i]
		end := len(src)
		if i+1 < len(cuts) {
			end = cuts[i+1].off
		}
		start, end := max(m.off, from), min(end, to)
		u := region{off: start, n: end - start, kind: kindBinary}
		if data := min(m.off+m.n, end) - start; data > 0 {
			u.kind, u.ctl = classify(src[start : start+data])
			u.data = data
		}
		units = append(units, u)
	}
	rs := absorbShort(mergeKinds(units))
	// A region of text and binary units together takes the profile that
	// cm's rule gives its units' data (a tar's headers left out).
	for i, r := range rs {
		if r.kind == kindText || r.kind == kindBinary {
			rs[i].kind = kindBinary
			if r.ctl*32 <= r.data {
				rs[i].kind = kindText
			}
		}
	}
	return splitLong(mergeKinds(rs))
}

// classify says what one unit holds, and counts its control bytes other
// than tab, newline and carriage return.
func classify(b []byte) (kind, int) {
	var hist [256]int
	for _, c := range b {
		hist[c]++
	}
	ctl := 0
	for c := 0; c < 32; c++ {
		if c != '\t' && c != '\n' && c != '\r' {
			ctl += hist[c]
		}
	}
	ctl += hist[127]
	switch {
	case len(b) >= 4<<10 && entropy(&hist, len(b)) > randomEntropy:
		return kindRandom, ctl
	case cm.IsX86(b):
		return kindExec, ctl
	case ctl*32 <= len(b): // cm's rule for its text profile
		return kindText, ctl
	}
	return kindBinary, ctl
}

// entropy is the order-0 entropy, in bits per byte, of n bytes counted in hist.
func entropy(hist *[256]int, n int) float64 {
	var h float64
	for _, c := range hist {
		if c > 0 {
			p := float64(c) / float64(n)
			h -= p * math.Log2(p)
		}
	}
	return h
}

// join appends the region r that follows.
func (g *region) join(r region) {
	g.n += r.n
	g.ctl += r.ctl
	g.data += r.data
}

// mergeKinds joins adjacent regions of one kind.
func mergeKinds(rs []region) []region {
	var out []region
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].kind == r.kind {
			out[n-1].join(r)
			continue
		}
		out = append(out, r)
	}
	return out
}

// absorbShort rewrites runs shorter than minRegion. A stretch of
// consecutive short runs (small files of several kinds in a tar, say)
// becomes one run of the kind that holds most of its bytes; then each run
// still short joins the run before it, which keeps its kind (a short first
// run joins the next).
func absorbShort(rs []region) []region {
	var st []region
	for i := 0; i < len(rs); {
		if rs[i].n >= minRegion {
			st = append(st, rs[i])
			i++
			continue
		}
		var by [len(kindNames)]int
		r := region{off: rs[i].off}
		for ; i < len(rs) && rs[i].n < minRegion; i++ {
			by[rs[i].kind] += rs[i].n
			r.join(rs[i])
		}
		for k := range by {
			if by[k] > by[r.kind] {
				r.kind = kind(k)
			}
		}
		st = append(st, r)
	}
	var out []region
	for _, r := range mergeKinds(st) {
		n := len(out)
		switch {
		case n > 0 && r.n < minRegion:
			out[n-1].join(r)
		case n == 1 && out[0].n < minRegion:
			out[0].join(r)
			out[0].kind = r.kind
		default:
			out = append(out, r)
		}
	}
	return out
}

// splitLong cuts regions longer than maxRegion into the fewest equal parts
// that are not.
func splitLong(rs []region) []region {
	var out []region
	for _, r := range rs {
		parts := (r.n + maxRegion - 1) / maxRegion
		off := r.off
		for i := range parts {
			n := r.n / parts
			if i < r.n%parts {
				n++
			}
			out = append(out, region{off: off, n: n, kind: r.kind, src: r.src + off - r.off})
			off += n
		}
	}
	return out
}

// isTar says whether src starts with a POSIX (ustar) tar header.
func isTar(src []byte) bool {
	return len(src) >= 512 && bytes.HasPrefix(src[257:], []byte("ustar")) && tarChecksumOK(src[:512])
}

// tarMembers returns the data of each regular member of the tar src (off:
// where it starts, n: its size), or nil if src is not a tar. The walk
// stops at the first block that is not a valid header (the end of the
// archive).
func tarMembers(src []byte) []region {
	if !isTar(src) {
		return nil
	}
	var ms []region
	for off := 0; off+512 <= len(src); {
		h := src[off : off+512]
		if !bytes.HasPrefix(h[257:], []byte("ustar")) || !tarChecksumOK(h) {
			break
		}
		size, ok := tarOctal(h[124:136])
		if !ok || size > int64(len(src)) {
			break
		}
		data := off + 512
		next := int64(data) + (size+511)/512*512
		if next > int64(len(src)) {
			break
		}
		if t := h[156]; (t == '0' || t == 0 || t == '7') && size > 0 {
			ms = append(ms, region{off: data, n: int(size)})
		}
		off = int(next)
	}
	if len(ms) == 0 {
		return nil
	}
	return ms
}

// tarOctal reads a tar header's octal number field.
func tarOctal(f []byte) (int64, bool) {
	f = bytes.Trim(f, " \x00")
	if len(f) == 0 {
		return 0, true
	}
	var v int64
	for _, c := range f {
		if c < '0' || c > '7' || v > math.MaxInt64>>3 {
			return 0, false
		}
		v = v<<3 | int64(c-'0')
	}
	return v, true
}

// tarChecksumOK checks a tar header's checksum: the sum of its bytes with
// the checksum field counted as spaces.
func tarChecksumOK(h []byte) bool {
	want, ok := tarOctal(h[148:156])
	if !ok {
		return false
	}
	var sum int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	return sum == want
}
