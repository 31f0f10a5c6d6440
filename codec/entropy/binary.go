package entropy

import "io"

// The binary arithmetic coder codes one bit at a time under a 12-bit
// probability p1 = P(bit = 1) · 4096, in 1 … 4095 (FORMAT.md section 10.1).

// BinEncoder is a carry-less binary arithmetic coder over a 32-bit
// interval [x1, x2]; it writes a byte whenever x1 and x2 agree in their top
// byte. The bytes collect in a buffer until WriteTo or Bytes takes them.
type BinEncoder struct {
	x1, x2 uint32
	out    []byte
}

// NewBinEncoder returns an encoder of an empty stream.
func NewBinEncoder() *BinEncoder { return &BinEncoder{x2: 0xFFFFFFFF} }

// split is the last value of the bit-1 part of [x1, x2] under p1.
func split(x1, x2, p1 uint32) uint32 {
	r := x2 - x1
	return x1 + (r>>12)*p1 + ((r&0xFFF)*p1)>>12
}

// Encode codes bit (0 or 1) under p1 = P(bit = 1) · 4096.
func (e *BinEncoder) Encode(bit int, p1 int32) {
	mid := split(e.x1, e.x2, uint32(p1))
	if bit != 0 {
		e.x2 = mid
	} else {
		e.x1 = mid + 1
	}
	for (e.x1^e.x2)&0xFF000000 == 0 {
		e.out = append(e.out, byte(e.x2>>24))
		e.x1 <<= 8
		e.x2 = e.x2<<8 | 0xFF
	}
}

// Finish ends the stream: it writes one byte b such that b·2^24 lies in
// [x1, x2] (the top bytes of x1 and x2 differ, so x1 rounded up to a
// multiple of 2^24 does). A stream of no bits is not finished: it is empty.
func (e *BinEncoder) Finish() {
	b := e.x1 >> 24
	if e.x1&0xFFFFFF != 0 {
		b++
	}
	e.out = append(e.out, byte(b))
}

// Len is the number of bytes buffered.
func (e *BinEncoder) Len() int { return len(e.out) }

// Bytes returns the bytes buffered.
func (e *BinEncoder) Bytes() []byte { return e.out }

// WriteTo writes the bytes buffered to w and empties the buffer.
func (e *BinEncoder) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(e.out)
	e.out = e.out[:0]
	return int64(n), err
}

// BinDecoder mirrors BinEncoder. Reads past the end of the input yield 0;
// a valid stream is read exactly 3 bytes past its end.
type BinDecoder struct {
	x1, x2, x uint32
	in        []byte
	pos       int       // bytes read, including those past the end
	more      MoreBytes // nil once in is the whole stream
}

// MoreBytes returns the first bytes of a stream that is still being written,
// more than have of them, waiting for them as long as the stream goes on;
// complete reports that the bytes returned are the whole stream.
type MoreBytes func(have int) (in []byte, complete bool)

// NewBinDecoder returns a decoder of the stream in.
func NewBinDecoder(in []byte) *BinDecoder {
	return NewBinStreamDecoder(in, nil)
}

// NewBinStreamDecoder returns a decoder of a stream of which in is the
// beginning; more, unless nil, gives the rest as it is written, so that a
// stream can be decoded while it is coded.
func NewBinStreamDecoder(in []byte, more MoreBytes) *BinDecoder {
	d := &BinDecoder{x2: 0xFFFFFFFF, in: in, more: more}
	for i := 0; i < 4; i++ {
		d.x = d.x<<8 | uint32(d.next())
	}
	return d
}

func (d *BinDecoder) next() byte {
	d.pos++
	if d.pos <= len(d.in) {
		return d.in[d.pos-1]
	}
	return d.nextMore()
}

// nextMore is next past the bytes at hand: it waits for more of a stream
// still being written.
func (d *BinDecoder) nextMore() byte {
	for d.more != nil && d.pos > len(d.in) {
		d.in, d.more = d.moreOf(len(d.in))
	}
	if d.pos <= len(d.in) {
		return d.in[d.pos-1]
	}
	return 0
}

// moreOf calls d.more and returns the bytes and what to call next time.
func (d *BinDecoder) moreOf(have int) ([]byte, MoreBytes) {
	in, complete := d.more(have)
	if complete {
		return in, nil
	}
	return in, d.more
}

// Len is the length of the whole stream; for a stream still being
// written it waits for the end.
func (d *BinDecoder) Len() int {
	for d.more != nil {
		d.in, d.more = d.moreOf(len(d.in))
	}
	return len(d.in)
}

// Decode returns the next bit, coded under p1 = P(bit = 1) · 4096.
func (d *BinDecoder) Decode(p1 int32) int {
	mid := split(d.x1, d.x2, uint32(p1))
	bit := 0
	if d.x <= mid {
		bit = 1
		d.x2 = mid
	} else {
		d.x1 = mid + 1
	}
	for (d.x1^d.x2)&0xFF000000 == 0 {
		d.x1 <<= 8
		d.x2 = d.x2<<8 | 0xFF
		d.x = d.x<<8 | uint32(d.next())
	}
	return bit
}

// Used is the number of input bytes the bits decoded so far span: the
// encoder's last byte is read as the decoder's fourth-last. Once every bit
// of a valid stream is decoded, Used is the length of the input.
func (d *BinDecoder) Used() int { return d.pos - 3 }
