//go:build !notorch

package core

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"zpng/codec"
	"zpng/core/engine/torch"
	"zpng/core/engine/torch/torchtest"
	"zpng/core/neural"
)

// TestNeuralAcrossEngines: an image made with the torch engine (fine-tuned,
// so carrying a delta) on 2 threads restores with the go engine on 1, and
// one made with the go engine restores with torch.
func TestNeuralAcrossEngines(t *testing.T) {
	torchtest.Require(t, torch.Load)
	cat, _ := modelsDir(t, "tiny", tinyCfg, 7)
	policy := neural.DefaultPolicy()
	policy.TuneBytesPerParam = 2 // the tiny model trains 544 parameters
	data := prose(6000)
	var phases []Progress
	copt := Options{Catalog: cat, Method: "neural", Model: "tiny", Engine: "torch", Device: "cpu", Threads: 2, FinetuneSteps: 20, Policy: &policy,
		Progress: func(p Progress) { phases = append(phases, p) }}
	r, info := roundTrip(t, data, copt, Options{Catalog: cat, Engine: "go", Threads: 1})
	meta, err := ParseNeuralMeta(info.Meta)
	if err != nil {
		t.Fatal(err)
	}
	// A random model learns the file's byte statistics in a few steps, so the
	// delta pays for itself.
	if meta.Embedded != "delta" || meta.EmbeddedBytes == 0 || meta.FinetuneSteps != 20 ||
		!(meta.BPBTuned < meta.BPBBase) || meta.Engine != "" || !hasNote(r.Notes, "engine torch on cpu") {
		t.Errorf("meta %+v, notes %q", meta, r.Notes)
	}
	if info.Flags != 1 { // the WGHT section is a delta
		t.Errorf("flags %d, want delta", info.Flags)
	}
	var tuned bool
	for _, p := range phases {
		if p.Phase == "fine-tune" && p.Done > 0 && p.Loss > 0 {
			tuned = true
		}
		if p.Fraction < 0 || p.Fraction > 1 {
			t.Errorf("progress fraction %v", p.Fraction)
		}
	}
	if !tuned {
		t.Error("no fine-tune progress with a loss")
	}

	// The delta itself damaged (its section checksum made to match): a
	// clear error, no file.
	img, _ := os.ReadFile(r.Output)
	c, err := codec.ReadBytes(img)
	if err != nil {
		t.Fatal(err)
	}
	wsec, _ := c.Section(codec.SectionWeights)
	for _, i := range spread(len(wsec), 8) {
		cc := *c
		cc.Sections = nil
		for _, s := range c.Sections {
			if s.Type == codec.SectionWeights {
				s.Data = bytes.Clone(s.Data)
				s.Data[i] ^= 0x10
			}
			cc.Sections = append(cc.Sections, s)
		}
		var b bytes.Buffer
		if err := codec.Write(&b, &cc); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "bad.png")
		os.WriteFile(p, b.Bytes(), 0o644)
		out := filepath.Join(filepath.Dir(p), "out")
		if _, err := Decompress(context.Background(), p, out, Options{Catalog: cat, Engine: "torch", Device: "cpu"}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("delta byte %d flipped: %v, want ErrCorrupt", i, err)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("delta byte %d flipped: wrote a file", i)
		}
	}

	// The other way round, with several streams.
	policy.MinSegmentBytes = 1000
	r, info = roundTrip(t, data, Options{Catalog: cat, Method: "neural", Model: "tiny", Engine: "go", Threads: 1, Policy: &policy},
		Options{Catalog: cat, Engine: "torch", Device: "cpu", Threads: 2})
	if meta, _ := ParseNeuralMeta(info.Meta); meta == nil || meta.Streams != 6 || meta.Embedded != "none" {
		t.Errorf("go engine image: meta %s, notes %q", info.Meta, r.Notes)
	}

	// Method hybrid both ways, with several streams in 3 groups, coded 2 at
	// once and decoded one at a time (and a fine-tune asked for, which only
	// the torch engine runs): its cm models must see the engines' tables bit
	// for bit.
	policy.GroupBytes = 2000
	for _, engines := range [][2]string{{"torch", "go"}, {"go", "torch"}} {
		copt := Options{Catalog: cat, Method: "hybrid", Model: "tiny", Engine: engines[0], Device: "cpu", Threads: 2, FinetuneSteps: 20, Policy: &policy}
		r, info = roundTrip(t, data, copt, Options{Catalog: cat, Engine: engines[1], Device: "cpu", Threads: 1})
		meta, _ := ParseNeuralMeta(info.Meta)
		if info.Method != "hybrid" || meta == nil || meta.Streams != 6 || !hasNote(r.Notes, "engine "+engines[0]) {
			t.Errorf("hybrid %s -> %s: method %s, meta %s, notes %q", engines[0], engines[1], info.Method, info.Meta, r.Notes)
		}
	}
}
