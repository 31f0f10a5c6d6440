//go:build cgo && !windows

package classic

/*
#cgo pkg-config: liblzma libzstd
#include <stdint.h>
#include <stdlib.h>
#include <lzma.h>
#include <zstd.h>
#include <zstd_errors.h>

// zp_xz_encode makes a raw LZMA2 stream of in with preset 9e, dictionary
// dict and literal/position bits lc, lp, pb; *outlen is the room in out on
// entry and the stream's length on return.
static int zp_xz_encode(const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen,
		uint32_t dict, uint32_t lc, uint32_t lp, uint32_t pb) {
	lzma_options_lzma opt;
	if (lzma_lzma_preset(&opt, 9 | LZMA_PRESET_EXTREME))
		return LZMA_OPTIONS_ERROR;
	opt.dict_size = dict;
	opt.lc = lc;
	opt.lp = lp;
	opt.pb = pb;
	lzma_filter f[2] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
	size_t pos = 0;
	lzma_ret ret = lzma_raw_buffer_encode(f, NULL, in, inlen, out, &pos, *outlen);
	*outlen = pos;
	return ret;
}

// zp_xz_decoder starts a raw LZMA2 decoder with a dictionary of dict bytes.
static lzma_stream *zp_xz_decoder(uint32_t dict, int *ret) {
	lzma_options_lzma opt;
	lzma_lzma_preset(&opt, 6);
	opt.dict_size = dict;
	lzma_filter f[2] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
	lzma_stream *s = malloc(sizeof *s);
	if (s == NULL) {
		*ret = LZMA_MEM_ERROR;
		return NULL;
	}
	lzma_stream init = LZMA_STREAM_INIT;
	*s = init;
	*ret = lzma_raw_decoder(s, f);
	if (*ret != LZMA_OK) {
		free(s);
		return NULL;
	}
	return s;
}

// zp_xz_decode decodes from in into out and says how much of each it used;
// the stream keeps no pointer to either.
static int zp_xz_decode(lzma_stream *s, const uint8_t *in, size_t inlen, size_t *inused,
		uint8_t *out, size_t outlen, size_t *outused) {
	s->next_in = in;
	s->avail_in = inlen;
	s->next_out = out;
	s->avail_out = outlen;
	lzma_ret ret = lzma_code(s, LZMA_RUN);
	*inused = inlen - s->avail_in;
	*outused = outlen - s->avail_out;
	s->next_in = NULL;
	s->avail_in = 0;
	s->next_out = NULL;
	s->avail_out = 0;
	return ret;
}

static void zp_xz_end(lzma_stream *s) {
	lzma_end(s);
	free(s);
}

// zp_zstd_encode compresses in into one frame at level with long-distance
// matching, a window of 2^wlog bytes, the content size and no checksum;
// *outlen is the room in out on entry and the frame's length on return.
static size_t zp_zstd_encode(const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen,
		int level, int wlog) {
	ZSTD_CCtx *c = ZSTD_createCCtx();
	if (c == NULL)
		return (size_t)-ZSTD_error_memory_allocation;
	size_t r = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog);
	if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(c, ZSTD_c_enableLongDistanceMatching, 1);
	if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
	if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1);
	if (!ZSTD_isError(r)) r = ZSTD_compress2(c, out, *outlen, in, inlen);
	ZSTD_freeCCtx(c);
	*outlen = ZSTD_isError(r) ? 0 : r;
	return r;
}

// zp_zstd_decoder starts a decoder that refuses windows over 2^wlog bytes.
static ZSTD_DCtx *zp_zstd_decoder(int wlog) {
	ZSTD_DCtx *d = ZSTD_createDCtx();
	if (d != NULL && ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, wlog))) {
		ZSTD_freeDCtx(d);
		return NULL;
	}
	return d;
}

// zp_zstd_decode decodes from in into out and says how much of each it used.
static size_t zp_zstd_decode(ZSTD_DCtx *d, const uint8_t *in, size_t inlen, size_t *inused,
		uint8_t *out, size_t outlen, size_t *outused) {
	ZSTD_inBuffer ib = {in, inlen, 0};
	ZSTD_outBuffer ob = {out, outlen, 0};
	size_t r = ZSTD_decompressStream(d, &ob, &ib);
	*inused = ib.pos;
	*outused = ob.pos;
	return r;
}

static int zp_zstd_is_error(size_t r) { return ZSTD_isError(r); }
static const char *zp_zstd_error(size_t r) { return ZSTD_getErrorName(r); }
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unsafe"

	"github.com/ulikunitz/xz/lzma"

	"zpng/codec"
)

// Native says whether zstd and xz run through the C libraries libzstd and
// liblzma (a cgo build other than for Windows) or through the Go ports.
const Native = true

var (
	newZstdWriter = nativeZstdWriter
	newXzWriter   = nativeXzWriter
	newZstdReader = nativeZstdReader
	newXzReader   = nativeXzReader
)

// LibraryVersions names the versions of liblzma and libzstd in use; the bytes
// of the xz and zstd methods depend on them.
func LibraryVersions() string {
	return "liblzma " + C.GoString(C.lzma_version_string()) + ", libzstd " + C.GoString(C.ZSTD_versionString())
}

// zstdLevel is libzstd's strongest level.
const zstdLevel = 22

// bufferWriter collects everything written and compresses it on Close: the
// whole input in one call makes the output independent of how it was written.
type bufferWriter struct {
	w        io.Writer
	buf      []byte
	compress func([]byte) ([]byte, error)
}

var errClosed = errors.New("classic: write after Close")

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.compress == nil {
		return 0, errClosed
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *bufferWriter) Close() error {
	if b.compress == nil {
		return nil
	}
	out, err := b.compress(b.buf)
	b.buf, b.compress = nil, nil
	if err != nil {
		return err
	}
	_, err = b.w.Write(out)
	return err
}

func newBufferWriter(w io.Writer, size int64, compress func([]byte) ([]byte, error)) *bufferWriter {
	return &bufferWriter{w: w, buf: make([]byte, 0, max(0, min(size, 1<<30))), compress: compress}
}

// nativeZstdWriter compresses size bytes into one zstd frame with libzstd.
func nativeZstdWriter(w io.Writer, size int64) (io.WriteCloser, error) {
	return newBufferWriter(w, size, zstdEncode), nil
}

func zstdEncode(src []byte) ([]byte, error) {
	wlog := bits.TrailingZeros(uint(zstdWindow(int64(len(src)))))
	out := make([]byte, int(C.ZSTD_compressBound(C.size_t(len(src)))))
	n := C.size_t(len(out))
	r := C.zp_zstd_encode(bytesPtr(src), C.size_t(len(src)), bytesPtr(out), &n, zstdLevel, C.int(wlog))
	if C.zp_zstd_is_error(r) != 0 {
		return nil, fmt.Errorf("libzstd: %s", C.GoString(C.zp_zstd_error(r)))
	}
	return out[:n], nil
}

// nativeXzWriter writes the dictionary-size code and then a raw LZMA2 stream
// made by liblzma with the best of the literal/position settings that
// xzCandidates proposes.
func nativeXzWriter(w io.Writer, size int64) (io.WriteCloser, error) {
	return newBufferWriter(w, size, xzEncode), nil
}

func xzEncode(src []byte) ([]byte, error) {
	code := lzma.EncodeDictCap(xzDictCap(int64(len(src))))
	dict, _ := lzma.DecodeDictCap(code)
	c := xzCandidates(src)
	if len(c) > 1 && len(src) > xzTrialLimit {
		// Each candidate codes the sample; the best codes the whole.
		_, p, err := xzSmallest(src[:xzSample], uint32(dict), c)
		if err != nil {
			return nil, err
		}
		c = []lzmaProps{p}
	}
	best, _, err := xzSmallest(src, uint32(dict), c)
	if err != nil {
		return nil, err
	}
	return append([]byte{code}, best...), nil
}

// xzTrialLimit is the largest input that every xz candidate codes whole (a
// variable for the tests).
var xzTrialLimit = 16 << 20

// xzSmallest codes src with each of the candidates and returns the
// smallest stream, the first of equals, and its settings.
func xzSmallest(src []byte, dict uint32, c []lzmaProps) ([]byte, lzmaProps, error) {
	var best []byte
	var bestProps lzmaProps
	for _, p := range c {
		out, err := xzEncodeWith(src, dict, p)
		if err != nil {
			return nil, p, err
		}
		if best == nil || len(out) < len(best) {
			best, bestProps = out, p
		}
	}
	return best, bestProps, nil
}

// xzEncodeWith makes a raw LZMA2 stream of src with liblzma.
func xzEncodeWith(src []byte, dict uint32, p lzmaProps) ([]byte, error) {
	// LZMA2 stores incompressible data in chunks of at most 64 KiB, each
	// with a 3-byte header; the stream ends with one more byte.
	out := make([]byte, len(src)+3*(len(src)>>16+1)+1+1024)
	n := C.size_t(len(out))
	ret := C.zp_xz_encode(bytesPtr(src), C.size_t(len(src)), bytesPtr(out), &n,
		C.uint32_t(dict), C.uint32_t(p.lc), C.uint32_t(p.lp), C.uint32_t(p.pb))
	if ret != C.LZMA_OK {
		return nil, fmt.Errorf("liblzma: encoder error %d", int(ret))
	}
	return out[:n], nil
}

// bytesPtr points at the first byte of b, or is nil for an empty b.
func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// nativeReader runs a streaming C decoder over a payload held in Go memory.
type nativeReader struct {
	in     []byte
	done   bool // the decoder has reached the end of the stream
	decode func(in, out []byte) (inUsed, outUsed int, end bool, err error)
	end    func()
}

func (r *nativeReader) Read(p []byte) (int, error) {
	for !r.done {
		if len(p) == 0 {
			return 0, nil
		}
		used, n, end, err := r.decode(r.in, p)
		r.in = r.in[used:]
		r.done = end
		if err != nil {
			return n, fmt.Errorf("%w: %v", codec.ErrCorrupt, err)
		}
		if n > 0 {
			return n, nil
		}
		if used == 0 && !end {
			return 0, io.ErrUnexpectedEOF
		}
	}
	return 0, io.EOF
}

func (r *nativeReader) Close() error {
	if r.end != nil {
		r.end()
		r.end = nil
	}
	return nil
}

// nativeZstdReader decodes a zstd payload of a file of n bytes with libzstd.
func nativeZstdReader(payload []byte, n int64) (io.ReadCloser, error) {
	wlog := bits.TrailingZeros(uint(zstdMaxWindow(n)))
	d := C.zp_zstd_decoder(C.int(wlog))
	if d == nil {
		return nil, errors.New("libzstd: cannot start a decoder")
	}
	return &nativeReader{
		in: payload,
		decode: func(in, out []byte) (int, int, bool, error) {
			var inUsed, outUsed C.size_t
			r := C.zp_zstd_decode(d, bytesPtr(in), C.size_t(len(in)), &inUsed, bytesPtr(out), C.size_t(len(out)), &outUsed)
			if C.zp_zstd_is_error(r) != 0 {
				return int(inUsed), int(outUsed), true, fmt.Errorf("zstd payload: %s", C.GoString(C.zp_zstd_error(r)))
			}
			// r == 0: a frame is complete; further bytes would start another.
			return int(inUsed), int(outUsed), r == 0 && int(inUsed) == len(in), nil
		},
		end: func() { C.ZSTD_freeDCtx(d) },
	}, nil
}

// nativeXzReader decodes a raw LZMA2 stream with liblzma.
func nativeXzReader(stream []byte, dict int64) (io.ReadCloser, error) {
	var ret C.int
	s := C.zp_xz_decoder(C.uint32_t(dict), &ret)
	if s == nil {
		return nil, fmt.Errorf("liblzma: cannot start a decoder (error %d)", int(ret))
	}
	return &nativeReader{
		in: stream,
		decode: func(in, out []byte) (int, int, bool, error) {
			var inUsed, outUsed C.size_t
			ret := C.zp_xz_decode(s, bytesPtr(in), C.size_t(len(in)), &inUsed, bytesPtr(out), C.size_t(len(out)), &outUsed)
			switch ret {
			case C.LZMA_OK:
				return int(inUsed), int(outUsed), false, nil
			case C.LZMA_STREAM_END:
				return int(inUsed), int(outUsed), true, nil
			case C.LZMA_BUF_ERROR:
				return int(inUsed), int(outUsed), false, nil
			}
			return int(inUsed), int(outUsed), true, fmt.Errorf("xz payload: liblzma error %d", int(ret))
		},
		end: func() { C.zp_xz_end(s) },
	}, nil
}
