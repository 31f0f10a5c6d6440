// Package cm holds ZPNG's context-mixing methods: cm, cm3, cm2 and cm1,
// which code a whole file, and hybrid2 and hybrid1, which mix an outside model's byte
// predictions into the same context-mixing model (FORMAT.md sections 10
// and 12). The bits are coded with the binary arithmetic coder of package
// entropy.
package cm

import (
	"fmt"
	"io"
	"math"

	"zpng/codec"
	"zpng/codec/entropy"
)

// Methods cm, cm3, cm2 and cm1: the model (model4.go for cm, model3.go for
// cm3, model.go for the others) predicts every bit and the binary
// arithmetic coder codes it. The payload is the coder's bytes and nothing
// else; the model's tables are sized by the original size, which the
// container declares, and the profile and filter of methods cm and cm3 are
// in the header flags (flags.go).

// maxRatio bounds the original size by the payload: a bit costs at least
// log2(4096/4095) bits, so n bytes need more than n/2900 payload bytes. The
// decoder refuses more than this, which bounds its work by the payload.
const maxRatio = 4096

func sizeFits(payload int, n int64) bool {
	return n <= maxRatio*(int64(payload)+8)
}

// A predictor is a model of one of the revisions: p is the probability
// that the next bit is 1, in 12 bits, and update learns the coded bit.
// release returns its tables to their pools once it is done with.
type predictor interface {
	p() int32
	update(bit int)
	release()
}

func (m *model) p() int32 { return m.pr }

func (m *model) release() { releaseModel(m.stage, m.tabs[:], m.t1Tab, m.w) }

// releaseModel returns a model's last stage, hashed tables, order-1
// counters and first-layer weights to their pools.
func releaseModel(s stage, tabs []*table[slot], t1 *table[uint32], w [][]int32) {
	s.release()
	for _, t := range tabs {
		t.release()
	}
	t1.release()
	for _, ws := range w {
		releaseWeights(ws)
	}
}

// newPredictor returns the model of method m with header flags for an
// input of n > 0 bytes, its first bit predicted.
func newPredictor(m codec.Method, flags uint16, n int64) predictor {
	switch m {
	case codec.MethodCM:
		return newModel4(n, profile(flags&flagProfile))
	case codec.MethodCM3:
		return newModel3(n, profile(flags&flagProfile))
	}
	return newModel(m, n)
}

type writer struct {
	w      io.Writer
	size   int64
	done   int64
	m      predictor
	filter *x86Filter
	buf    []byte
	enc    *entropy.BinEncoder
	err    error
	close  bool
}

// NewCompressor returns a writer that compresses into w with method m (cm,
// cm3, cm2 or cm1) and header flags 0; size is the number of bytes that will be
// written (it sizes the model). Close flushes the end of the stream.
func NewCompressor(m codec.Method, w io.Writer, size int64) (io.WriteCloser, error) {
	return NewFlagCompressor(m, w, size, 0)
}

// NewFlagCompressor is NewCompressor with the header flags of method cm
// or cm3, which Flags chooses from the data.
func NewFlagCompressor(m codec.Method, w io.Writer, size int64, flags uint16) (io.WriteCloser, error) {
	if err := checkCM(m); err != nil {
		return nil, err
	}
	if err := checkFlags(m, flags); err != nil {
		return nil, err
	}
	c := &writer{w: w, size: size, enc: entropy.NewBinEncoder()}
	if size > 0 {
		c.m = newPredictor(m, flags, size)
	}
	if flags&flagX86 != 0 {
		c.filter = &x86Filter{n: size}
	}
	return c, nil
}

