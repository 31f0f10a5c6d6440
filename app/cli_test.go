package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// zpngBinary builds the command once per test run (without the GUI, so the
// test does not need a display).
var builtBinary string

func zpngBinary(t *testing.T) string {
	t.Helper()
	if builtBinary != "" {
		return builtBinary
	}
	dir, err := os.MkdirTemp("", "zpng-cli-test")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "zpng")
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goCmd, "build", "-tags", "nogui", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	builtBinary = bin
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBinary != "" {
		os.RemoveAll(filepath.Dir(builtBinary))
	}
	os.Exit(code)
}

// zpng runs the binary and returns its exit code, stdout and stderr.
func zpng(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(zpngBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(errb.String(), "panic") || strings.Contains(errb.String(), "goroutine ") {
		t.Fatalf("zpng %v panicked:\n%s", args, errb.String())
	}
	return code, out.String(), errb.String()
}

// checkPNG has two independent decoders check the image: ImageMagick must
// read it as an 8-bit sRGB image of the expected size, pngcheck must find no
// error. A missing tool is a failure: .ci/run installs both.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("pngcheck", path).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "OK:") {
		t.Fatalf("pngcheck %s: %v\n%s", path, err, out)
	}
	out, err = exec.Command("identify", "-format", "%m %z %[channels] %w %h", path).CombinedOutput()
	if err != nil {
		t.Fatalf("identify %s: %v\n%s", path, err, out)
	}
	f := strings.Fields(string(out))
	if len(f) != 5 || f[0] != "PNG" || f[1] != "8" || f[2] != "srgb" {
		t.Fatalf("identify %s: %q, want an 8-bit RGB PNG", path, out)
	}
}

func TestCanterburyRoundTrip(t *testing.T) {
	bench := filepath.Join("..", "..", "shared", "bench", "canterbury")
	files, _ := filepath.Glob(filepath.Join(bench, "*"))
	if len(files) == 0 {
		t.Skipf("benchmark folder %s is absent", bench)
	}
	// Level 4 runs the hybrid with the small model: the neural path at its
	// quickest, so that the test stays a few minutes on a 2-core machine.
	for _, args := range [][]string{{"--method", "stored"}, {"--method", "zstd"}, {"--method", "xz"}, {"-4"}} {
		method := strings.Join(args, " ")
		dir := t.TempDir()
		var total, packed int64
		for _, src := range files {
			orig, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(dir, filepath.Base(src))
			if err := os.WriteFile(in, orig, 0o644); err != nil {
				t.Fatal(err)
			}
			// Flags after the file, as a user may type them.
			code, out, errs := zpng(t, append([]string{"compress", in}, args...)...)
			if code != 0 || !strings.Contains(out, "verified") {
				t.Fatalf("compress %s %s: exit %d\n%s%s", in, method, code, out, errs)
			}
			png := in + ".zpng.png"
			checkPNG(t, png)
			if code, _, errs := zpng(t, "verify", png); code != 0 {
				t.Fatalf("verify %s: exit %d: %s", png, code, errs)
			}
			os.Remove(in)
			if code, out, errs := zpng(t, "decompress", png); code != 0 {
				t.Fatalf("decompress %s: exit %d\n%s%s", png, code, out, errs)
			}
			got, err := os.ReadFile(in)
			if err != nil || !bytes.Equal(got, orig) {
				t.Fatalf("%s (%s): restored file differs: %v", src, method, err)
			}
			st, _ := os.Stat(png)
			total += int64(len(orig))
			packed += st.Size()
		}
		t.Logf("%-15s canterbury: %d -> %d bytes (%.3f bpb)", method, total, packed, float64(packed)*8/float64(total))
	}
}

