package cm

import (
	"bytes"
	"fmt"
	"math"
	"runtime"
	"sync"

	"zpng/codec"
)

// The header flags of methods cm and cm3 (FORMAT.md 10.8): bit 0 the
// profile of the model's contexts (0 text, 1 binary), bit 1 the x86
// filter. Methods cm1 and cm2 have none.
const (
	flagProfile = 1
	flagX86     = 2
	flagsKnown  = flagProfile | flagX86
)

// Flags returns the header flags with which method cm codes src: the
// profile its bytes suggest, and the x86 filter for an x86 or x86-64
// executable. They depend on the bytes alone.
func Flags(src []byte) uint16 {
	f := uint16(chooseProfile(src))
	if IsX86(src) {
		f |= flagX86
	}
	return f
}

// The sample on which ChooseFlags tries flags: all of a file up to
// trialWindows·trialWindow bytes, else that many windows spread over it.
const (
	trialWindows = 8
	trialWindow  = 16 << 10
)

// ChooseFlags returns the header flags with which method cm codes src
// smallest on a sample: Flags' choice, the other profile, and where Flags
// sets the x86 filter both profiles without it. Flags' choice wins a tie,
// so a file whose sample does not favour another codes as Flags has it.
// The choice depends on the bytes alone.
func ChooseFlags(src []byte) uint16 {
	rule := Flags(src)
	cands := []uint16{rule, rule ^ flagProfile}
	if rule&flagX86 != 0 {
		cands = append(cands, rule&^flagX86, rule&^flagX86^flagProfile)
	}
	smp := trialSample(src)
	sizes := make([]int, len(cands))
	// The trials run on as many cores as Go has; the choice is the same.
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, f := range cands {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			sizes[i] = codedSize(smp, f)
		})
	}
	wg.Wait()
	best, bestSize := rule, -1
	for i, f := range cands {
		if bestSize < 0 || sizes[i] < bestSize {
			best, bestSize = f, sizes[i]
		}
	}
	return best
}

// trialSample is src when it is short, else trialWindows windows of
// trialWindow bytes spread evenly over it, joined.
func trialSample(src []byte) []byte {
	if len(src) <= trialWindows*trialWindow {
		return src
	}
	smp := make([]byte, 0, trialWindows*trialWindow)
	for i := range trialWindows {
		off := (len(src) - trialWindow) * i / (trialWindows - 1)
		smp = append(smp, src[off:off+trialWindow]...)
	}
	return smp
}

// codedSize is the size of src coded by method cm with flags.
func codedSize(src []byte, flags uint16) int {
	var n countWriter
	w, err := NewFlagCompressor(codec.MethodCM, &n, int64(len(src)), flags)
	if err == nil {
		_, err = w.Write(src)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return math.MaxInt // not a candidate
	}
	return int(n)
}

// countWriter counts the bytes written to it.
type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// chooseProfile counts the bytes: text when at most 1 in 32 is a control
// byte other than tab, newline and carriage return, else binary.
func chooseProfile(src []byte) profile {
	ctl := 0
	for _, c := range src {
		if c < 32 && c != '\t' && c != '\n' && c != '\r' || c == 127 {
			ctl++
		}
	}
	if ctl*32 <= len(src) {
		return profileText
	}
	return profileBinary
}

// IsX86 says whether src starts as an ELF file for x86 or x86-64 or as a
// DOS/Windows executable (MZ): the files whose E8/E9 operands the x86
// filter rewrites.
func IsX86(src []byte) bool {
	if len(src) >= 20 && bytes.HasPrefix(src, []byte("\x7fELF")) {
		machine := uint16(src[18]) | uint16(src[19])<<8
		if src[5] == 2 { // big-endian
			machine = machine>>8 | machine<<8
		}
		return machine == 3 || machine == 62
	}
	return len(src) >= 64 && bytes.HasPrefix(src, []byte("MZ"))
}

func checkFlags(m codec.Method, flags uint16) error {
	if m != codec.MethodCM && m != codec.MethodCM3 && flags != 0 || flags&^flagsKnown != 0 {
		return fmt.Errorf("%w: flags %#x for method %s", codec.ErrCorrupt, flags, m)
	}
	return nil
}

// The x86 filter makes the targets of x86 calls and jumps (opcodes E8
// and E9 with a 32-bit displacement) absolute, so that calls of one
// function look alike: each E8 or E9 byte at position i whose 4 following
// bytes lie in the file has them, a little-endian displacement d, replaced
// by d + i (mod 2^32) big-endian, most significant byte first, and the
// scan goes on after them. The opcode bytes stay as they are, so the
// reverse finds the same positions.

// x86Filter applies the filter, or its reverse, to a stream of n bytes.
type x86Filter struct {
	n, pos  int64 // bytes in all, bytes passed in so far
	reverse bool
	op      [5]byte // an opcode and the displacement bytes seen so far
	k       int     // bytes in op
}

// push passes c into the filter and appends to out what is ready.
func (f *x86Filter) push(c byte, out []byte) []byte {
	i := f.pos
	f.pos++
	if f.k > 0 {
		f.op[f.k] = c
		f.k++
		if f.k < 5 {
			return out
		}
		f.k = 0
		at := uint32(i - 4) // the opcode's position
		var d uint32
		if f.reverse {
			d = (uint32(f.op[1])<<24 | uint32(f.op[2])<<16 | uint32(f.op[3])<<8 | uint32(f.op[4])) - at
			return append(out, f.op[0], byte(d), byte(d>>8), byte(d>>16), byte(d>>24))
		}
		d = (uint32(f.op[1]) | uint32(f.op[2])<<8 | uint32(f.op[3])<<16 | uint32(f.op[4])<<24) + at
		return append(out, f.op[0], byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
	}
	if (c == 0xE8 || c == 0xE9) && i+5 <= f.n {
		f.op[0], f.k = c, 1
		return out
	}
	return append(out, c)
}
