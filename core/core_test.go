package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zpng/codec"
)

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func randomData(n int) []byte {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

var text = bytes.Repeat([]byte("ZPNG turns any file into a PNG of colourful static. "), 400)

// listDir returns the names in dir, to check that nothing stray is left.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestRoundTripEachMethod(t *testing.T) {
	ctx := context.Background()
	for _, m := range []string{"stored", "zstd", "xz", "auto"} {
		for _, data := range [][]byte{nil, {7}, text, randomData(3000)} {
			dir := t.TempDir()
			in := writeFile(t, dir, "input.bin", data)
			var reports []Progress
			r, err := Compress(ctx, in, "", Options{Method: m, Progress: func(p Progress) { reports = append(reports, p) }})
			if err != nil {
				t.Fatalf("%s, %d bytes: %v", m, len(data), err)
			}
			if r.Output != in+".zpng.png" || !r.Verified || r.InputSize != int64(len(data)) {
				t.Errorf("%s: result %+v", m, r)
			}
			if m != "auto" && r.Method != m {
				t.Errorf("method %s reported as %s", m, r.Method)
			}
			if st, _ := os.Stat(r.Output); st == nil || st.Size() != r.OutputSize {
				t.Errorf("%s: output size %d not on disk", m, r.OutputSize)
			}
			checkProgress(t, reports)
			os.Remove(in)
			d, err := Decompress(ctx, r.Output, "", Options{})
			if err != nil {
				t.Fatalf("decompress %s: %v", m, err)
			}
			if d.Output != in {
				t.Errorf("restored to %s, want %s", d.Output, in)
			}
			got, _ := os.ReadFile(in)
			if !bytes.Equal(got, data) {
				t.Fatalf("%s: restored file differs", m)
			}
			if v, err := Verify(ctx, r.Output, Options{}); err != nil || !v.Verified {
				t.Errorf("verify %s: %v", m, err)
			}
			if names := listDir(t, dir); len(names) != 2 {
				t.Errorf("folder holds %v after the round trip", names)
			}
		}
	}
}

func checkProgress(t *testing.T, reports []Progress) {
	t.Helper()
	if len(reports) == 0 {
		t.Fatal("no progress reported")
	}
	last := 0.0
	for _, p := range reports {
		if p.Fraction < last-1e-9 || p.Fraction > 1 {
			t.Fatalf("fraction goes %f -> %f (%s)", last, p.Fraction, p.Phase)
		}
		last = p.Fraction
	}
	if last != 1 {
		t.Errorf("progress ends at %f", last)
	}
}

func TestAutoPicksSmallest(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "text.txt", text)
	r, err := Compress(context.Background(), in, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"stored", "zstd", "xz"} {
		out := filepath.Join(dir, m+".png")
		rm, err := Compress(context.Background(), in, out, Options{Method: m})
		if err != nil {
			t.Fatal(err)
		}
		if rm.OutputSize < r.OutputSize {
			t.Errorf("auto chose %s (%d B) but %s gives %d B", r.Method, r.OutputSize, m, rm.OutputSize)
		}
	}
}

func TestIncompressibleBound(t *testing.T) {
	dir := t.TempDir()
	data := randomData(1 << 20)
	in := writeFile(t, dir, "random.bin", data)
	r, err := Compress(context.Background(), in, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if limit := int64(len(data)) + int64(len(data))/200 + 1024; r.OutputSize > limit {
		t.Errorf("1 MiB of random bytes became %d bytes (%s), limit %d", r.OutputSize, r.Method, limit)
	}
	t.Logf("1 MiB random -> %d bytes with %s", r.OutputSize, r.Method)
}

func TestRefusesToOverwrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	in := writeFile(t, dir, "a.txt", text)
	out := writeFile(t, dir, "a.txt.zpng.png", []byte("precious"))
	if _, err := Compress(ctx, in, "", Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("compress over an existing file: %v, want ErrExists", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Fatal("existing file was changed")
	}
	if _, err := Compress(ctx, in, "", Options{Force: true}); err != nil {
		t.Fatalf("with Force: %v", err)
	}
	if _, err := Decompress(ctx, out, "", Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("decompress over the original: %v, want ErrExists", err)
	}
	if _, err := Compress(ctx, in, in, Options{Force: true}); err == nil {
		t.Fatal("compressing a file onto itself was accepted")
	}
	if b, _ := os.ReadFile(in); !bytes.Equal(b, text) {
		t.Fatal("input was changed")
	}
	if names := listDir(t, dir); len(names) != 2 {
		t.Errorf("folder holds %v", names)
	}
}

func TestMethodErrors(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "a.txt", text)
	if _, ok := methods["neural"]; !ok {
		if _, err := Compress(context.Background(), in, "", Options{Method: "neural"}); !errors.Is(err, ErrUnavailable) {
			t.Errorf("neural: %v, want ErrUnavailable", err)
		}
	}
	_, err := Compress(context.Background(), in, "", Options{Method: "lzw"})
	if err == nil || !strings.Contains(err.Error(), "unknown method") {
		t.Errorf("unknown method: %v", err)
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Errorf("folder holds %v", names)
	}
}

