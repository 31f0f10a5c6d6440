package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a compressor that holds helperMiB of memory
// while it copies stdin to stdout, so that peak RSS has a known size.
const helperMiB = 300

func TestMain(m *testing.M) {
	if os.Getenv("BENCH_TEST_HELPER") == "1" {
		hold := make([]byte, helperMiB<<20)
		for i := range hold {
			hold[i] = byte(i)
		}
		io.Copy(os.Stdout, os.Stdin)
		os.Exit(int(hold[len(hold)-1]) & 0) // keep hold alive until here
	}
	os.Exit(m.Run())
}

func writeFiles(t *testing.T, sizes ...int) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, n := range sizes {
		p := filepath.Join(dir, string(rune('a'+i))+".txt")
		data := bytes.Repeat([]byte("the quick brown fox "), n/20+1)[:n]
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// A method that works, one whose restore loses bytes, one that cannot
// compress, and one whose peak memory is known.
func TestRunRows(t *testing.T) {
	files := writeFiles(t, 5000, 300)
	copying := Method{Name: "cat", Compress: []string{"cat"}, Decompress: []string{"cat"}}
	lossy := Method{Name: "lossy", Compress: []string{"cat"}, Decompress: []string{"head", "-c", "100"}}
	broken := Method{Name: "broken", Compress: []string{"sh", "-c", "echo no space left >&2; exit 3"}, Decompress: []string{"cat"}}
	// {in}/{out} instead of stdin/stdout.
	named := Method{Name: "cp", Compress: []string{"cp", "{in}", "{out}"}, Decompress: []string{"cp", "{in}", "{out}"}}
	greedy := Method{Name: "greedy", Compress: []string{"env", "BENCH_TEST_HELPER=1", os.Args[0]}, Decompress: []string{"cat"}}

	rep, err := Run(context.Background(), Config{
		Files:    files,
		Methods:  []Method{copying, lossy, broken, named, greedy},
		Baseline: "cat",
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range rep.Files {
		cat, lossyRow, brokenRow, cp, greedyRow := rep.Rows[i][0], rep.Rows[i][1], rep.Rows[i][2], rep.Rows[i][3], rep.Rows[i][4]
		for _, r := range []*Row{cat, cp, greedyRow} {
			if !r.OK || r.Packed != f.Size || r.Err != "" || r.Compress <= 0 || r.Decompress <= 0 {
				t.Errorf("%s %s: %+v, want a clean round trip of %d bytes", f.Name, r.Method, r, f.Size)
			}
		}
		if lossyRow.OK || !lossyRow.Compressed || !strings.Contains(lossyRow.Err, "round trip differs: restored 100 bytes") {
			t.Errorf("%s lossy: %+v", f.Name, lossyRow)
		}
		if brokenRow.OK || brokenRow.Compressed || !strings.Contains(brokenRow.Err, "exit status 3: no space left") {
			t.Errorf("%s broken: %+v", f.Name, brokenRow)
		}
		// The helper is this test binary (the embedded models
		// included, so its baseline is about this process's floor) holding
		// helperMiB more; what it inherits from this process would be less.
		if kib := greedyRow.CompressRSS; kib < helperMiB<<10 || kib > (helperMiB+100)<<10+rep.RSSFloor {
			t.Errorf("%s greedy: peak RSS %d KiB, want about %d MiB (floor %d KiB)", f.Name, kib, helperMiB, rep.RSSFloor)
		}
	}
	if got := len(rep.Failed()); got != 4 {
		t.Errorf("%d failed rows, want 4", got)
	}
	ts := rep.Totals()
	if !ts[0].Complete() || ts[0].Packed != 5300 || ts[0].BPB() != 8 || ts[1].Complete() || ts[1].Failed != 2 {
		t.Errorf("totals: %+v %+v", ts[0], ts[1])
	}

	var md, c, png bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteCSV(&c); err != nil {
		t.Fatal(err)
	}
	if err := rep.WritePNG(&png); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| a.txt | cat | 5000 | 8.000 |", "| **total bytes** | | 5300 | 2 failed |", "- b.txt, broken: compress: exit status 3"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	recs, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+2*5+5 {
		t.Fatalf("%d CSV records, want 16", len(recs))
	}
	if r := recs[1]; r[0] != "a.txt" || r[1] != "cat" || r[3] != "5000" || r[7] != "1" || r[14] != "ok" {
		t.Errorf("first CSV row %q", r)
	}
	if r := recs[12]; r[0] != "TOTAL" || r[1] != "lossy" || r[3] != "" || r[14] != "failed" || r[16] != "2 of 2 files failed" {
		t.Errorf("lossy total %q", r)
	}
}

func TestSpeedRatios(t *testing.T) {
	row := func(method string, c, d time.Duration) *Row {
		return &Row{File: "f", Method: method, Original: 1000, Packed: 100, Compress: c, Decompress: d, Compressed: true, OK: true}
	}
	rep := &Report{
		Files:    []File{{Name: "f", Size: 1000}},
		Methods:  []string{"fast", XZ},
		Baseline: XZ,
		Rows:     [][]*Row{{row("fast", time.Second, 4*time.Second), row(XZ, 2*time.Second, time.Second)}},
	}
	c, d := rep.speedRatios(0, 0)
	if c != 2 || d != 0.25 {
		t.Errorf("ratios %v %v, want 2 and 0.25", c, d)
	}
	var md bytes.Buffer
	rep.WriteMarkdown(&md)
	if !strings.Contains(md.String(), "| fast | 100 | 0.800 | 1.00 s | 1.00 kB/s | 2.00 | 4.00 s | 250 B/s | 0.25 |") {
		t.Errorf("totals line missing:\n%s", md.String())
	}
}

// TestArchiverPeers: zpaq and 7z's PPMd, which make archives rather than
// streams, round-trip through their shell wrappers and compress text. make
// setup installs both; a machine without one skips it, naming it.
func TestArchiverPeers(t *testing.T) {
	files := writeFiles(t, 20000)
	for _, name := range []string{"zpaq", "7z-ppmd"} {
		if !Installed(name) {
			t.Logf("%s is not installed: not measured", name)
			continue
		}
		p, err := Peer(name)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Run(context.Background(), Config{Files: files, Methods: []Method{p}, Baseline: p.Name})
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Rows[0][0]; !r.OK || r.Packed <= 0 || r.Packed > 2000 {
			t.Errorf("%s: %+v, want a round trip in at most 2000 bytes (zpaq's archive has about 1 KB of its own)", name, r)
		}
	}
	if !Installed("zpaq") && !Installed("7z-ppmd") {
		t.Skip("neither zpaq nor 7z is installed")
	}
}
