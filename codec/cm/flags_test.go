package cm

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"zpng/codec"
	"zpng/codec/internal/sample"
)

// x86Like returns n bytes of made-up machine code: calls and jumps (E8,
// E9) to a few targets among other bytes, and some E8 and E9 bytes within
// 4 bytes of the end.
func x86Like(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, n)
	for len(b) < n-8 {
		switch r.IntN(4) {
		case 0:
			target := int32(r.IntN(8)*4096) - int32(len(b)+5)
			b = append(b, 0xE8, byte(target), byte(target>>8), byte(target>>16), byte(target>>24))
		case 1:
			b = append(b, 0xE9)
		default:
			b = append(b, 0x48, 0x89, byte(r.IntN(256)))
		}
	}
	return append(b[:n-3], 0xE8, 0xE9, 0xE8)
}

// TestX86Filter: the reverse filter restores the input, fed byte by byte,
// and the filter changes the displacements of calls.
func TestX86Filter(t *testing.T) {
	for _, src := range [][]byte{nil, {0xE8}, {0xE8, 1, 2, 3, 4}, {0xE9, 1, 2, 3}, x86Like(10000), sample.Random(3, 5000)} {
		n := int64(len(src))
		var fwd, back []byte
		f, r := &x86Filter{n: n}, &x86Filter{n: n, reverse: true}
		for _, c := range src {
			fwd = f.push(c, fwd)
		}
		for _, c := range fwd {
			back = r.push(c, back)
		}
		if !bytes.Equal(back, src) {
			t.Fatalf("%d bytes: the reverse gives %d bytes, not the input", len(src), len(back))
		}
		if len(src) == 10000 && bytes.Equal(fwd, src) {
			t.Error("the filter left machine code as it was")
		}
	}
	if got := (&x86Filter{n: 5}).push(0xE8, nil); len(got) != 0 {
		t.Errorf("an opcode with its 4 bytes in the file: %x out at once, want it held", got)
	}
}

// TestFlags: the profile and the filter that Flags chooses, and that each
// profile, with and without the filter, round-trips.
func TestFlags(t *testing.T) {
	elf := append([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x3e\x00"), x86Like(8000)...)
	cases := []struct {
		name string
		src  []byte
		want uint16
	}{
		{"text", bytes.Repeat([]byte("Its words\tand\r\nlines. "), 400), uint16(profileText)},
		{"mixed", sample.Mixed(8000), uint16(profileBinary)},
		{"text, 1 in 32 a control byte", bytes.Repeat([]byte("a\x00bcdefghijklmnopqrstuvwxyz01234"), 100), uint16(profileText)},
		{"text, 1 in 31 a control byte", bytes.Repeat([]byte("a\x00bcdefghijklmnopqrstuvwxyz0123"), 100), uint16(profileBinary)},
		{"random", sample.Random(4, 8000), uint16(profileBinary)},
		{"x86-64 ELF", elf, uint16(profileBinary) | flagX86},
		{"empty", nil, uint16(profileText)},
	}
	for _, c := range cases {
		if got := Flags(c.src); got != c.want {
			t.Errorf("%s: flags %#x, want %#x", c.name, got, c.want)
		}
		for _, flags := range []uint16{0, 1, flagX86, 1 | flagX86} {
			var buf bytes.Buffer
			w, err := NewFlagCompressor(codec.MethodCM, &buf, int64(len(c.src)), flags)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(c.src)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := NewFlagDecompressor(codec.MethodCM, buf.Bytes(), int64(len(c.src)), flags)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, c.src) {
				t.Fatalf("%s, flags %#x: %d bytes back (%v)", c.name, flags, len(got), err)
			}
		}
	}
}

// TestBadFlags: flags a method does not define are corruption.
func TestBadFlags(t *testing.T) {
	for _, c := range []struct {
		m     codec.Method
		flags uint16
	}{{codec.MethodCM, 4}, {codec.MethodCM, 8}, {codec.MethodCM, 0x8000}, {codec.MethodCM2, 1}, {codec.MethodCM1, flagX86}} {
		if _, err := NewFlagDecompressor(c.m, []byte{1, 2, 3}, 3, c.flags); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s with flags %#x: %v, want codec.ErrCorrupt", c.m, c.flags, err)
		}
		if _, err := NewFlagCompressor(c.m, io.Discard, 3, c.flags); err == nil {
			t.Errorf("%s with flags %#x: a compressor, want an error", c.m, c.flags)
		}
	}
}

// TestChooseFlags: the trial keeps Flags' choice where the other flags do
// not code the sample smaller, and otherwise takes the smallest; a long
// file is tried on windows of it.
func TestChooseFlags(t *testing.T) {
	elf := append([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x3e\x00"), x86Like(8000)...)
	long := bytes.Repeat([]byte("A line of text, and another.\n"), (trialWindows*trialWindow)/20)
	for name, src := range map[string][]byte{
		"text":       bytes.Repeat([]byte("Its words\tand\r\nlines. "), 400),
		"mixed":      sample.Mixed(8000),
		"records":    sample.Records(20000),
		"x86-64 ELF": elf,
		"empty":      nil,
		"long text":  long,
	} {
		got, rule := ChooseFlags(src), Flags(src)
		smp := trialSample(src)
		if len(src) > trialWindows*trialWindow && len(smp) != trialWindows*trialWindow {
			t.Errorf("%s: a sample of %d bytes", name, len(smp))
		}
		gotSize, ruleSize := codedSize(smp, got), codedSize(smp, rule)
		t.Logf("%s: flags %#x (%d B), rule %#x (%d B)", name, got, gotSize, rule, ruleSize)
		if got != rule && gotSize >= ruleSize || gotSize > ruleSize {
			t.Errorf("%s: flags %#x code the sample in %d B, the rule's %#x in %d B", name, got, gotSize, rule, ruleSize)
		}
		if got&^flagsKnown != 0 || rule&flagX86 == 0 && got&flagX86 != 0 {
			t.Errorf("%s: flags %#x (rule %#x)", name, got, rule)
		}
	}
	if got := ChooseFlags(long); got != uint16(profileText) {
		t.Errorf("long text: flags %#x, want the text profile", got)
	}
}
