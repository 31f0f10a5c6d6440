//go:build !notorch

package train

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"zpng/core/engine/enginetest"
	"zpng/core/engine/torch"
	"zpng/core/engine/torch/torchtest"
	"zpng/core/model"
)

func TestSchedule(t *testing.T) {
	s := Schedule{Peak: 1, Warmup: 10, Final: 0.1, Steps: 110}
	if got := s.LR(0); math.Abs(got-0.1) > 1e-12 {
		t.Errorf("LR(0) = %g", got)
	}
	if got := s.LR(9); got != 1 {
		t.Errorf("end of warm-up: %g", got)
	}
	if got := s.LR(109); math.Abs(got-0.1) > 1e-12 {
		t.Errorf("last step: %g", got)
	}
	for i := 10; i < 109; i++ {
		if s.LR(i+1) > s.LR(i) {
			t.Fatalf("LR rises after warm-up at %d", i)
		}
	}
}

func TestWindows(t *testing.T) {
	// Distinct bytes, so that a target window tells its offset.
	data := make([]byte, 40)
	for i := range data {
		data[i] = byte(i + 1)
	}
	starts := []int{0, 10, 25}
	w := &Windows{Data: data, Starts: starts, Batch: 32, Seq: 5}
	rng := rand.New(rand.NewPCG(1, 2))
	atStart := 0
	for range 20 {
		in, tgt := w.Next(rng)
		for b := range w.Batch {
			i, g := in[b*5:(b+1)*5], tgt[b*5:(b+1)*5]
			o := int(g[0]) - 1
			if !slices.Equal(g, data[o:o+5]) || !slices.Equal(i[1:], g[:4]) {
				t.Fatalf("window in %v tgt %v", i, g)
			}
			want := byte(0)
			if !slices.Contains(starts, o) {
				want = data[o-1]
			} else {
				atStart++
			}
			if i[0] != want {
				t.Fatalf("window at %d starts with input %d, want %d", o, i[0], want)
			}
		}
	}
	if atStart < 20*2 {
		t.Errorf("%d windows at file starts", atStart)
	}
}

func TestWindowsCRLF(t *testing.T) {
	text := []byte(strings.Repeat("one line\ntwo\n\nthree lines\n", 8))
	binary := []byte(strings.Repeat("a\x00b\nc", 20))
	dos := []byte(strings.Repeat("DOS\r\nLINE\r\n", 10))
	data := slices.Concat(text, binary, dos)
	starts := []int{0, len(text), len(text) + len(binary)}
	const seq = 12
	w := &Windows{Data: data, Starts: starts, Batch: 64, Seq: seq, CRLF: 1}
	rng := rand.New(rand.NewPCG(3, 4))
	rewritten := 0
	for range 50 {
		in, tgt := w.Next(rng)
		for b := range w.Batch {
			i, g := in[b*seq:(b+1)*seq], tgt[b*seq:(b+1)*seq]
			if !slices.Equal(i[1:], g[:seq-1]) {
				t.Fatalf("inputs %q are not the targets %q shifted", i, g)
			}
			// A window as drawn is a slice of the data; a rewritten one is
			// such a slice once its added carriage returns are removed.
			if bytes.Contains(data, g) {
				continue
			}
			plain := bytes.TrimSuffix(bytes.ReplaceAll(g, []byte("\r\n"), []byte("\n")), []byte("\r"))
			if !bytes.Contains(data, plain) {
				t.Fatalf("window %q is neither in the data nor a CRLF version of it", g)
			}
			rewritten++
			for k, c := range g {
				if c == '\n' && (k > 0 && g[k-1] != '\r' || k == 0 && i[0] != '\r') {
					t.Fatalf("rewritten window %q (input %q) has a bare line feed", g, i)
				}
			}
			if bytes.Contains(g, []byte{0}) && bytes.Contains(g, []byte("\r")) {
				t.Fatalf("a window with a NUL byte was rewritten: %q", g)
			}
		}
	}
	if rewritten < 50*w.Batch/4 {
		t.Errorf("only %d windows rewritten with CRLF", rewritten)
	}
	w.CRLF = 0
	_, tgt := w.Next(rng)
	for b := range w.Batch {
		if g := tgt[b*seq : (b+1)*seq]; !bytes.Contains(data, g) {
			t.Fatalf("CRLF 0 still rewrites windows: %q", g)
		}
	}
}

