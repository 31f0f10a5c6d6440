package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zpng/core/model"
)

var tinyCfg = model.Config{Layers: 2, Hidden: 32, Embed: 32}

// shipped makes a random model as if it were shipped as NAME.safetensors
// with the given preset.
func shipped(t *testing.T, name, preset string, seed uint64) *Model {
	t.Helper()
	w, err := model.RandomWeights(tinyCfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	data, err := model.Encode(w, &model.Meta{Preset: preset}, model.F32)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(data, Shipped, name+".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestShippedVersions: a newer shipped file of the same name (small-v2 after
// small-v1) takes over "small" and auto's list, while the older one stays
// reachable by its file name and by identity, for the images that use it.
func TestShippedVersions(t *testing.T) {
	large, v1, v2 := shipped(t, "large-v1", "large", 1), shipped(t, "small-v1", "small", 2), shipped(t, "small-v2", "small", 3)
	c := New([]*Model{large, v1, v2}, t.TempDir())
	var names []string
	for _, m := range c.Models() {
		names = append(names, m.File)
	}
	if strings.Join(names, " ") != "large-v1 small-v2" {
		t.Errorf("catalog %v, want large-v1 small-v2", names)
	}
	for spec, want := range map[string]*Model{"small": v2, "small-v1": v1, "small-v2": v2, "large": large} {
		if m, err := c.ByName(spec); err != nil || m.ID != want.ID {
			t.Errorf("--model %s: %v, got %v", spec, err, m)
		}
	}
	if m, err := c.ByID(v1.ID, "small", nil); err != nil || m != v1 {
		t.Errorf("by identity: %v", err)
	}
	if _, err := c.ByName("small-v3"); !errors.Is(err, ErrMissing) {
		t.Errorf("unknown name: %v", err)
	}
	if w, err := v1.Weights(); err != nil || w.Config != tinyCfg {
		t.Errorf("weights of a shipped model: %v", err)
	}
}

// TestFolder: models in the folder are found by name and identity, files
// that are not models are passed over, and a missing model's error names
// it, its identity and the folder.
func TestFolder(t *testing.T) {
	dir := t.TempDir()
	w, err := model.RandomWeights(tinyCfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "mine.safetensors")
	if err := model.Save(path, w, &model.Meta{Preset: "mine"}, model.F32); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "junk.safetensors"), []byte("not a model"), 0o644)
	c := New(nil, dir)
	m, err := c.ByName("mine")
	if err != nil || m.Source != path {
		t.Fatalf("by name: %v, %+v", err, m)
	}
	if got, err := c.ByID(m.ID, "mine", nil); err != nil || got.Source != path {
		t.Errorf("by identity: %v", err)
	}
	if len(c.Models()) != 1 {
		t.Errorf("%d models, want 1", len(c.Models()))
	}
	other := shipped(t, "other", "other", 5)
	_, err = c.ByID(other.ID, "other", nil)
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("missing model: %v", err)
	}
	for _, s := range []string{`"other"`, other.IDHex(), dir, "--models-dir"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not name %s", err, s)
		}
	}
	if got, err := c.ByID(other.ID, "other", []*Model{other}); err != nil || got != other {
		t.Errorf("extra model: %v", err)
	}
}

// TestSupersededNamed: the identities listed for the superseded models are
// those of the files in weights/superseded, and a missing one is named.
func TestSupersededNamed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "weights", "superseded", "*.safetensors"))
	if err != nil || len(files) != len(superseded) {
		t.Fatalf("%d superseded files (%v), %d listed", len(files), err, len(superseded))
	}
	c := New(nil, t.TempDir())
	for _, f := range files {
		id, err := model.Identity(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".safetensors")
		if d := Superseded(id); !strings.HasPrefix(d, name+", not shipped: weights/superseded/"+name+".safetensors") {
			t.Errorf("%s: Describe says %q", name, d)
		}
		if _, err := c.ByID(id, "small", nil); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "("+name+", not shipped") {
			t.Errorf("%s: ByID says %v", name, err)
		}
	}
	if d := Superseded([32]byte{1}); d != "" {
		t.Errorf("an unknown identity is described as %q", d)
	}
}
