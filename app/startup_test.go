package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// goldenCM is a small cm image (5,000 bytes of text): what `info` and
// `decompress` read in the start-up checks.
var goldenCM = filepath.Join("..", "core", "testdata", "golden-cm.zpng.png")

// TestStartupLoadsNoLibtorch: commands that run no libtorch code (info,
// decompress, compress at the default level) do not load it. The dynamic
// loader's own log (LD_DEBUG=files) names every library it opens, libc
// always, so the check sees what was loaded rather than how long it took.
func TestStartupLoadsNoLibtorch(t *testing.T) {
	bin := buildTagged(t, t.TempDir())
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("a line of notes for the start-up test\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"info", goldenCM},
		{"decompress", goldenCM, "-o", filepath.Join(dir, "restored.txt")},
		{"compress", text},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "LD_DEBUG=files")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("zpng %s: %v\n%s", args[0], err, lastLines(out, 20))
		}
		if !strings.Contains(string(out), "libc.so") {
			t.Fatalf("zpng %s: LD_DEBUG=files logged no libc:\n%s", args[0], lastLines(out, 20))
		}
		for _, lib := range []string{"libtorch", "libzpng-torch", "libc10"} {
			if strings.Contains(string(out), lib) {
				t.Errorf("zpng %s loaded %s", args[0], lib)
			}
		}
	}
}

// BenchmarkStartup runs the built command (with the tags of this test) on
// the small cm image, `zpng info` and `zpng decompress`, and in turn with
// each run `xz --version`, the baseline in the same run. Metrics: ms per
// zpng run, ms per xz run, and x-xz, zpng's time over xz's.
// ZPNG_BENCH_BINARY=PATH measures that zpng instead (another build, for a
// comparison).
func BenchmarkStartup(b *testing.B) {
	xz, err := exec.LookPath("xz")
	if err != nil {
		b.Skip("no xz")
	}
	bin := os.Getenv("ZPNG_BENCH_BINARY")
	if bin == "" {
		bin = buildTagged(b, b.TempDir())
	}
	out := filepath.Join(b.TempDir(), "restored.txt")
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"info", []string{"info", goldenCM}},
		{"decompress", []string{"decompress", "--force", goldenCM, "-o", out}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var tz, tx time.Duration
			for b.Loop() {
				tz += timeRun(b, bin, bc.args...)
				tx += timeRun(b, xz, "--version")
			}
			b.ReportMetric(tz.Seconds()*1e3/float64(b.N), "ms/zpng")
			b.ReportMetric(tx.Seconds()*1e3/float64(b.N), "ms/xz")
			b.ReportMetric(float64(tz)/float64(tx), "x-xz")
			b.ReportMetric(0, "ns/op") // the whole loop, zpng and xz: not a figure of either
		})
	}
}

func timeRun(b *testing.B, name string, args ...string) time.Duration {
	cmd := exec.Command(name, args...)
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t0)
	if err != nil {
		b.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return d
}

// buildTagged builds this command into dir with the tags this test was
// built with, and returns its path.
func buildTagged(tb testing.TB, dir string) string {
	tb.Helper()
	bin := filepath.Join(dir, "zpng")
	args := []string{"build", "-o", bin}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "-tags" && s.Value != "" {
				args = append(args, "-tags", s.Value)
			}
		}
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	out, err := exec.Command(goTool, append(args, ".")...).CombinedOutput()
	if err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// lastLines is the end of out, for messages.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
