// Package classic holds ZPNG's classical methods, stored, zstd and xz:
// each turns the original bytes into a DATA section (FORMAT.md section 4).
//
// Built with cgo (but not for Windows, where the cross-compiler has no
// liblzma and libzstd), zstd and xz run through libzstd and liblzma;
// otherwise through the Go ports github.com/klauspost/compress/zstd and
// github.com/ulikunitz/xz. The streams are standard either way, so each
// build decodes what the other makes.
package classic

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz/lzma"

	"zpng/codec"
)

// The classical methods turn the original bytes into a DATA section:
//   stored: the bytes themselves;
//   zstd:   one zstd frame (RFC 8878);
//   xz:     one byte, the LZMA2 dictionary-size code (as in an .xz filter
//           header), then a raw LZMA2 chunk stream ending with an
//           end-of-stream chunk.

const (
	maxZstdWindow = 1 << 27
	maxXzDict     = 1 << 26
	minXzDict     = lzma.MinDictCap
)

// zstdWindow is the zstd window for an input of n bytes: the smallest power
// of two holding it, within the encoder's limits.
func zstdWindow(n int64) int {
	w := zstd.MinWindowSize
	for int64(w) < n && w < maxZstdWindow {
		w <<= 1
	}
	return w
}

// zstdMaxWindow is the largest window a reader accepts for n bytes; it
// bounds the reader's memory.
func zstdMaxWindow(n int64) int {
	return max(zstdWindow(n), 1<<20)
}

// xzDictCap is the LZMA2 dictionary for an input of n bytes.
func xzDictCap(n int64) int64 {
	return min(max(n, minXzDict), maxXzDict)
}

// NewCompressor returns a writer that compresses into w with a classical
// method; size is the number of bytes that will be written (it sizes the
// window). Close flushes the end of the stream. With cgo, zstd and xz run
// through libzstd and liblzma (Native); without, through the Go ports.
func NewCompressor(m codec.Method, w io.Writer, size int64) (io.WriteCloser, error) {
	switch m {
	case codec.MethodStored:
		return nopCloser{w}, nil
	case codec.MethodZstd:
		return newZstdWriter(w, size)
	case codec.MethodXz:
		return newXzWriter(w, size)
	}
	return nil, fmt.Errorf("%w: %s is not a classical method", codec.ErrUnsupportedMethod, m)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// NewDecompressor returns a reader of the original bytes of a classical
// payload. It yields exactly originalSize bytes, or an error wrapping
// codec.ErrCorrupt if the payload holds more or fewer; its memory is bounded by
// originalSize and the payload.
func NewDecompressor(m codec.Method, payload []byte, originalSize int64) (io.ReadCloser, error) {
	switch m {
	case codec.MethodStored:
		if int64(len(payload)) != originalSize {
			return nil, fmt.Errorf("%w: stored payload of %d bytes for a file of %d", codec.ErrCorrupt, len(payload), originalSize)
		}
		return io.NopCloser(bytes.NewReader(payload)), nil
	case codec.MethodZstd:
		r, err := newZstdReader(payload, originalSize)
		if err != nil {
			return nil, err
		}
		return &exactReader{r: r, left: originalSize, what: "zstd"}, nil
	case codec.MethodXz:
		if len(payload) < 1 {
			return nil, fmt.Errorf("%w: empty xz payload", codec.ErrCorrupt)
		}
		dict, err := lzma.DecodeDictCap(payload[0])
		if err != nil || dict > lzmaDictFor(originalSize) {
			return nil, fmt.Errorf("%w: xz dictionary code %d for a file of %d bytes", codec.ErrCorrupt, payload[0], originalSize)
		}
		r, err := newXzReader(payload[1:], dict)
		if err != nil {
			return nil, err
		}
		return &exactReader{r: r, left: originalSize, what: "xz"}, nil
	}
	return nil, fmt.Errorf("%w: %s is not a classical method", codec.ErrUnsupportedMethod, m)
}

// lzmaDictFor is the largest dictionary a writer may have chosen for n bytes.
func lzmaDictFor(n int64) int64 {
	d, _ := lzma.DecodeDictCap(lzma.EncodeDictCap(xzDictCap(n)))
	return d
}

// exactReader passes on exactly left bytes and then insists the source ends.
type exactReader struct {
	r    io.ReadCloser
	left int64
	what string
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left == 0 {
		var b [1]byte
		n, err := io.ReadFull(e.r, b[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: %s payload is longer than the original size", codec.ErrCorrupt, e.what)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, io.EOF
		}
		return 0, e.wrap(err)
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF {
		if e.left > 0 {
			return n, fmt.Errorf("%w: %s payload is %d bytes short", codec.ErrCorrupt, e.what, e.left)
		}
		err = nil
	}
	return n, e.wrap(err)
}

func (e *exactReader) wrap(err error) error {
	if err == nil || errors.Is(err, codec.ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w: %s payload: %v", codec.ErrCorrupt, e.what, err)
}

func (e *exactReader) Close() error { return e.r.Close() }