func TestIncompressible(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 1<<20)
	rand.Read(data)
	in := filepath.Join(dir, "random.bin")
	os.WriteFile(in, data, 0o644)
	if code, out, errs := zpng(t, "compress", "--method=stored", in); code != 0 {
		t.Fatalf("compress: %d %s %s", code, out, errs)
	}
	st, err := os.Stat(in + ".zpng.png")
	if err != nil {
		t.Fatal(err)
	}
	if limit := int64(len(data) + len(data)/200 + 1024); st.Size() > limit {
		t.Errorf("1 MiB random -> %d bytes, limit %d", st.Size(), limit)
	}
	checkPNG(t, in+".zpng.png")
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, bytes.Repeat([]byte("some text to compress. "), 200), 0o644)
	if code, _, errs := zpng(t, "compress", text); code != 0 {
		t.Fatal(errs)
	}
	png := text + ".zpng.png"
	good, _ := os.ReadFile(png)

	// Never overwrite without --force.
	if code, _, errs := zpng(t, "compress", text); code == 0 || !strings.Contains(errs, "exists") {
		t.Errorf("second compress: exit %d, %q", code, errs)
	}
	if code, _, errs := zpng(t, "decompress", png); code == 0 || !strings.Contains(errs, "exists") {
		t.Errorf("decompress over the original: exit %d, %q", code, errs)
	}
	if code, _, errs := zpng(t, "compress", "--force", text); code != 0 {
		t.Errorf("compress --force: exit %d, %q", code, errs)
	}

	other := filepath.Join(dir, "other.png")
	if out, err := exec.Command("convert", "-size", "16x16", "xc:red", other).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v %s", err, out)
	}
	// A ZPNG image saved as JPEG and back to PNG, as photo sites do.
	jpeg, lossy := filepath.Join(dir, "photo.jpg"), filepath.Join(dir, "lossy.zpng.png")
	for _, args := range [][]string{{png, "-quality", "85", jpeg}, {jpeg, "PNG24:" + lossy}} {
		if out, err := exec.Command("convert", args...).CombinedOutput(); err != nil {
			t.Fatalf("convert: %v %s", err, out)
		}
	}
	os.Remove(jpeg)
	trunc := filepath.Join(dir, "trunc.zpng.png")
	os.WriteFile(trunc, good[:len(good)-100], 0o644)
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x20
	corrupt := filepath.Join(dir, "corrupt.zpng.png")
	os.WriteFile(corrupt, flipped, 0o644)

	cases := []struct {
		file, want string
	}{
		{other, "not a ZPNG image"},
		{text, "not a ZPNG image"},
		{lossy, "lossy re-encoding"},
		{trunc, "truncated"},
		{corrupt, "corrupt"},
		{filepath.Join(dir, "missing.png"), "no such file"},
	}
	for _, tc := range cases {
		for _, cmd := range []string{"decompress", "verify", "info"} {
			if cmd == "info" && tc.file == corrupt {
				continue // info reads only the header, which is intact
			}
			args := []string{cmd, tc.file}
			if cmd == "decompress" {
				args = append(args, "-o", filepath.Join(dir, "restored"))
			}
			code, _, errs := zpng(t, args...)
			if code != 1 || !strings.Contains(errs, tc.want) {
				t.Errorf("zpng %s %s: exit %d, %q; want exit 1 and %q", cmd, filepath.Base(tc.file), code, errs, tc.want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "restored")); err == nil {
		t.Error("a failed decompress left its output")
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 6 {
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		t.Errorf("stray files: %v", names)
	}

	// An empty file says so rather than "0 -> 198 bytes (0.0%)".
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o644)
	if code, out, errs := zpng(t, "compress", empty, "--method", "zstd"); code != 0 || !strings.Contains(out, "an empty file") || strings.Contains(out, "0.0%") {
		t.Errorf("compress of an empty file: exit %d, %q %q", code, out, errs)
	}

	// Usage errors exit 2; neural is refused clearly.
	if code, _, _ := zpng(t, "compress"); code != 2 {
		t.Errorf("compress without a file: exit %d", code)
	}
	if code, _, _ := zpng(t, "compress", text, "--bogus"); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
	if code, _, _ := zpng(t, "no-such-command"); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	if code, _, errs := zpng(t); code != 2 || !strings.Contains(errs, "no GUI") {
		t.Errorf("no arguments in a nogui build: exit %d, %q", code, errs)
	}
	if code, out, _ := zpng(t, "help"); code != 0 || !strings.Contains(out, "decompress") {
		t.Errorf("help: exit %d", code)
	}
}
