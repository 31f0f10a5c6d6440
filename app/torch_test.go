//go:build !notorch

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"zpng/core/engine/torch/torchtest"
	"zpng/core/train"
)

// TestTorchMissing: without libzpng-torch.so, what needs libtorch (a named
// torch engine, CUDA, a fine-tune asked for, training, evaluation) fails
// the option check with exit 2, saying what is missing and where it
// looked, and writes nothing; what does not need it runs.
func TestTorchMissing(t *testing.T) {
	bin := zpngBinary(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("notes without libtorch\n", 50)), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nowhere", "libzpng-torch.so")
	run := func(args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "ZPNG_TORCH_LIB="+missing)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	for _, args := range [][]string{
		{"compress", "--engine", "torch", text},
		{"compress", "--device", "cuda", text},
		{"compress", "--finetune-steps", "5", text},
		{"decompress", "--engine", "torch", goldenCM, "-o", filepath.Join(dir, "restored.txt")},
		{"train", "--corpus", dir, "--preset", "small", "--steps", "1", "--out", filepath.Join(dir, "m.safetensors")},
		{"eval", "--model", filepath.Join("..", "weights", "small-v5.safetensors"), text},
	} {
		code, out := run(args...)
		if code != exitUsage || !strings.Contains(out, "needs libzpng-torch.so") || !strings.Contains(out, "searched: "+missing) {
			t.Errorf("zpng %s: exit %d, want %d and the missing library named:\n%s", strings.Join(args, " "), code, exitUsage, out)
		}
	}
	for _, name := range []string{"notes.txt.zpng.png", "restored.txt", "m.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s was written", name)
		}
	}
	for _, args := range [][]string{{"info", goldenCM}, {"compress", text}} {
		if code, out := run(args...); code != exitOK {
			t.Errorf("zpng %s: exit %d, want 0:\n%s", args[0], code, out)
		}
	}
}

// TestTorchLoadsOnDemand: a named torch engine loads libzpng-torch.so, and
// libtorch with it (the counterpart of TestStartupLoadsNoLibtorch).
func TestTorchLoadsOnDemand(t *testing.T) {
	torchtest.Require(t, train.Ready) // and points ZPNG_TORCH_LIB at the library
	bin := zpngBinary(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("notes with libtorch\n", 50)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "compress", "-1", "--engine", "torch", text)
	cmd.Env = append(os.Environ(), "LD_DEBUG=files")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, lastLines(out, 20))
	}
	for _, lib := range []string{"libzpng-torch.so", "libtorch_cpu"} {
		if !strings.Contains(string(out), lib) {
			t.Errorf("%s was not loaded", lib)
		}
	}
}
