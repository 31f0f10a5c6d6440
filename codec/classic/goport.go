package classic

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz/lzma"

	"zpng/codec"
)

// The Go ports of zstd and xz: the encoders of a build without cgo, and
// decoders that any build may use.

// goZstdWriter compresses size bytes into one zstd frame with
// github.com/klauspost/compress/zstd.
func goZstdWriter(w io.Writer, size int64) (io.WriteCloser, error) {
	return zstd.NewWriter(w,
		zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithWindowSize(zstdWindow(size)),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false)) // the container checks the data
}

// goXzWriter writes the dictionary-size code and then a raw LZMA2 stream
// made by github.com/ulikunitz/xz/lzma.
func goXzWriter(w io.Writer, size int64) (io.WriteCloser, error) {
	code := lzma.EncodeDictCap(xzDictCap(size))
	dict, _ := lzma.DecodeDictCap(code)
	if _, err := w.Write([]byte{code}); err != nil {
		return nil, err
	}
	return lzma.Writer2Config{
		Properties: &lzma.Properties{LC: 3, LP: 0, PB: 2},
		DictCap:    int(dict),
		Matcher:    lzma.HashTable4, // its BinaryTree matcher compresses worse and far slower
	}.NewWriter2(w)
}

// goZstdReader decodes a zstd payload of a file of n bytes.
func goZstdReader(payload []byte, n int64) (io.ReadCloser, error) {
	win := uint64(zstdMaxWindow(n))
	d, err := zstd.NewReader(bytes.NewReader(payload),
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(win),
		zstd.WithDecoderMaxMemory(win))
	if err != nil {
		return nil, fmt.Errorf("%w: zstd payload: %v", codec.ErrCorrupt, err)
	}
	return d.IOReadCloser(), nil
}

// goXzReader decodes a raw LZMA2 stream with a dictionary of dict bytes.
func goXzReader(stream []byte, dict int64) (io.ReadCloser, error) {
	r, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(bytes.NewReader(stream))
	if err != nil {
		return nil, fmt.Errorf("%w: xz payload: %v", codec.ErrCorrupt, err)
	}
	return io.NopCloser(r), nil
}
