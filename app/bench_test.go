package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"zpng/core"
)

// benchInputs writes two small files: text and random bytes (each ZPNG
// row costs two starts of zpng, so few files keep the test fast).
func benchInputs(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	noise := make([]byte, 3000)
	rand.Read(noise)
	files := map[string][]byte{
		"notes.txt": bytes.Repeat([]byte("Benchmarks should tell the truth. "), 150),
		"noise.bin": noise,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

// compressedSize is what a peer's command line makes of data.
func compressedSize(t *testing.T, data []byte, argv ...string) int {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return len(out)
}

func readCSV(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{} // "file|method" -> record
	for _, r := range recs[1:] {
		rows[r[0]+"|"+r[1]] = r
	}
	return rows
}

func TestBench(t *testing.T) {
	dir, files := benchInputs(t)
	out := t.TempDir()
	args := []string{"bench", "--models", "", "--methods", "zstd", "--peers", "gzip,xz", "--out", out, dir}
	code, stdout, errs := zpng(t, args...)
	if code != 0 {
		t.Fatalf("zpng bench: exit %d\n%s%s", code, stdout, errs)
	}

	// The sizes must be those the tools make, ZPNG's those of the pipeline.
	want := map[string]map[string]int{}
	var total = map[string]int{}
	for name, data := range files {
		src := filepath.Join(dir, name)
		r, err := core.Compress(context.Background(), src, filepath.Join(t.TempDir(), "x.png"), core.Options{Method: "zstd"})
		if err != nil {
			t.Fatal(err)
		}
		want[name] = map[string]int{
			"gzip -9":   compressedSize(t, data, "gzip", "-9", "-n", "-c"),
			"xz -9e":    compressedSize(t, data, "xz", "-9e", "-c"),
			"zpng zstd": int(r.OutputSize),
		}
		for m, n := range want[name] {
			total[m] += n
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "bench.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, filepath.Join(out, "bench.csv"))
	if len(rows) != 2*3+3 {
		t.Errorf("%d CSV rows, want 9", len(rows))
	}
	for name, sizes := range want {
		for m, n := range sizes {
			r := rows[name+"|"+m]
			if r == nil || r[2] != fmt.Sprint(len(files[name])) || r[3] != fmt.Sprint(n) || r[14] != "ok" {
				t.Errorf("CSV %s %s: %q, want %d bytes, round trip ok", name, m, r, n)
			}
			if line := fmt.Sprintf("| %s | %s | %d |", name, m, n); !bytes.Contains(md, []byte(line)) {
				t.Errorf("bench.md lacks %q", line)
			}
		}
	}
	for m, n := range total {
		if r := rows["TOTAL|"+m]; r == nil || r[3] != fmt.Sprint(n) {
			t.Errorf("CSV total %s: %q, want %d bytes", m, r, n)
		}
	}
	// Speeds relative to xz, in the same run.
	if r := rows["notes.txt|xz -9e"]; r[7] != "1" || r[10] != "1" {
		t.Errorf("xz against itself: %q", r)
	}
	for _, s := range []string{"Machine: ", " cores", "×xz", "## Totals", "Start-up: `zpng help` takes"} {
		if !bytes.Contains(md, []byte(s)) {
			t.Errorf("bench.md lacks %q", s)
		}
	}

	f, err := os.Open(filepath.Join(out, "bench.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("bench.png: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dx() > 4000 || b.Dy() < 300 || b.Dy() > 2000 {
		t.Errorf("bench.png is %v", b)
	}

	// The reports are not replaced unless asked, and that is said before
	// any measuring.
	if code, _, errs := zpng(t, args...); code != 1 || !strings.Contains(errs, "exists") {
		t.Errorf("second bench without --force: exit %d, %q", code, errs)
	}
}

// A method that fails is a row with its error; the rest is measured and
// the command exits 1 at the end.
func TestBenchFailingMethod(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "small.txt"), bytes.Repeat([]byte("abc "), 500), 0o644)
	out := t.TempDir()
	code, _, errs := zpng(t, "bench", "--models", "no-such-model", "--methods", "", "--peers", "gzip", "--out", out, dir)
	if code != 1 || !strings.Contains(errs, "1 of 2 round trips failed") {
		t.Fatalf("exit %d, %q; want 1 and the failure", code, errs)
	}
	rows := readCSV(t, filepath.Join(out, "bench.csv"))
	bad := rows["small.txt|zpng hybrid/no-such-model"]
	if bad == nil || bad[14] != "failed" || !strings.Contains(bad[16], "no-such-model") {
		t.Errorf("failing row %q", bad)
	}
	if good := rows["small.txt|gzip -9"]; good == nil || good[14] != "ok" {
		t.Errorf("gzip row %q", good)
	}
	md, _ := os.ReadFile(filepath.Join(out, "bench.md"))
	if !bytes.Contains(md, []byte("## Failures")) || !bytes.Contains(md, []byte("**FAILED**")) {
		t.Errorf("bench.md does not show the failure:\n%s", md)
	}
	if _, err := os.Stat(filepath.Join(out, "bench.png")); err != nil {
		t.Error(err)
	}
}

func TestBenchUsage(t *testing.T) {
	dir, _ := benchInputs(t)
	for _, args := range [][]string{
		{"bench"},
		{"bench", "--peers", "lz4", dir},
		{"bench", "--models", "", "--methods", "", "--peers", "", dir},
	} {
		if code, _, _ := zpng(t, args...); code != 2 {
			t.Errorf("zpng %v: exit %d, want 2", args, code)
		}
	}
	if code, _, errs := zpng(t, "bench", filepath.Join(dir, "missing")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing input: exit %d, %q", code, errs)
	}
}
