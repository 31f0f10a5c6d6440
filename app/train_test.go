//go:build !notorch

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"zpng/core/engine/torch/torchtest"
	"zpng/core/model"
	"zpng/core/train"
)

// TestTrain runs `zpng train` on a few Go source files for a few steps,
// resumes it, and checks the model file and the refusals.
func TestTrain(t *testing.T) {
	torchtest.Require(t, train.Ready)
	corpus := t.TempDir()
	for _, f := range []string{"fmt/print.go", "fmt/scan.go"} {
		data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", f))
		if err != nil {
			t.Skip(err)
		}
		os.WriteFile(filepath.Join(corpus, filepath.Base(f)), data, 0o644)
	}
	out := filepath.Join(t.TempDir(), "m.safetensors")
	args := []string{"train", "--corpus", corpus, "--preset", "small", "--out", out, "--steps", "4",
		"--batch", "2", "--seq", "16", "--device", "cpu", "--checkpoint-every", "2", "--val-every", "2", "--log-every", "1"}
	code, stdout, stderr := zpng(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"step 4/4", "val ", "(checkpoint)", "done: 4 steps on cpu", "2 files"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	w, meta, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if small, _ := model.Preset("small"); w.Config != small || meta.Preset != "small" || meta.Training.Steps != 4 ||
		meta.Training.ValidationBPB <= 0 || !strings.Contains(meta.Training.Corpus, "2 files") {
		t.Errorf("model %v, metadata %+v %+v", w.Config, meta, meta.Training)
	}

	// The output exists: refused without --force, and nothing is touched.
	before, _ := os.ReadFile(out)
	if code, _, stderr := zpng(t, args...); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("existing output: exit %d, %s", code, stderr)
	}
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Error("existing output was modified")
	}

	// Resume the run to 6 steps into a new file.
	out2 := filepath.Join(t.TempDir(), "m2.safetensors")
	code, stdout, stderr = zpng(t, "train", "--corpus", corpus, "--out", out2, "--resume", out+".ckpt",
		"--steps", "6", "--device", "cpu", "--log-every", "1")
	if code != 0 || !strings.Contains(stdout, "step 5/6") || strings.Contains(stdout, "step 4/6") {
		t.Fatalf("resume: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, meta, err := model.Load(out2); err != nil || meta.Training.Steps != 6 {
		t.Fatalf("resumed model: %v", err)
	}

	// Start a new run from the first model: its shape, and its identity in
	// the metadata.
	out3 := filepath.Join(t.TempDir(), "m3.safetensors")
	code, stdout, stderr = zpng(t, "train", "--corpus", corpus, "--init", out, "--out", out3, "--steps", "2",
		"--batch", "2", "--seq", "16", "--device", "cpu", "--crlf", "0.5")
	if code != 0 {
		t.Fatalf("--init: exit %d\n%s\n%s", code, stdout, stderr)
	}
	id, _ := model.Identity(out)
	if w3, meta, err := model.Load(out3); err != nil || w3.Config != w.Config || meta.Preset != "small" ||
		!strings.Contains(meta.Extra["init"], fmt.Sprintf("%x", id)) || meta.Extra["crlf"] != "0.5" {
		t.Fatalf("model from --init: %v %+v", err, meta)
	}

	for _, bad := range [][]string{
		{"train", "--corpus", corpus, "--init", out, "--preset", "large", "--out", out2 + "x"}, // shape mismatch
		{"train", "--corpus", corpus, "--init", out, "--resume", out + ".ckpt", "--out", out2 + "x"},
		{"train", "--corpus", corpus, "--preset", "small", "--out", out2 + "x", "--crlf", "2"},
		{"train", "--corpus", corpus, "--out", out2},                                             // no preset
		{"train", "--corpus", corpus, "--preset", "huge", "--out", out2 + "x"},                   // unknown preset
		{"train", "--corpus", corpus, "--preset", "small", "--out", out2 + "x", "--steps", "-1"}, // negative
		{"train", "--corpus", corpus, "--preset", "small", "--out", out2 + "x", "--device", "tpu"},
	} {
		if code, _, _ := zpng(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
	if code, _, stderr := zpng(t, "train", "--corpus", filepath.Join(corpus, "nope"), "--preset", "small", "--out", out2+"y"); code != 1 {
		t.Errorf("missing corpus: exit %d (%s)", code, stderr)
	}
}

// TestAverage averages two model files, measures them on a corpus's
// held-out part, and checks the refusals.
func TestAverage(t *testing.T) {
	torchtest.Require(t, train.Ready)
	dir := t.TempDir()
	cfg := model.Config{Layers: 1, Hidden: 16, Embed: 16}
	var paths []string
	var ws []*model.Weights
	for seed := range uint64(2) {
		w, err := model.RandomWeights(cfg, seed)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("m%d.safetensors", seed))
		if err := model.Save(p, w, &model.Meta{Preset: "small", Config: cfg}, model.F32); err != nil {
			t.Fatal(err)
		}
		paths, ws = append(paths, p), append(ws, w)
	}
	corpus := t.TempDir()
	data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "fmt", "print.go"))
	if err != nil {
		t.Skip(err)
	}
	os.WriteFile(filepath.Join(corpus, "print.go"), data, 0o644)

	out := filepath.Join(dir, "avg.safetensors")
	code, stdout, stderr := zpng(t, "average", "--out", out, "--corpus", corpus, "--device", "cpu", paths[0], paths[1])
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"m0.safetensors", "m1.safetensors", "against the best input", "wrote " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	avg, meta, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range avg.Tensors {
		for i := range v {
			if want := float32((float64(ws[0].Tensors[name][i]) + float64(ws[1].Tensors[name][i])) / 2); v[i] != want {
				t.Fatalf("%s[%d] = %v, want %v", name, i, v[i], want)
			}
		}
	}
	id, _ := model.Identity(paths[1])
	if meta.Preset != "small" || !strings.Contains(meta.Extra["average_of"], fmt.Sprintf("%x", id)) ||
		!strings.Contains(meta.Extra["validation_bpb"], "1 files") {
		t.Errorf("metadata %+v", meta)
	}

	before, _ := os.ReadFile(out)
	if code, _, stderr := zpng(t, "average", "--out", out, paths[0], paths[1]); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("existing output: exit %d, %s", code, stderr)
	}
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Error("existing output was modified")
	}
	if code, _, _ := zpng(t, "average", "--out", filepath.Join(dir, "one.safetensors"), paths[0]); code != 2 {
		t.Errorf("one model: exit %d, want 2", code)
	}
	big, _ := model.RandomWeights(model.Config{Layers: 2, Hidden: 16, Embed: 16}, 1)
	bigPath := filepath.Join(dir, "big.safetensors")
	model.Save(bigPath, big, &model.Meta{Config: big.Config}, model.F32)
	mixed := filepath.Join(dir, "mixed.safetensors")
	if code, _, stderr := zpng(t, "average", "--out", mixed, paths[0], bigPath); code != 1 || !strings.Contains(stderr, "cannot average") {
		t.Errorf("mixed shapes: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(mixed); err == nil {
		t.Error("a failed average left a file")
	}
}