func TestLoadCorpus(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.txt", []byte(strings.Repeat("a", 1000)))
	write("sub/b.txt", []byte(strings.Repeat("b", 500)))
	write("MANIFEST.tsv", []byte("checksums"))
	write("empty", nil)
	c, err := LoadCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Files != 2 || string(c.Val) != strings.Repeat("a", 10)+strings.Repeat("b", 5) ||
		len(c.Train) != 990+495 || !slices.Equal(c.Starts, []int{0, 990}) {
		t.Fatalf("corpus: %d files, starts %v, val %q, %d train bytes", c.Files, c.Starts, c.Val, len(c.Train))
	}
	if !strings.Contains(c.Desc, "2 files") {
		t.Errorf("description %q", c.Desc)
	}
	bench := filepath.Join(t.TempDir(), "shared", "bench")
	os.MkdirAll(bench, 0o755)
	os.WriteFile(filepath.Join(bench, "x"), []byte(strings.Repeat("x", 200)), 0o644)
	if _, err := LoadCorpus(bench); err == nil || !strings.Contains(err.Error(), "benchmark") {
		t.Errorf("benchmark directory accepted: %v", err)
	}
	if _, err := LoadCorpus(filepath.Join(dir, "nope")); err == nil {
		t.Error("missing directory accepted")
	}
}

