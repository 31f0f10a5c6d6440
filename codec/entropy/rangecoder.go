// Package entropy holds ZPNG's entropy coders: the range coder of method
// neural, which codes bytes under 256-entry frequency tables, the binary
// arithmetic coder of methods cm and hybrid, which codes bits under 12-bit
// probabilities, and the stream table (STRM section) of the methods that
// code a file as side-by-side streams. FORMAT.md is the exact contract.
package entropy

import (
	"errors"
	"fmt"
)

// The range coder works on a 56-bit window of an arbitrary-precision number
// (see FORMAT.md, "Range coder"). Keeping the range above 2^48 while the
// frequency total is only 2^16 makes the loss from truncating range/total
// smaller than 2^-32 of a bit per symbol, so the coded size is the ideal
// sum of -log2 p to within the final byte or two.
const (
	ProbBits  = 16 // log2 of every frequency table's total
	probTotal = 1 << ProbBits

	windowBits = 56
	windowTop  = 1 << windowBits // carry bit of low
	windowMask = windowTop - 1
	rangeMin   = 1 << 48 // normalize (shift out a byte) below this
	rangeInit  = windowMask
)

// ErrBadTable reports a frequency table that cannot code the symbol:
// shorter than 256 entries, a zero frequency, or a total above 2^16.
var ErrBadTable = errors.New("entropy: invalid frequency table")

// Encoder is a range encoder for one stream of bytes, each coded with its own
// frequency table (256 entries, total 2^16, every coded symbol's entry ≥ 1).
// The zero value is not ready; use NewEncoder.
type Encoder struct {
	low uint64 // < 2^56 after each step; bit 56 is a pending carry
	rng uint64 // in [2^48, 2^56) after each step
	out []byte
	err error
}

// NewEncoder returns an encoder for an empty stream.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.Reset()
	return e
}

// Reset empties the encoder for a new stream, keeping its buffer.
func (e *Encoder) Reset() {
	e.low, e.rng, e.out, e.err = 0, rangeInit, e.out[:0], nil
}

// Encode codes sym with the table freqs (freqs[:256] is used). An invalid
// table makes the encoder fail: the error is returned here and by Err, and
// later calls do nothing.
func (e *Encoder) Encode(freqs []uint16, sym byte) error {
	if e.err != nil {
		return e.err
	}
	if len(freqs) < 256 {
		e.err = fmt.Errorf("%w: %d entries", ErrBadTable, len(freqs))
		return e.err
	}
	f := freqs[:256]
	freq := uint64(f[sym])
	cum := cumFreq(f, int(sym))
	if freq == 0 || cum+freq > probTotal {
		e.err = fmt.Errorf("%w: symbol %d has frequency %d at cumulative %d", ErrBadTable, sym, freq, cum)
		return e.err
	}
	r := e.rng >> ProbBits
	e.low += r * cum
	e.rng = r * freq
	if e.low >= windowTop {
		e.low &= windowMask
		e.carry()
	}
	for e.rng < rangeMin {
		e.out = append(e.out, byte(e.low>>(windowBits-8)))
		e.low = (e.low << 8) & windowMask
		e.rng <<= 8
	}
	return nil
}

// carry adds one to the bytes already written.
func (e *Encoder) carry() {
	for i := len(e.out) - 1; i >= 0; i-- {
		e.out[i]++
		if e.out[i] != 0 {
			return
		}
	}
}

// Err returns the first error met by Encode.
func (e *Encoder) Err() error { return e.err }

// Len returns the number of bytes written so far (Finish adds at most 7).
func (e *Encoder) Len() int { return len(e.out) }

