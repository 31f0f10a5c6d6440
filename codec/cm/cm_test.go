package cm

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"zpng/codec"
	"zpng/codec/classic"
	"zpng/codec/internal/sample"
)

var canterburyDir = filepath.Join("..", "..", "..", "shared", "bench", "canterbury")

func cmCompress(t testing.TB, src []byte) []byte {
	return sample.Compress(t, NewCompressor, codec.MethodCM, src)
}

func cmDecompress(payload []byte, n int64) ([]byte, error) {
	return sample.Decompress(NewDecompressor, codec.MethodCM, payload, n)
}

// checkDamaged requires of the decoding of a damaged payload what the
// container relies on: an error that wraps codec.ErrCorrupt, or bytes other
// than the original src (which the container's SHA-256 then refuses). It
// reports whether the payload decoded without an error.
func checkDamaged(t *testing.T, name string, src, got []byte, err error) bool {
	t.Helper()
	if err != nil {
		if !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s: error %v does not wrap codec.ErrCorrupt", name, err)
		}
		return false
	}
	if bytes.Equal(got, src) {
		t.Errorf("%s: damaged payload decoded to the original", name)
	}
	return true
}

// checkDecoded requires of the decoding of arbitrary bytes an error that
// wraps codec.ErrCorrupt or exactly the n bytes declared. It reports
// whether they decoded.
func checkDecoded(t *testing.T, got []byte, n int64, err error) bool {
	t.Helper()
	if err != nil {
		if !errors.Is(err, codec.ErrCorrupt) {
			t.Fatalf("error %v does not wrap codec.ErrCorrupt", err)
		}
		return false
	}
	if int64(len(got)) != n {
		t.Fatalf("%d bytes for a declared %d", len(got), n)
	}
	return true
}

// flipped returns copies of payload, each with one byte changed: the first,
// the second, the middle and the last.
func flipped(payload []byte) [][]byte {
	var out [][]byte
	for _, i := range []int{0, 1, len(payload) / 2, len(payload) - 1} {
		p := append([]byte(nil), payload...)
		p[i] ^= 0x10
		out = append(out, p)
	}
	return out
}

func cmRoundTrip(t *testing.T, name string, src []byte) []byte {
	t.Helper()
	payload := cmCompress(t, src)
	got, err := cmDecompress(payload, int64(len(src)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !bytes.Equal(got, src) {
		t.Fatalf("%s: round trip differs", name)
	}
	return payload
}

func TestCMRoundTrip(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	random, zeros := sample.Random(11, 1<<20), make([]byte, 1<<20)
	if testing.Short() {
		random, zeros = random[:1<<18], zeros[:1<<18]
	}
	cases := []struct {
		name string
		src  []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0xA5}},
		{"all 256 values", all},
		{"all 256 values twice", append(append([]byte(nil), all...), all...)},
		{"random", random},
		{"text", sample.Mixed(100_000)},
		{"zeros", zeros},
		{"ones", bytes.Repeat([]byte{0xFF}, 70_000)},
		{"period 3", bytes.Repeat([]byte("abc"), 20_000)},
	}
	for _, c := range cases {
		payload := cmRoundTrip(t, c.name, c.src)
		t.Logf("%-20s %8d -> %7d bytes", c.name, len(c.src), len(payload))
		// The most compressible input too stays within the decoder's bound.
		if !sizeFits(len(payload), int64(len(c.src))) {
			t.Errorf("%s: %d bytes coded in %d: beyond the decoder's bound", c.name, len(c.src), len(payload))
		}
		switch c.name {
		case "random":
			// Incompressible: at most a little over the input.
			if len(payload) > len(c.src)+len(c.src)/100 {
				t.Errorf("random: %d bytes for %d", len(payload), len(c.src))
			}
		case "zeros":
			if len(payload) > 2000 {
				t.Errorf("zeros: %d bytes for %d", len(payload), len(c.src))
			}
		case "text":
			if len(payload) > len(c.src)/4 {
				t.Errorf("text: %d bytes for %d, want a quarter at most", len(payload), len(c.src))
			}
		}
	}
}

