package weights

import (
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
