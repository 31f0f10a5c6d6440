package sample

import (
	"bytes"
	"io"
	"testing"
)

// Compress codes src with method m through newCompressor, a codec
// package's NewCompressor, and returns the payload.
func Compress[M any](t testing.TB, newCompressor func(M, io.Writer, int64) (io.WriteCloser, error), m M, src []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := newCompressor(m, &buf, int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(src); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Decompress decodes the n bytes of payload through newDecompressor, a
// codec package's NewDecompressor.
func Decompress[M any](newDecompressor func(M, []byte, int64) (io.ReadCloser, error), m M, payload []byte, n int64) ([]byte, error) {
	r, err := newDecompressor(m, payload, n)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