// TestCMCanterbury round-trips the Canterbury files through the codec API
// and checks that cm is never larger than xz; in -short mode only the files
// under 200 KB.
func TestCMCanterbury(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(canterburyDir, "*"))
	if len(files) == 0 {
		t.Skipf("benchmark folder %s is absent", canterburyDir)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if testing.Short() && len(src) >= 200_000 {
			continue
		}
		payload := cmRoundTrip(t, filepath.Base(f), src)
		var xz bytes.Buffer
		w, _ := classic.NewCompressor(codec.MethodXz, &xz, int64(len(src)))
		w.Write(src)
		w.Close()
		t.Logf("%-14s %8d bytes: cm %.3f bpb, xz %.3f bpb", filepath.Base(f), len(src),
			float64(len(payload)*8)/float64(len(src)), float64(xz.Len()*8)/float64(len(src)))
		if len(payload) > xz.Len() {
			t.Errorf("%s: cm %d bytes, xz %d", filepath.Base(f), len(payload), xz.Len())
		}
	}
}

// TestCMRevisions: methods cm1, cm2 and cm3 (revisions 1 to 3 of the
// model, which zpng still decodes) round-trip, revision 2 codes text
// smaller than revision 1, revision 3 smaller again, and revision 4
// (method cm) smaller again.
func TestCMRevisions(t *testing.T) {
	code := func(m codec.Method, src []byte) []byte {
		var buf bytes.Buffer
		w, _ := NewCompressor(m, &buf, int64(len(src)))
		if _, err := w.Write(src); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := NewDecompressor(m, buf.Bytes(), int64(len(src)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("%s: round trip of %d bytes: %v", m, len(src), err)
		}
		return buf.Bytes()
	}
	// alice29.txt where the benchmark folder lies beside the repository;
	// else English prose every checkout has: the format's specification.
	// (sample.Mixed is no text: it holds binary records and runs, where
	// revision 3 gains less than 0.1%.)
	text, err := os.ReadFile(filepath.Join(canterburyDir, "alice29.txt"))
	if err != nil {
		if text, err = os.ReadFile(filepath.Join("..", "FORMAT.md")); err != nil {
			t.Fatal(err)
		}
	}
	for _, src := range [][]byte{nil, {7}, bytes.Repeat([]byte("abc"), 5000), text} {
		v1, v2, v3 := code(codec.MethodCM1, src), code(codec.MethodCM2, src), code(codec.MethodCM3, src)
		v4 := code(codec.MethodCM, src)
		if len(src) == len(text) {
			t.Logf("%d bytes of text: cm1 %d B, cm2 %d B, cm3 %d B, cm %d B", len(src), len(v1), len(v2), len(v3), len(v4))
			if float64(len(v2)) > 0.95*float64(len(v1)) {
				t.Errorf("revision 2: %d B, revision 1 %d B: want at least 5%% smaller", len(v2), len(v1))
			}
			if float64(len(v3)) > 0.98*float64(len(v2)) {
				t.Errorf("revision 3: %d B, revision 2 %d B: want at least 2%% smaller", len(v3), len(v2))
			}
			if float64(len(v4)) > 0.995*float64(len(v3)) {
				t.Errorf("revision 4: %d B, revision 3 %d B: want at least 0.5%% smaller", len(v4), len(v3))
			}
		}
	}
}

func TestCMWriterSize(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewCompressor(codec.MethodCM, &buf, 10)
	if _, err := w.Write(make([]byte, 11)); err == nil {
		t.Error("writing more than the declared size succeeded")
	}
	w, _ = NewCompressor(codec.MethodCM, &buf, 10)
	w.Write(make([]byte, 9))
	if err := w.Close(); err == nil {
		t.Error("closing short of the declared size succeeded")
	}
}

// TestCMCorrupt: a damaged payload is refused with codec.ErrCorrupt or decodes to
// the declared size (the container's SHA-256 then catches it); never a
// panic.
func TestCMCorrupt(t *testing.T) {
	src := sample.Mixed(20_000)
	payload := cmCompress(t, src)
	n := int64(len(src))

	check := func(name string, p []byte, size int64) {
		t.Helper()
		got, err := cmDecompress(p, size)
		if checkDamaged(t, name, src, got, err) && int64(len(got)) != size {
			t.Errorf("%s: %d bytes for a declared %d", name, len(got), size)
		}
	}
	for _, p := range flipped(payload) {
		check("flipped byte", p, n)
	}
	check("truncated", payload[:len(payload)-1], n)
	check("truncated to half", payload[:len(payload)/2], n)
	check("extra byte", append(append([]byte(nil), payload...), 0), n)

	// The length check catches most cut or extended payloads, but not all:
	// the last bits decoded depend on the last byte, so a cut payload can
	// take another path that reads exactly to its end. Then check has
	// asserted that the output is not the original; the container's
	// SHA-256 refuses it.
	// A declared size the payload cannot hold is refused before decoding.
	if _, err := NewDecompressor(codec.MethodCM, payload[:10], 1<<40); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("10 bytes for 2^40: %v, want codec.ErrCorrupt", err)
	}
	if _, err := NewDecompressor(codec.MethodCM, []byte{1}, 0); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("1 byte for an empty file: %v, want codec.ErrCorrupt", err)
	}
	if _, err := cmDecompress(nil, 5); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("empty payload for 5 bytes: %v, want codec.ErrCorrupt", err)
	}
}

