// Package bench measures compressors on a set of files: compressed size,
// bits per byte, wall time and peak memory of each compression and
// restoration, and a byte-exact round-trip check. Every method runs as a
// child process, so that its peak RSS is its own; Report renders the
// results as Markdown, CSV and a PNG chart.
package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Method is one compressor, given as two commands. In an argument, {in} and
// {out} stand for the input and output paths; a command without {in} reads
// its input from stdin, one without {out} writes its output to stdout.
type Method struct {
	Name                 string   // as shown in the report, e.g. "xz -9e"
	Compress, Decompress []string // argv
	Version              []string // argv that prints the tool's version, if any
	// Note, if set, describes a compressed file (for ZPNG: what it holds).
	Note func(packed string) string
}

// Config says what to measure.
type Config struct {
	Files    []string // inputs, in report order
	Methods  []Method
	Baseline string // the method whose speeds the others are compared with ("" for none)
	// Log, if set, receives one line per finished measurement.
	Log io.Writer
}

// Row is one file compressed and restored by one method.
type Row struct {
	File, Method         string
	Original, Packed     int64 // bytes
	Compress, Decompress time.Duration
	// Peak resident set of the child in KiB; 0 when unknown or when it was
	// not above Report.RSSFloor (see runStep).
	CompressRSS, RestoreRSS int64
	Compressed              bool // the compress step succeeded
	OK                      bool // restored byte for byte
	Err                     string
	Note                    string
}

// BPB is bits per original byte.
func (r *Row) BPB() float64 { return bpb(r.Packed, r.Original) }

// Report is a finished run.
type Report struct {
	Date     time.Time
	Machine  Machine
	Command  string   // the command line, for the record
	Versions []string // one line per method's tool
	Files    []File
	Methods  []string
	Baseline string
	Rows     [][]*Row // [file][method]
	// RSSFloor is the largest peak RSS of this process while it ran the
	// children (KiB). A child's figure includes the memory of the process
	// that started it, so only figures above the floor are the child's own.
	RSSFloor int64
	Notes    []string // extra lines for the report's header
}

// File is one input.
type File struct {
	Name string // as shown: the base name, or the path where base names clash
	Path string
	Size int64
}

// Failed returns the rows that did not round-trip.
func (r *Report) Failed() []*Row {
	var bad []*Row
	for _, fr := range r.Rows {
		for _, row := range fr {
			if !row.OK {
				bad = append(bad, row)
			}
		}
	}
	return bad
}

// Run measures every method on every file, one at a time (timings on a
// shared machine are noisy enough without running them side by side). A
// failing method gives a row with its error; Run itself fails only when
// the inputs cannot be read or ctx ends.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	rep := &Report{Date: time.Now(), Machine: ThisMachine(), Baseline: cfg.Baseline}
	files, err := inputs(cfg.Files)
	if err != nil {
		return nil, err
	}
	rep.Files = files
	for _, m := range cfg.Methods {
		rep.Methods = append(rep.Methods, m.Name)
		if v := version(ctx, m.Version); v != "" {
			rep.Versions = append(rep.Versions, v)
		}
	}
	work, err := os.MkdirTemp("", "zpng-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	for _, f := range files {
		want, err := hashFile(f.Path)
		if err != nil {
			return nil, err
		}
		var rows []*Row
		for _, m := range cfg.Methods {
			row := measure(ctx, m, f, want, work, rep)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			rows = append(rows, row)
			if cfg.Log != nil {
				logRow(cfg.Log, row)
			}
		}
		rep.Rows = append(rep.Rows, rows)
	}
	return rep, nil
}

// inputs checks the files and names them for the report.
func inputs(paths []string) ([]File, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input files")
	}
	count := map[string]int{}
	for _, p := range paths {
		count[filepath.Base(p)]++
	}
	var files []File
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", p)
		}
		name := filepath.Base(p)
		if count[name] > 1 {
			name = p
		}
		files = append(files, File{Name: name, Path: p, Size: st.Size()})
	}
	return files, nil
}

