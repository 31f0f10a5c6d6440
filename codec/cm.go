package codec

import (
	"fmt"
	"io"
)

// Method cm: a context-mixing model (cm_model.go) predicts every bit and a
// binary arithmetic coder (cm_coder.go) codes it. The payload is the
// coder's bytes and nothing else; the model's tables are sized by the
// original size, which the container declares.

// cmMaxRatio bounds the original size by the payload: a bit costs at least
// log2(4096/4095) bits, so n bytes need more than n/2900 payload bytes. The
// decoder refuses more than this, which bounds its work by the payload.
const cmMaxRatio = 4096

func cmSizeFits(payload int, n int64) bool {
	return n <= cmMaxRatio*(int64(payload)+8)
}

type cmWriter struct {
	w     io.Writer
	size  int64
	done  int64
	m     *cmModel
	enc   *binEncoder
	err   error
	close bool
}

func newCMWriter(w io.Writer, size int64, v2 bool) *cmWriter {
	c := &cmWriter{w: w, size: size, enc: newBinEncoder()}
	if size > 0 {
		c.m = newCMModel(size, v2)
	}
	return c
}

func (c *cmWriter) Write(p []byte) (int, error) {
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
			e.encode(bit, m.pr)
			m.update(bit)
		}
		if len(e.out) >= 1<<16 {
			if _, err := c.w.Write(e.out); err != nil {
				c.err = err
				return 0, err
			}
			e.out = e.out[:0]
		}
	}
	c.done += int64(len(p))
	return len(p), nil
}

func (c *cmWriter) Close() error {
	if c.err != nil || c.close {
		return c.err
	}
	c.close = true
	if c.done != c.size {
		c.err = fmt.Errorf("cm: %d bytes written of the declared %d", c.done, c.size)
		return c.err
	}
	if c.size > 0 {
		c.enc.finish()
	}
	_, c.err = c.w.Write(c.enc.out)
	c.m = nil
	return c.err
}

type cmReader struct {
	m    *cmModel
	dec  *binDecoder
	left int64
}

func newCMReader(payload []byte, size int64, v2 bool) (io.ReadCloser, error) {
	if size == 0 {
		if len(payload) != 0 {
			return nil, fmt.Errorf("%w: cm payload of %d bytes for an empty file", ErrCorrupt, len(payload))
		}
		return &cmReader{}, nil
	}
	if !cmSizeFits(len(payload), size) {
		return nil, fmt.Errorf("%w: cm payload of %d bytes cannot hold %d bytes", ErrCorrupt, len(payload), size)
	}
	return &cmReader{m: newCMModel(size, v2), dec: newBinDecoder(payload), left: size}, nil
}

func (r *cmReader) Read(p []byte) (int, error) {
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
			bit := d.decode(m.pr)
			m.update(bit)
			c = c<<1 | bit
		}
		p[i] = byte(c)
	}
	r.left -= int64(len(p))
	if r.left == 0 {
		r.m = nil
		// The encoder's last byte is read as the decoder's fourth-last.
		if d.pos != len(d.in)+3 {
			return len(p), fmt.Errorf("%w: cm payload has %d bytes, the data used %d", ErrCorrupt, len(d.in), d.pos-3)
		}
	}
	return len(p), nil
}

func (r *cmReader) Close() error { r.m = nil; return nil }