// TestCMName: the method's name.
func TestCMName(t *testing.T) {
	if m, ok := codec.ParseMethod("cm"); !ok || m != codec.MethodCM || codec.MethodCM.String() != "cm" {
		t.Errorf("method name: %v %v %q", m, ok, codec.MethodCM)
	}
}

// FuzzCMDecode decodes arbitrary payloads for small declared sizes: an
// error wrapping codec.ErrCorrupt or exactly the declared size, never a panic.
func FuzzCMDecode(f *testing.F) {
	f.Add(cmCompress(f, []byte("hello, hello, hello")), uint16(19))
	f.Add(cmCompress(f, sample.Mixed(300)), uint16(300))
	f.Add([]byte{}, uint16(1))
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF}, uint16(1000))
	f.Fuzz(func(t *testing.T, payload []byte, size uint16) {
		n := int64(size % 4096)
		got, err := cmDecompress(payload, n)
		if !checkDecoded(t, got, n, err) {
			return
		}
		// What decodes without an error is what the encoder makes of it, up
		// to the last byte, which may be any in the final interval.
		again := cmCompress(t, got)
		if len(again) != len(payload) || n > 0 && !bytes.Equal(again[:len(again)-1], payload[:len(payload)-1]) {
			t.Fatalf("payload %x decodes to %x, which encodes to %x", payload, got, again)
		}
	})
}

// TestOtherMethods: each entry point refuses the methods it does not run.
func TestOtherMethods(t *testing.T) {
	if _, err := NewCompressor(codec.MethodHybrid2, io.Discard, 1); !errors.Is(err, codec.ErrUnsupportedMethod) {
		t.Errorf("compressor of method hybrid: %v", err)
	}
	if _, err := NewDecompressor(codec.MethodXz, nil, 0); !errors.Is(err, codec.ErrUnsupportedMethod) {
		t.Errorf("decompressor of method xz: %v", err)
	}
	if _, err := NewMixEncoder(codec.MethodCM, []int64{1}, 0); !errors.Is(err, codec.ErrUnsupportedMethod) {
		t.Errorf("hybrid encoder of method cm: %v", err)
	}
	if _, err := NewMixDecoder(codec.MethodNeural, nil, nil, 0, 0); !errors.Is(err, codec.ErrUnsupportedMethod) {
		t.Errorf("hybrid decoder of method neural: %v", err)
	}
}

// TestTablesReused: a model's tables, released to their pools and taken
// by the next model, hold nothing of the model before (table.go): the
// same input codes to the same bytes before and after other inputs.
func TestTablesReused(t *testing.T) {
	src := sample.Mixed(3000)
	for _, m := range []codec.Method{codec.MethodCM, codec.MethodCM3, codec.MethodCM2, codec.MethodCM1} {
		first := cmCompressMethod(t, m, 0, src)
		cmCompressMethod(t, m, 0, sample.Random(4, 5000))
		cmCompressMethod(t, m, 0, sample.Records(4000))
		if again := cmCompressMethod(t, m, 0, src); !bytes.Equal(again, first) {
			t.Errorf("%s: %d bytes after other inputs, %d before", m, len(again), len(first))
		}
		got, err := sample.Decompress(func(m codec.Method, p []byte, n int64) (io.ReadCloser, error) {
			return NewDecompressor(m, p, n)
		}, m, first, int64(len(src)))
		if err != nil || !bytes.Equal(got, src) {
			t.Errorf("%s: round trip: %v", m, err)
		}
	}
	for _, m := range []codec.Method{codec.MethodHybrid2, codec.MethodHybrid1} {
		first, _ := mixEncode(t, m, src, 2, learntModel(src))
		mixEncode(t, m, sample.Random(5, 4000), 3, uniformModel())
		if again, _ := mixEncode(t, m, src, 2, learntModel(src)); !bytes.Equal(again, first) {
			t.Errorf("%s: %d bytes after other inputs, %d before", m, len(again), len(first))
		}
	}
}