func TestCorruptInputs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	in := writeFile(t, dir, "a.txt", text)
	r, err := Compress(ctx, in, "", Options{Method: "xz"})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(r.Output)
	os.Remove(in)
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 1
	cases := map[string]struct {
		data []byte
		want error
	}{
		"truncated": {good[:len(good)-40], ErrTruncated},
		"bit flip":  {flipped, ErrCorrupt},
		"not a png": {[]byte("just text"), ErrNotZPNG},
	}
	for name, tc := range cases {
		p := writeFile(t, dir, "bad.zpng.png", tc.data)
		if _, err := Decompress(ctx, p, "", Options{}); !errors.Is(err, tc.want) {
			t.Errorf("%s: decompress: %v, want %v", name, err, tc.want)
		}
		if _, err := Verify(ctx, p, Options{}); !errors.Is(err, tc.want) {
			t.Errorf("%s: verify: %v, want %v", name, err, tc.want)
		}
		if IsZPNG(p) && name == "not a png" {
			t.Errorf("IsZPNG(%s) = true", name)
		}
		if names := listDir(t, dir); len(names) != 2 {
			t.Errorf("%s: folder holds %v", name, names)
		}
	}
}

func TestCancel(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "big.bin", bytes.Repeat(text, 20))
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Compress(ctx, in, "", Options{Method: "xz", Progress: func(p Progress) {
		calls++
		if calls == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled compress: %v", err)
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Errorf("folder holds %v after a cancel", names)
	}
}

func TestStoredNameIsMadeSafe(t *testing.T) {
	dir := t.TempDir()
	data := []byte("payload")
	for _, name := range []string{"../../evil.sh", "/etc/passwd", `..\..\win.ini`, "..", "", "a\x00b\nc"} {
		c := &codec.Container{Header: codec.Header{Method: codec.MethodStored, OriginalSize: int64(len(data)),
			SHA256: sha256Sum(data), Name: name},
			Sections: []codec.Section{{Type: codec.SectionPayload, Data: data}}}
		var buf bytes.Buffer
		if err := codec.Write(&buf, c); err != nil {
			t.Fatal(err)
		}
		sub := t.TempDir()
		p := writeFile(t, sub, "x.zpng.png", buf.Bytes())
		r, err := Decompress(context.Background(), p, "", Options{})
		if err != nil {
			t.Fatalf("name %q: %v", name, err)
		}
		if filepath.Dir(r.Output) != sub {
			t.Errorf("name %q restored to %s, outside %s", name, r.Output, sub)
		}
		info, err := Inspect(p)
		if err != nil || info.StoredName != name || info.Name != filepath.Base(r.Output) {
			t.Errorf("Inspect: %+v, %v", info, err)
		}
	}
	_ = dir
}

func TestOutputFolder(t *testing.T) {
	ctx := context.Background()
	dir, outDir := t.TempDir(), t.TempDir()
	in := writeFile(t, dir, "a.txt", text)
	r, err := Compress(ctx, in, outDir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Output != filepath.Join(outDir, "a.txt.zpng.png") {
		t.Errorf("compress into a folder wrote %s", r.Output)
	}
	d, err := Decompress(ctx, r.Output, dir+"/", Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Output != in {
		t.Errorf("decompress into a folder wrote %s", d.Output)
	}
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "notes.txt", text)
	r, err := Compress(context.Background(), in, "", Options{Method: "zstd"})
	if err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(r.Output)
	if err != nil {
		t.Fatal(err)
	}
	if info.Method != "zstd" || info.Name != "notes.txt" || info.OriginalSize != int64(len(text)) ||
		info.SHA256 != r.SHA256 || info.Version != codec.Version || !info.Decodable || info.FileSize != r.OutputSize ||
		len(info.Sections) != 1 || info.Sections[0].Type != "DATA" {
		t.Errorf("Inspect: %+v", info)
	}
	if !IsZPNG(r.Output) || IsZPNG(in) {
		t.Error("IsZPNG is wrong")
	}
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// TestOutputMode: the image and the restored file get the mode any new file
// gets (0666 less the umask), not the owner-only 0600 of a temporary file.
func TestOutputMode(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ref, err := os.Create(filepath.Join(dir, "reference"))
	if err != nil {
		t.Fatal(err)
	}
	ref.Close()
	want := modeOf(t, ref.Name())
	in := writeFile(t, dir, "a.txt", text)
	os.Chmod(in, 0o600) // the restored file does not copy the original's mode either
	res, err := Compress(ctx, in, "", Options{Method: "zstd"})
	if err != nil {
		t.Fatal(err)
	}
	if got := modeOf(t, res.Output); got != want {
		t.Errorf("image mode %v, want %v as for a new file", got, want)
	}
	back, err := Decompress(ctx, res.Output, filepath.Join(dir, "b.txt"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := modeOf(t, back.Output); got != want {
		t.Errorf("restored mode %v, want %v as for a new file", got, want)
	}
}

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestUnknownMethodID: an image of a method this zpng does not know says
// that a newer version probably made it, not "method method-99".
func TestUnknownMethodID(t *testing.T) {
	data := []byte("made by a zpng from the future")
	var img bytes.Buffer
	c := &codec.Container{
		Header:   codec.Header{Method: codec.Method(99), OriginalSize: int64(len(data)), SHA256: sha256.Sum256(data), Name: "future.txt"},
		Sections: []codec.Section{{Type: codec.SectionPayload, Data: data}},
	}
	if err := codec.Write(&img, c); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "future.zpng.png")
	if err := os.WriteFile(path, img.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Decompress(context.Background(), path, filepath.Join(t.TempDir(), "out"), Options{})
	if !errors.Is(err, ErrUnsupportedMethod) || !strings.Contains(err.Error(), "method id 99 is unknown") ||
		!strings.Contains(err.Error(), "newer version") || strings.Contains(err.Error(), "method-99") {
		t.Fatalf("got %v", err)
	}
}

// TestLongAndDisguisedNames: a stored name the file system cannot hold is
// shortened with its extension kept, invisible format characters that can
// disguise an extension are removed, and the result says so.
func TestLongAndDisguisedNames(t *testing.T) {
	for stored, want := range map[string]string{
		"invoice\u202Efdp.exe":            "invoicefdp.exe",
		"a\u200Bb\uFEFF.txt":              "ab.txt",
		"\u2066report\u2069.sh":           "report.sh",
		strings.Repeat("é", 600) + ".txt": strings.Repeat("é", (MaxRestoredName-4)/2) + ".txt",
	} {
		if got := SafeName(stored); got != want {
			t.Errorf("SafeName(%.40q) = %.40q, want %.40q", stored, got, want)
		}
	}

	data := []byte("a file with a very long name")
	long := strings.Repeat("n", codec.MaxNameLen-4) + ".txt"
	var img bytes.Buffer
	c := &codec.Container{
		Header:   codec.Header{Method: codec.MethodStored, OriginalSize: int64(len(data)), SHA256: sha256.Sum256(data), Name: long},
		Sections: []codec.Section{{Type: codec.SectionPayload, Data: data}},
	}
	if err := codec.Write(&img, c); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "long.zpng.png")
	if err := os.WriteFile(path, img.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Decompress(context.Background(), path, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if base := filepath.Base(r.Output); len(base) != MaxRestoredName || !strings.HasSuffix(base, ".txt") {
		t.Errorf("restored as %d bytes %.20q…", len(base), base)
	}
	if got, _ := os.ReadFile(r.Output); !bytes.Equal(got, data) {
		t.Error("restored bytes differ")
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "shortened") {
		t.Errorf("notes %q", r.Notes)
	}
}

// TestIncompressibleStoredAtOnce: random bytes are stored without trying
// the slow methods; data with repeats is not taken for random.
func TestIncompressibleStoredAtOnce(t *testing.T) {
	dir := t.TempDir()
	random := randomData(256 << 10)
	r, err := Compress(context.Background(), writeFile(t, dir, "random.bin", random), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "stored" || !strings.Contains(strings.Join(r.Notes, " "), "incompressible") || strings.Contains(strings.Join(r.Notes, " "), "cm ") {
		t.Errorf("random: %s, notes %q", r.Method, r.Notes)
	}
	twice := append(append([]byte(nil), random[:128<<10]...), random[:128<<10]...)
	if incompressible(twice) {
		t.Error("random data repeated once is taken for incompressible")
	}
	if incompressible(prose(64 << 10)) {
		t.Error("text is taken for incompressible")
	}
}

// TestEmptyFileSkipsTheNetwork: an empty file gets the image it always got
// (cm's, the first of the level's methods to code it to nothing) without
// the hybrid candidate, which would load a model for nothing.
func TestEmptyFileSkipsTheNetwork(t *testing.T) {
	dir := t.TempDir()
	r, err := Compress(context.Background(), writeFile(t, dir, "empty", nil), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(r.Notes, " ")
	if r.Method != "cm" || !strings.Contains(notes, "cm 0 B") || strings.Contains(notes, "hybrid") {
		t.Errorf("empty file: %s, notes %q", r.Method, r.Notes)
	}
	var out bytes.Buffer
	if _, err := DecompressTo(context.Background(), r.Output, &out, Options{}); err != nil || out.Len() != 0 {
		t.Errorf("empty file: restore gave %d bytes, %v", out.Len(), err)
	}
}