// Finish ends the stream and returns its bytes. It picks the value in
// [low, low+range) with the most trailing zero bits, writes its window and
// drops trailing zero bytes, which the decoder reads back as padding.
// The returned slice aliases the encoder's buffer until Reset.
func (e *Encoder) Finish() []byte {
	v := e.low
	for _, bits := range []uint{windowBits, 48} {
		mask := uint64(1)<<bits - 1
		if c := (e.low + mask) &^ mask; c-e.low < e.rng {
			v = c
			break
		}
	}
	if v >= windowTop {
		v &= windowMask
		e.carry()
	}
	for shift := windowBits - 8; shift >= 0; shift -= 8 {
		e.out = append(e.out, byte(v>>shift))
	}
	for len(e.out) > 0 && e.out[len(e.out)-1] == 0 {
		e.out = e.out[:len(e.out)-1]
	}
	e.low, e.rng = 0, rangeInit
	return e.out
}

// cumFreq returns f[0] + … + f[s-1].
func cumFreq(f []uint16, s int) uint64 {
	a := (*[256]uint16)(f[:256])
	var c0, c1, c2, c3 uint32
	i := 0
	for ; i+8 <= s; i += 8 {
		b := (*[8]uint16)(a[i : i+8])
		c0 += uint32(b[0]) + uint32(b[4])
		c1 += uint32(b[1]) + uint32(b[5])
		c2 += uint32(b[2]) + uint32(b[6])
		c3 += uint32(b[3]) + uint32(b[7])
	}
	for ; i < s; i++ {
		c0 += uint32(a[i&255])
	}
	return uint64(c0 + c1 + c2 + c3)
}

// Decoder decodes one stream written by Encoder, given the same sequence of
// frequency tables. Bytes past the end of the data read as zero.
type Decoder struct {
	code uint64 // value minus low, < rng for a valid stream
	rng  uint64
	in   []byte
	pos  int
}

// ErrCoder reports a range-coded stream that does not decode with the
// tables given: the data is corrupt or the tables differ from the encoder's.
var ErrCoder = errors.New("entropy: range-coded data does not match the model")

// NewDecoder starts decoding data. Its error is always nil; it is there so
// that a stream version this decoder does not know can be refused.
func NewDecoder(data []byte) (*Decoder, error) {
	d := &Decoder{}
	d.Reset(data)
	return d, nil
}

// Reset starts decoding a new stream.
func (d *Decoder) Reset(data []byte) {
	d.in, d.pos, d.rng, d.code = data, 0, rangeInit, 0
	for i := 0; i < windowBits/8; i++ {
		d.code = d.code<<8 | uint64(d.next())
	}
}

func (d *Decoder) next() byte {
	if d.pos < len(d.in) {
		b := d.in[d.pos]
		d.pos++
		return b
	}
	return 0
}

// Decode returns the next symbol, coded with freqs (freqs[:256] is used).
func (d *Decoder) Decode(freqs []uint16) (byte, error) {
	if len(freqs) < 256 {
		return 0, fmt.Errorf("%w: %d entries", ErrBadTable, len(freqs))
	}
	f := freqs[:256]
	r := d.rng >> ProbBits
	q := d.code / r
	if q >= probTotal {
		return 0, ErrCoder
	}
	t := uint32(q)
	// Find s with cum(s) <= t < cum(s)+f[s]: skip 16-entry blocks by their
	// sums, then walk the block.
	var cum uint32
	s := 0
	for ; s < 256; s += 16 {
		b := f[s : s+16 : s+16]
		sum := uint32(b[0]) + uint32(b[1]) + uint32(b[2]) + uint32(b[3]) +
			uint32(b[4]) + uint32(b[5]) + uint32(b[6]) + uint32(b[7]) +
			uint32(b[8]) + uint32(b[9]) + uint32(b[10]) + uint32(b[11]) +
			uint32(b[12]) + uint32(b[13]) + uint32(b[14]) + uint32(b[15])
		if cum+sum > t {
			break
		}
		cum += sum
	}
	if s >= 256 {
		return 0, ErrCoder // t is at or beyond the table's total
	}
	for ; ; s++ {
		fs := uint32(f[s])
		if cum+fs > t {
			break
		}
		cum += fs
	}
	d.code -= r * uint64(cum)
	d.rng = r * uint64(f[s])
	for d.rng < rangeMin {
		d.code = d.code<<8 | uint64(d.next())
		d.rng <<= 8
	}
	return byte(s), nil
}
