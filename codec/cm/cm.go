// Package cm holds ZPNG's context-mixing methods: cm and cm1, which code a
// whole file, and hybrid2 and hybrid1, which mix an outside model's byte
// predictions into the same context-mixing model (FORMAT.md sections 10
// and 12). The bits are coded with the binary arithmetic coder of package
// entropy.
package cm

import (
	"fmt"
	"io"

	"zpng/codec"
	"zpng/codec/entropy"
)

// Methods cm and cm1: the model (model.go) predicts every bit and the
// binary arithmetic coder codes it. The payload is the coder's bytes and
// nothing else; the model's tables are sized by the original size, which
// the container declares.

// maxRatio bounds the original size by the payload: a bit costs at least
// log2(4096/4095) bits, so n bytes need more than n/2900 payload bytes. The
// decoder refuses more than this, which bounds its work by the payload.
const maxRatio = 4096

func sizeFits(payload int, n int64) bool {
	return n <= maxRatio*(int64(payload)+8)
}

type writer struct {
	w     io.Writer
	size  int64
	done  int64
	m     *model
	enc   *entropy.BinEncoder
	err   error
	close bool
}

// NewCompressor returns a writer that compresses into w with method m, cm
// or cm1; size is the number of bytes that will be written (it sizes the
// model). Close flushes the end of the stream.
func NewCompressor(m codec.Method, w io.Writer, size int64) (io.WriteCloser, error) {
	if err := checkCM(m); err != nil {
		return nil, err
	}
	c := &writer{w: w, size: size, enc: entropy.NewBinEncoder()}
	if size > 0 {
		c.m = newModel(m, size)
	}
	return c, nil
}

// checkCM refuses a method other than cm and cm1.
func checkCM(m codec.Method) error {
	if m != codec.MethodCM && m != codec.MethodCM1 {
		return fmt.Errorf("%w: %s is not a cm method", codec.ErrUnsupportedMethod, m)
	}
	return nil
}

func (c *writer) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.close {
		return 0, fmt.Errorf("cm: write after close")
	}
	if int64(len(p)) > c.size-c.done {
		c.err = fmt.Errorf("cm: more than the declared %d bytes", c.size)
		return 0, c.err
	}
	m, e := c.m, c.enc
	for _, b := range p {
		for i := 7; i >= 0; i-- {
			bit := int(b>>uint(i)) & 1
			e.Encode(bit, m.pr)
			m.update(bit)
		}
		if e.Len() >= 1<<16 {
			if _, err := e.WriteTo(c.w); err != nil {
				c.err = err
				return 0, err
			}
		}
	}
	c.done += int64(len(p))
	return len(p), nil
}

func (c *writer) Close() error {
	if c.err != nil || c.close {
		return c.err
	}
	c.close = true
	if c.done != c.size {
		c.err = fmt.Errorf("cm: %d bytes written of the declared %d", c.done, c.size)
		return c.err
	}
	if c.size > 0 {
		c.enc.Finish()
	}
	_, c.err = c.enc.WriteTo(c.w)
	c.m = nil
	return c.err
}

type reader struct {
	m    *model
	dec  *entropy.BinDecoder
	n    int   // bytes of payload
	left int64 // bytes yet to decode
}

// NewDecompressor returns a reader of the original bytes of a payload of
// method m, cm or cm1. It yields exactly size bytes, or an error wrapping
// codec.ErrCorrupt if the payload holds more or fewer; its work is bounded
// by the payload.
func NewDecompressor(m codec.Method, payload []byte, size int64) (io.ReadCloser, error) {
	if err := checkCM(m); err != nil {
		return nil, err
	}
	if size == 0 {
		if len(payload) != 0 {
			return nil, fmt.Errorf("%w: cm payload of %d bytes for an empty file", codec.ErrCorrupt, len(payload))
		}
		return &reader{}, nil
	}
	if !sizeFits(len(payload), size) {
		return nil, fmt.Errorf("%w: cm payload of %d bytes cannot hold %d bytes", codec.ErrCorrupt, len(payload), size)
	}
	return &reader{m: newModel(m, size), dec: entropy.NewBinDecoder(payload), n: len(payload), left: size}, nil
}

func (r *reader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	m, d := r.m, r.dec
	for i := range p {
		c := 0
		for k := 0; k < 8; k++ {
			bit := d.Decode(m.pr)
			m.update(bit)
			c = c<<1 | bit
		}
		p[i] = byte(c)
	}
	r.left -= int64(len(p))
	if r.left == 0 {
		r.m = nil
		if d.Used() != r.n {
			return len(p), fmt.Errorf("%w: cm payload has %d bytes, the data used %d", codec.ErrCorrupt, r.n, d.Used())
		}
	}
	return len(p), nil
}

func (r *reader) Close() error { r.m = nil; return nil }
