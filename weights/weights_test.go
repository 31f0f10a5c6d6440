package weights

import (
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
