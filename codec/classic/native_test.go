//go:build cgo && !windows

package classic

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ulikunitz/xz/lzma"

	"zpng/codec"
	"zpng/codec/internal/sample"
)

// encoders and decoders of both kinds, for the cross round trips.
var (
	zstdEncoders = map[string]func(io.Writer, int64) (io.WriteCloser, error){"libzstd": nativeZstdWriter, "go": goZstdWriter}
	xzEncoders   = map[string]func(io.Writer, int64) (io.WriteCloser, error){"liblzma": nativeXzWriter, "go": goXzWriter}
	zstdDecoders = map[string]func([]byte, int64) (io.ReadCloser, error){"libzstd": nativeZstdReader, "go": goZstdReader}
	xzDecoders   = map[string]func([]byte, int64) (io.ReadCloser, error){"liblzma": nativeXzReader, "go": goXzReader}
)

func encodeWith(t *testing.T, enc func(io.Writer, int64) (io.WriteCloser, error), src []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := enc(&buf, int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	// In pieces, as core writes: the output must not depend on them.
	for p := src; len(p) > 0; p = p[min(len(p), 1000):] {
		if _, err := w.Write(p[:min(len(p), 1000)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeWith decodes a payload of method m with the given reader of its
// stream, through the same exact-size check as NewDecompressor.
func decodeWith(m codec.Method, zdec func([]byte, int64) (io.ReadCloser, error), xdec func([]byte, int64) (io.ReadCloser, error), payload []byte, n int64) ([]byte, error) {
	saveZ, saveX := newZstdReader, newXzReader
	defer func() { newZstdReader, newXzReader = saveZ, saveX }()
	newZstdReader, newXzReader = zdec, xdec
	return decompress(m, payload, n)
}

// TestCrossRoundTrip: streams made by the C libraries decode with the Go
// ports (so an older zpng restores new images), and the other way round.
func TestCrossRoundTrip(t *testing.T) {
	inputs := map[string][]byte{
		"empty":   nil,
		"1 byte":  {42},
		"text":    bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog. "), 300),
		"records": sample.Records(50000),
		"mixed":   sample.Mixed(70000),
		"random":  sample.Random(3, 20000),
	}
	for name, src := range inputs {
		for encName, enc := range zstdEncoders {
			payload := encodeWith(t, enc, src)
			for decName, dec := range zstdDecoders {
				got, err := decodeWith(codec.MethodZstd, dec, goXzReader, payload, int64(len(src)))
				if err != nil || !bytes.Equal(got, src) {
					t.Errorf("%s: zstd by %s, decoded by %s: %d bytes back of %d, %v", name, encName, decName, len(got), len(src), err)
				}
			}
		}
		for encName, enc := range xzEncoders {
			payload := encodeWith(t, enc, src)
			for decName, dec := range xzDecoders {
				got, err := decodeWith(codec.MethodXz, goZstdReader, dec, payload, int64(len(src)))
				if err != nil || !bytes.Equal(got, src) {
					t.Errorf("%s: xz by %s, decoded by %s: %d bytes back of %d, %v", name, encName, decName, len(got), len(src), err)
				}
			}
		}
	}
}

// TestNativeCorrupt: the C decoders refuse a payload cut in half with
// ErrCorrupt, and any error they give on damaged payloads wraps ErrCorrupt.
// (A payload without its last byte, xz's end marker, may still restore the
// original, as with the Go ports: the container's SHA-256 is the check.)
func TestNativeCorrupt(t *testing.T) {
	src := sample.Mixed(20000)
	for _, m := range []codec.Method{codec.MethodZstd, codec.MethodXz} {
		payload := compress(t, m, src)
		if _, err := decompress(m, payload[:len(payload)/2], int64(len(src))); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s: half a payload: %v, want ErrCorrupt", m, err)
		}
		for _, bad := range [][]byte{payload[:len(payload)-1], flip(payload, len(payload)/2), flip(payload, 3)} {
			if _, err := decompress(m, bad, int64(len(src))); err != nil && !errors.Is(err, codec.ErrCorrupt) {
				t.Errorf("%s: %v, want ErrCorrupt", m, err)
			}
		}
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x55
	return c
}

// TestXzCandidates: text gets xz's default settings alone; a table of
// 16-byte records also gets lp = pb = 4.
func TestXzCandidates(t *testing.T) {
	if c := xzCandidates(bytes.Repeat([]byte("plain text\n"), 1000)); len(c) != 1 || c[0] != xzDefault {
		t.Errorf("text: candidates %v", c)
	}
	c := xzCandidates(sample.Records(100000))
	if len(c) != 3 || c[2] != (lzmaProps{0, 4, 4}) {
		t.Errorf("16-byte records: candidates %v", c)
	}
}

// TestXzSampleTrial: over xzTrialLimit, the candidate that codes the sample
// best codes the whole input, and the stream decodes with the Go port.
func TestXzSampleTrial(t *testing.T) {
	defer func(n int) { xzTrialLimit = n }(xzTrialLimit)
	xzTrialLimit = 1 << 16
	src := append(sample.Records(xzSample), sample.Mixed(100000)...)
	payload := compress(t, codec.MethodXz, src)
	got, err := decodeWith(codec.MethodXz, goZstdReader, goXzReader, payload, int64(len(src)))
	if err != nil || !bytes.Equal(got, src) {
		t.Fatalf("%d bytes back of %d, %v", len(got), len(src), err)
	}
	code := lzma.EncodeDictCap(xzDictCap(int64(len(src))))
	dict, _ := lzma.DecodeDictCap(code)
	want, err := xzEncodeWith(src, uint32(dict), lzmaProps{0, 4, 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(payload) != 1+len(want) {
		t.Errorf("%d bytes, want %d: those of lc/lp/pb 0/4/4, the best on the records", len(payload), 1+len(want))
	}
}

// TestAgainstTools: on binary files of this machine and a table of records,
// the xz and zstd methods are no bigger than `xz -9e` and `zstd -19 --long`
// plus 0.5% and a constant for the container's framing.
func TestAgainstTools(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: compresses with the strongest settings")
	}
	for _, tool := range []string{"xz", "zstd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s command: %v", tool, err)
		}
	}
	const limit = 1 << 20 // the first MiB of each file
	files := map[string][]byte{"records": sample.Records(184320), "mixed": sample.Mixed(limit)}
	for name, pattern := range map[string]string{
		"ELF library": "/usr/lib/x86_64-linux-gnu/liblzma.so.*",
		"font":        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
		"sqlite db":   "/usr/share/proj/proj.db",
	} {
		m, _ := filepath.Glob(pattern)
		if len(m) == 0 {
			t.Logf("%s: no file %s here", name, pattern)
			continue
		}
		b, err := os.ReadFile(m[0])
		if err != nil {
			t.Fatal(err)
		}
		files[name+" "+filepath.Base(m[0])] = b[:min(len(b), limit)]
	}
	dir := t.TempDir()
	for name, src := range files {
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			m    codec.Method
			tool []string
		}{
			{codec.MethodXz, []string{"xz", "-9e", "-T1", "-c", path}},
			{codec.MethodZstd, []string{"zstd", "-19", "--long", "-q", "-c", path}},
		} {
			out, err := exec.Command(c.tool[0], c.tool[1:]...).Output()
			if err != nil {
				t.Fatalf("%v: %v", c.tool, err)
			}
			ours := len(compress(t, c.m, src))
			t.Logf("%s (%d bytes): %s %d, %s %d", name, len(src), c.m, ours, c.tool[0], len(out))
			if ours > len(out)+len(out)/200+16 {
				t.Errorf("%s (%d bytes): %s makes %d bytes, %s %d", name, len(src), c.m, ours, c.tool[:2], len(out))
			}
		}
	}
}

// nativeGolden are the SHA-256 of the payloads that the C libraries of
// goldenLibraries make of the golden inputs. Other versions of the
// libraries may make other, equally valid streams.
const goldenLibraries = "liblzma 5.4.1, libzstd 1.5.4"

var nativeGolden = map[string]string{
	"xz mixed":     "be0e0554e2e87f846598618b41094c4e4561910ba4fe098ec7909accd981d58f",
	"xz records":   "3535a35e1eb617aee3b223603e84b198fb0eee67cad476ffb62d557c5175339b",
	"zstd mixed":   "b22b2fb675e35c7aa4f23f1cff65e4ec47481037f14c45f3a9f35403db29e3c2",
	"zstd records": "462b4e2777615a1b151726921872de262810b37a0e2f5a8ef98c8ae4eb4f709b",
}

// TestNativeGolden: with the library versions they were made with, the
// same input gives the same payload bytes.
func TestNativeGolden(t *testing.T) {
	if v := LibraryVersions(); v != goldenLibraries {
		t.Skipf("libraries %s, golden payloads by %s", v, goldenLibraries)
	}
	inputs := map[string][]byte{"mixed": sample.Mixed(100000), "records": sample.Records(50000)}
	for name, src := range inputs {
		for _, m := range []codec.Method{codec.MethodXz, codec.MethodZstd} {
			key := m.String() + " " + name
			sum := sha256.Sum256(compress(t, m, src))
			if got := hex.EncodeToString(sum[:]); got != nativeGolden[key] {
				t.Errorf("%s: payload SHA-256 %s, want %s", key, got, nativeGolden[key])
			}
		}
	}
}
