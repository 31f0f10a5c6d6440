package core

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLegacyImages decodes images that zpng made before revision 2 of the
// cm model (commit cfb5128): methods cm1 and hybrid1 (the shipped small-v5
// model, no fine-tune) of testdata/legacy.txt. zpng makes neither any more
// but must restore them.
func TestLegacyImages(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "legacy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ image, method string }{
		{"legacy-cm1.zpng.png", "cm1"},
		{"legacy-hybrid1.zpng.png", "hybrid1"},
	} {
		info, err := Inspect(filepath.Join("testdata", c.image))
		if err != nil {
			t.Fatal(err)
		}
		if info.Method != c.method {
			t.Errorf("%s: method %s, want %s", c.image, info.Method, c.method)
		}
		out := filepath.Join(t.TempDir(), "restored.txt")
		r, err := Decompress(context.Background(), filepath.Join("testdata", c.image), out, Options{Engine: "go"})
		if err != nil {
			t.Fatalf("%s: %v", c.image, err)
		}
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, want) || r.Method != c.method {
			t.Errorf("%s: restored %d bytes (method %s), want legacy.txt", c.image, len(got), r.Method)
		}
	}
	// Neither can be chosen for new images.
	in := filepath.Join(t.TempDir(), "x.txt")
	if err := os.WriteFile(in, want, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"cm1", "hybrid1"} {
		_, err := Compress(context.Background(), in, "", Options{Method: m})
		if err == nil || !strings.Contains(err.Error(), "only decodes") {
			t.Errorf("--method %s: %v, want it refused as decode-only", m, err)
		}
	}
}
