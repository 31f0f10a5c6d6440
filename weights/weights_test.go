package weights

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestModelsAreSafetensors(t *testing.T) {
	// The folder may hold no model yet; whatever it holds must be a
	// safetensors file (8-byte header length, then a JSON header).
	for _, m := range Models() {
		if !strings.HasSuffix(m.Name, ".safetensors") || len(m.Data) < 10 || m.Data[8] != '{' {
			t.Errorf("%s: not a safetensors file (%d bytes)", m.Name, len(m.Data))
		}
	}
	if _, ok := Card("no-such-model.safetensors"); ok {
		t.Error("card of a missing model")
	}
	if _, err := files.ReadFile("README.md"); err != nil {
		t.Errorf("README.md not embedded: %v", err)
	}
}

func TestNameOrder(t *testing.T) {
	names := []string{"small-v10.safetensors", "small-v2.safetensors", "large-v3.safetensors",
		"small-v9.safetensors", "large-v12.safetensors", "small-v1.safetensors", "small.safetensors"}
	sort.Slice(names, func(a, b int) bool { return nameLess(names[a], names[b]) })
	want := []string{"large-v3.safetensors", "large-v12.safetensors", "small-v1.safetensors",
		"small-v2.safetensors", "small-v9.safetensors", "small-v10.safetensors", "small.safetensors"}
	if !slices.Equal(names, want) {
		t.Errorf("order %v, want %v", names, want)
	}
	ms := Models()
	for i := 1; i < len(ms); i++ {
		if !nameLess(ms[i-1].Name, ms[i].Name) {
			t.Errorf("Models: %s before %s", ms[i-1].Name, ms[i].Name)
		}
	}
}

// TestEmbeddedSet: the binary holds exactly the models at the top of the
// folder, each with its card, and README.md; no script, no subfolder.
func TestEmbeddedSet(t *testing.T) {
	onDisk, err := filepath.Glob("*.safetensors")
	if err != nil || len(onDisk) == 0 {
		t.Fatalf("no model at the top of the folder: %v", err)
	}
	sort.Slice(onDisk, func(a, b int) bool { return nameLess(onDisk[a], onDisk[b]) })
	var embedded []string
	for _, m := range Models() {
		embedded = append(embedded, m.Name)
		if _, ok := Card(m.Name); !ok {
			t.Errorf("%s: no card embedded", m.Name)
		}
	}
	if !slices.Equal(embedded, onDisk) {
		t.Errorf("embedded models %v, want %v", embedded, onDisk)
	}
	err = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || name == "." {
			return err
		}
		if d.IsDir() {
			t.Errorf("folder %s embedded", name)
			return fs.SkipDir
		}
		if ext := path.Ext(name); ext != ".safetensors" && ext != ".md" {
			t.Errorf("%s embedded: only models and cards belong in the binary", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSuperseded: the superseded models stay in the repository, each a
// safetensors file with its card, and none of them is embedded.
func TestSuperseded(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("superseded", "*.safetensors"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no superseded model on disk: %v", err)
	}
	for _, p := range names {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) < 10 || data[8] != '{' {
			t.Errorf("%s: not a safetensors file", p)
		}
		if _, err := os.Stat(strings.TrimSuffix(p, ".safetensors") + ".md"); err != nil {
			t.Errorf("%s: no card: %v", p, err)
		}
		if _, err := files.Open(filepath.Base(p)); err == nil {
			t.Errorf("%s is embedded", filepath.Base(p))
		}
	}
}
