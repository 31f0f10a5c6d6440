//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignals: SIGINT, SIGTERM and SIGHUP during the check of a new image
// and during a restore each end the command with 128+signal, say that
// nothing was written, and leave no file behind, temporary ones included.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("codes a large file several times")
	}
	src := canterburyText(t, 300<<10)
	bin := zpngBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "text.txt")
			if err := os.WriteFile(in, src, 0o644); err != nil {
				t.Fatal(err)
			}
			// Compress, stopped once the image is written and being checked.
			interrupt(t, bin, sig, dir, []string{in}, "compress", in, "--method", "cm")

			// Restore, stopped while the restored file is being written.
			img := filepath.Join(dir, "made.zpng.png")
			if code, _, stderr := zpng(t, "compress", in, "-o", img, "--method", "cm"); code != 0 {
				t.Fatalf("compress: exit %d: %s", code, stderr)
			}
			interrupt(t, bin, sig, dir, []string{in, img}, "decompress", img, "-o", filepath.Join(dir, "out.txt"))
		})
	}
}

// interrupt runs zpng with args in dir, sends sig as soon as a temporary
// file appears there, and checks the exit, the message, and that dir holds
// only the files keep.
func interrupt(t *testing.T, bin string, sig syscall.Signal, dir string, keep []string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for len(tempFiles(t, dir)) == 0 {
		select {
		case err := <-exited:
			t.Fatalf("zpng %s ended (%v) before a temporary file appeared: %s", args[0], err, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("zpng %s: no temporary file within 60 s", args[0])
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := <-exited
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
		t.Fatalf("zpng %s after %v: %v, want exit %d; stderr: %s", args[0], sig, err, 128+int(sig), stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stderr.String(), "nothing was written") {
		t.Errorf("zpng %s after %v says %q", args[0], sig, stderr.String())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, k := range keep {
		want[filepath.Base(k)] = true
	}
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("zpng %s after %v left %s", args[0], sig, e.Name())
		}
	}
}

// tempFiles lists the hidden temporary files in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".*.tmp*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// canterburyText is n bytes of the Canterbury corpus's two longest texts.
func canterburyText(t *testing.T, n int) []byte {
	t.Helper()
	var b []byte
	for _, name := range []string{"lcet10.txt", "plrabn12.txt"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "shared", "bench", "canterbury", name))
		if err != nil {
			t.Skipf("Canterbury corpus: %v", err)
		}
		b = append(b, data...)
	}
	return b[:min(n, len(b))]
}