// measure compresses f with m, restores it and compares.
func measure(ctx context.Context, m Method, f File, want [32]byte, work string, rep *Report) *Row {
	row := &Row{File: f.Name, Method: m.Name, Original: f.Size}
	packed := filepath.Join(work, "packed")
	restored := filepath.Join(work, "restored")
	defer os.Remove(packed)
	defer os.Remove(restored)

	d, rss, err := runStep(ctx, m.Compress, f.Path, packed, &rep.RSSFloor)
	row.Compress, row.CompressRSS = d, rss
	if err != nil {
		row.Err = "compress: " + err.Error()
		return row
	}
	st, err := os.Stat(packed)
	if err != nil {
		row.Err = "compress: " + err.Error()
		return row
	}
	row.Packed, row.Compressed = st.Size(), true
	if m.Note != nil {
		row.Note = m.Note(packed)
	}
	d, rss, err = runStep(ctx, m.Decompress, packed, restored, &rep.RSSFloor)
	row.Decompress, row.RestoreRSS = d, rss
	if err != nil {
		row.Err = "restore: " + err.Error()
		return row
	}
	got, err := hashFile(restored)
	if err != nil {
		row.Err = "restore: " + err.Error()
		return row
	}
	if got != want {
		st, _ := os.Stat(restored)
		row.Err = fmt.Sprintf("round trip differs: restored %d bytes of %d, SHA-256 %x…, want %x…",
			st.Size(), f.Size, got[:4], want[:4])
		return row
	}
	row.OK = true
	return row
}

// runStep runs one command from in to out and returns its wall time and
// peak RSS.
//
// On Linux a child started by vfork (as Go starts them) inherits, at exec,
// the peak RSS of its parent as the start of its own. So a child's figure
// is its own only when it is above the parent's peak, which runStep raises
// *floor to; a figure not above it is returned as 0 (unknown: at most the
// floor).
func runStep(ctx context.Context, argv []string, in, out string, floor *int64) (time.Duration, int64, error) {
	if len(argv) == 0 {
		return 0, 0, errors.New("no command")
	}
	args := make([]string, len(argv))
	var namesIn, namesOut bool
	for i, a := range argv {
		namesIn = namesIn || strings.Contains(a, "{in}")
		namesOut = namesOut || strings.Contains(a, "{out}")
		args[i] = strings.NewReplacer("{in}", in, "{out}", out).Replace(a)
	}
	os.Remove(out)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var errs tail
	cmd.Stderr = &errs
	if !namesIn {
		f, err := os.Open(in)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	if !namesOut {
		f, err := os.Create(out)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		cmd.Stdout = f
	}
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	rss := peakRSS(cmd.ProcessState)
	*floor = max(*floor, selfPeakRSS())
	if rss <= *floor {
		rss = 0
	}
	if err != nil {
		if msg := errs.String(); msg != "" {
			err = fmt.Errorf("%v: %s", err, msg)
		}
		return elapsed, rss, err
	}
	return elapsed, rss, nil
}

// tail keeps the last lines a child wrote to stderr, for the error cell.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

// String is the last non-empty line, on one line.
func (t *tail) String() string {
	lines := strings.Split(strings.TrimSpace(string(t.b)), "\n")
	s := strings.TrimSpace(lines[len(lines)-1])
	if i := strings.LastIndexByte(s, '\r'); i >= 0 {
		s = strings.TrimSpace(s[i+1:])
	}
	return s
}

// version returns the first non-empty line argv prints, or "".
func version(ctx context.Context, argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.Trim(l, "* \t\r"); l != "" {
			return strings.Join(strings.Fields(l), " ")
		}
	}
	return ""
}

// StartUp is the shortest wall time of three runs of argv: what every
// measurement of that program includes before it does any work.
func StartUp(ctx context.Context, argv []string) (time.Duration, error) {
	var best time.Duration
	for i := 0; i < 3; i++ {
		start := time.Now()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		if err := cmd.Run(); err != nil {
			return 0, err
		}
		if d := time.Since(start); i == 0 || d < best {
			best = d
		}
	}
	return best, nil
}

func hashFile(path string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
}

func logRow(w io.Writer, r *Row) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-14s %-22s ", r.File, r.Method)
	if r.Compressed {
		fmt.Fprintf(&b, "%9d B %6.3f bpb  compress %s", r.Packed, r.BPB(), seconds(r.Compress))
	}
	if r.OK {
		fmt.Fprintf(&b, "  restore %s  ok", seconds(r.Decompress))
	} else {
		fmt.Fprintf(&b, "  FAILED: %s", r.Err)
	}
	fmt.Fprintln(w, b.String())
}

func bpb(packed, original int64) float64 {
	if original == 0 {
		return 0
	}
	return 8 * float64(packed) / float64(original)
}