// checkCM refuses a method other than cm, cm3, cm2 and cm1.
func checkCM(m codec.Method) error {
	if m != codec.MethodCM && m != codec.MethodCM3 && m != codec.MethodCM2 && m != codec.MethodCM1 {
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
	in := p
	if c.filter != nil {
		c.buf = c.buf[:0]
		for _, b := range p {
			c.buf = c.filter.push(b, c.buf)
		}
		in = c.buf
	}
	m, e := c.m, c.enc
	for _, b := range in {
		for i := 7; i >= 0; i-- {
			bit := int(b>>uint(i)) & 1
			e.Encode(bit, m.p())
			m.update(bit)
		}
		// Small pieces let a reader of the payload (NewStreamDecompressor)
		// follow closely.
		if e.Len() >= 1<<12 {
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
	if c.m != nil {
		c.m.release()
		c.m = nil
	}
	return c.err
}

type reader struct {
	m       predictor
	dec     *entropy.BinDecoder
	filter  *x86Filter
	pending []byte // bytes out of the filter not yet read
	n       int    // bytes of payload
	left    int64  // bytes yet to decode
	out     int64  // bytes yet to read
	err     error  // a corrupt payload, once found
}

// NewDecompressor returns a reader of the original bytes of a payload of
// method m (cm, cm3, cm2 or cm1) with header flags 0. It yields exactly size
// bytes, or an error wrapping codec.ErrCorrupt if the payload holds more or
// fewer; its work is bounded by the payload.
func NewDecompressor(m codec.Method, payload []byte, size int64) (io.ReadCloser, error) {
	return NewFlagDecompressor(m, payload, size, 0)
}

// NewFlagDecompressor is NewDecompressor with the header's flags; flags
// that method m does not define are codec.ErrCorrupt.
func NewFlagDecompressor(m codec.Method, payload []byte, size int64, flags uint16) (io.ReadCloser, error) {
	if err := checkCM(m); err != nil {
		return nil, err
	}
	if err := checkFlags(m, flags); err != nil {
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
	return newReader(m, flags, size, entropy.NewBinDecoder(payload), len(payload)), nil
}

// NewStreamDecompressor is NewFlagDecompressor of a payload that is still
// being written: more gives its bytes as they come (entropy.MoreBytes), so
// that a compressor's output can be checked while it is coded. The payload
// must hold exactly what the data uses, which the reader checks at the end;
// a corrupt one may cost the work of the whole declared size.
func NewStreamDecompressor(m codec.Method, more entropy.MoreBytes, size int64, flags uint16) (io.ReadCloser, error) {
	if err := checkCM(m); err != nil {
		return nil, err
	}
	if err := checkFlags(m, flags); err != nil {
		return nil, err
	}
	if size == 0 {
		if in, _ := more(0); len(in) != 0 { // no bytes only when complete
			return nil, fmt.Errorf("%w: cm payload of %d bytes for an empty file", codec.ErrCorrupt, len(in))
		}
		return &reader{}, nil
	}
	return newReader(m, flags, size, entropy.NewBinStreamDecoder(nil, more), streaming), nil
}

// streaming is reader.n while the payload's length is not known yet.
const streaming = math.MaxInt

func newReader(m codec.Method, flags uint16, size int64, dec *entropy.BinDecoder, n int) *reader {
	r := &reader{m: newPredictor(m, flags, size), dec: dec, n: n, left: size, out: size}
	if flags&flagX86 != 0 {
		r.filter = &x86Filter{n: size, reverse: true}
	}
	return r
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.out == 0 {
		return 0, io.EOF
	}
	if r.m == nil && r.left > 0 {
		return 0, fmt.Errorf("cm: read after close")
	}
	if int64(len(p)) > r.out {
		p = p[:r.out]
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	m, d := r.m, r.dec
	for n < len(p) && r.left > 0 {
		c := 0
		for k := 0; k < 8; k++ {
			bit := d.Decode(m.p())
			m.update(bit)
			c = c<<1 | bit
		}
		r.left--
		// The decoder reads on past a payload's end only in a corrupt one:
		// stop there rather than decode the rest of the declared size.
		if d.Used() > r.n {
			r.done()
			r.err = fmt.Errorf("%w: cm payload of %d bytes ends before the data", codec.ErrCorrupt, r.n)
			return n, r.err
		}
		if r.filter == nil {
			p[n] = byte(c)
			n++
			continue
		}
		r.pending = r.filter.push(byte(c), r.pending)
		k := copy(p[n:], r.pending)
		n += k
		r.pending = r.pending[k:]
	}
	r.out -= int64(n)
	if r.left == 0 && r.m != nil {
		r.done()
		if r.n == streaming {
			r.n = d.Len()
		}
		if d.Used() != r.n {
			return n, fmt.Errorf("%w: cm payload has %d bytes, the data used %d", codec.ErrCorrupt, r.n, d.Used())
		}
	}
	return n, nil
}

func (r *reader) Close() error { r.done(); return nil }

// done releases the model, which decodes no more.
func (r *reader) done() {
	if r.m != nil {
		r.m.release()
		r.m = nil
	}
}