// TestPretrainResume checks that resuming from a checkpoint gives the same
// model, bit for bit, as the uninterrupted run, and that the model file
// carries the training metadata.
func TestPretrainResume(t *testing.T) {
	torchtest.Require(t, torch.Load)
	text := enginetest.GoSource(t, 60000)
	c := NewCorpus([][]byte{text[:30000], text[30000:]}, "go source")
	cfg := model.Config{Layers: 1, Hidden: 16, Embed: 16}
	dir := t.TempDir()
	opts := PretrainOptions{Preset: "test", Config: cfg, Steps: 12, Batch: 4, Seq: 32, LR: 3e-3, Warmup: 3,
		Device: "cpu", Threads: 1, CheckpointEvery: 4, ValEvery: 4, ValBytes: 4096, CRLF: 0.5}

	full := opts
	full.Out = filepath.Join(dir, "full.safetensors")
	saved := filepath.Join(dir, "step8")
	var vals []float64
	full.Progress = func(p Progress) {
		if p.ValBPB != 0 {
			vals = append(vals, p.ValBPB)
		}
		if p.Step == 8 && p.Checkpoint != "" {
			// Keep the checkpoint of step 8, as if the run had died here.
			if err := os.CopyFS(saved, os.DirFS(p.Checkpoint)); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := Pretrain(c, full)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 12 || len(vals) != 3 || res.ValBPB != vals[2] || res.Stopped {
		t.Fatalf("result %+v, validations %v", res, vals)
	}
	if _, err := os.Stat(filepath.Join(CheckpointDir(full.Out), "state.json")); err != nil {
		t.Fatal(err)
	}

	resumed := PretrainOptions{Out: filepath.Join(dir, "resumed.safetensors"), Resume: saved, Device: "cpu",
		Threads: 1, CheckpointEvery: 4, ValEvery: 4, ValBytes: 4096}
	if _, err := Pretrain(c, resumed); err != nil {
		t.Fatal(err)
	}
	a, ma, err := model.Load(full.Out)
	if err != nil {
		t.Fatal(err)
	}
	b, mb, err := model.Load(resumed.Out)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range a.Tensors {
		if !slices.Equal(v, b.Tensors[name]) {
			t.Fatalf("%s differs between the full and the resumed run", name)
		}
	}
	if ma.Training == nil || ma.Training.Steps != 12 || ma.Training.Corpus != "go source" || ma.Preset != "test" ||
		ma.Training.ValidationBPB <= 0 || ma.Training.Device != "cpu" || ma.Training.Seconds <= 0 {
		t.Fatalf("metadata %+v %+v", ma, ma.Training)
	}
	if mb.Training.Steps != 12 || mb.Training.ValidationBPB != ma.Training.ValidationBPB {
		t.Fatalf("resumed metadata %+v", mb.Training)
	}
	// Validation measures a model file as the run measured it.
	if v, err := Validation(c, a, "cpu", 4096); err != nil || math.Abs(v-ma.Training.ValidationBPB) > 1e-9 {
		t.Fatalf("Validation: %v (%v), the run recorded %v", v, err, ma.Training.ValidationBPB)
	}
}

func TestPretrainInit(t *testing.T) {
	torchtest.Require(t, torch.Load)
	c := NewCorpus([][]byte{enginetest.GoSource(t, 20000)}, "go source")
	cfg := model.Config{Layers: 1, Hidden: 16, Embed: 16}
	init, err := model.RandomWeights(cfg, 99)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run := func(name string, o PretrainOptions) *model.Weights {
		o.Config, o.Steps, o.Batch, o.Seq, o.Device, o.Threads, o.ValBytes = cfg, 3, 2, 16, "cpu", 1, 1024
		o.Out = filepath.Join(dir, name)
		if _, err := Pretrain(c, o); err != nil {
			t.Fatal(err)
		}
		w, meta, err := model.Load(o.Out)
		if err != nil {
			t.Fatal(err)
		}
		if meta.Extra["init"] != o.InitDesc {
			t.Errorf("%s: metadata init %q, want %q", name, meta.Extra["init"], o.InitDesc)
		}
		return w
	}
	// A learning rate too small to move the weights visibly: the result is
	// the initial model, not the seed's random one.
	from := run("init.safetensors", PretrainOptions{LR: 1e-9, Init: init, InitDesc: "seed 99"})
	fresh := run("fresh.safetensors", PretrainOptions{LR: 1e-9})
	var dInit, dFresh float64
	for name, v := range init.Tensors {
		for i := range v {
			dInit = max(dInit, math.Abs(float64(from.Tensors[name][i]-v[i])))
			dFresh = max(dFresh, math.Abs(float64(fresh.Tensors[name][i]-v[i])))
		}
	}
	if dInit > 1e-6 || dFresh < 1e-3 {
		t.Fatalf("largest change from the initial weights: %g with Init, %g without", dInit, dFresh)
	}
	other := PretrainOptions{Config: model.Config{Layers: 2, Hidden: 16, Embed: 16}, Steps: 1, Batch: 1, Seq: 8,
		Device: "cpu", Out: filepath.Join(dir, "x.safetensors"), Init: init}
	if _, err := Pretrain(c, other); err == nil || !strings.Contains(err.Error(), "initial model") {
		t.Fatalf("a shape mismatch gave %v", err)
	}
}

func TestPretrainTimeLimit(t *testing.T) {
	torchtest.Require(t, torch.Load)
	c := NewCorpus([][]byte{enginetest.GoSource(t, 20000)}, "go source")
	out := filepath.Join(t.TempDir(), "m.safetensors")
	res, err := Pretrain(c, PretrainOptions{Config: model.Config{Layers: 1, Hidden: 8, Embed: 8}, Steps: 1_000_000,
		Batch: 2, Seq: 16, Device: "cpu", Out: out, TimeLimit: 1, ValBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stopped || res.Steps != 1 {
		t.Fatalf("result %+v", res)
	}
	if _, m, err := model.Load(out); err != nil || m.Training.Steps != 1 {
		t.Fatalf("model after the time limit: %v", err)
	}
}
