package core

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// canterburyDir is the Canterbury corpus beside the repository, if there.
var canterburyDir = filepath.Join("..", "..", "shared", "bench", "canterbury")

// TestClassicalFloor: on every Canterbury file and on the public binary
// files of testdata/floor (a record table, machine code, a font, an
// uncompressed image), zpng makes an image no bigger than the better of the
// real xz -9e and zstd -19 --long + 0.5% + 1 KiB. It runs level 3, the
// classical methods that every level from 3 up runs: a higher level, the
// default among them, keeps the smallest of more candidates, so its image
// is no bigger. (The default level would also run the large network on
// the texts, minutes rather than seconds.) In -short mode only the files
// under 200 KB.
func TestClassicalFloor(t *testing.T) {
	for _, tool := range []string{"xz", "zstd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make setup installs it)", tool)
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "floor", "*.*"))
	canterbury, _ := filepath.Glob(filepath.Join(canterburyDir, "*"))
	files = append(files, canterbury...)
	for _, f := range files {
		if filepath.Ext(f) == ".md" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if testing.Short() && len(src) >= 200_000 {
			continue
		}
		xz := toolSize(t, src, "xz", "-9e", "-c")
		zstd := toolSize(t, src, "zstd", "-q", "-19", "--long", "-c")
		floor := min(xz, zstd)
		limit := floor + floor/200 + 1024
		r, err := Compress(context.Background(), f, t.TempDir(), Options{Level: 3})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		t.Logf("%-20s %8d B: zpng %s %7d, xz %7d, zstd %7d", filepath.Base(f), len(src), r.Method, r.OutputSize, xz, zstd)
		if r.OutputSize > limit {
			t.Errorf("%s: zpng %d bytes (%s), want at most %d (xz -9e %d, zstd -19 --long %d)",
				filepath.Base(f), r.OutputSize, r.Method, limit, xz, zstd)
		}
	}
	if len(canterbury) == 0 {
		t.Skipf("benchmark folder %s is absent: only testdata/floor was checked", canterburyDir)
	}
}

// toolSize returns the bytes the command-line tool makes of src.
func toolSize(t *testing.T, src []byte, tool string, args ...string) int64 {
	cmd := exec.Command(tool, args...)
	in, err := os.CreateTemp(t.TempDir(), "in")
	if err != nil {
		t.Fatal(err)
	}
	in.Write(src)
	in.Seek(0, 0)
	defer in.Close()
	cmd.Stdin = in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return int64(len(out))
}
