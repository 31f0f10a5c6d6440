package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInfoNeural: a neural or hybrid image made with the shipped small model shows its
// model, fine-tune, embedded weights and streams in readable lines.
func TestInfoNeural(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "notes.txt")
	text := strings.Repeat("The model predicts each next byte of this text; the coder turns it into bits.\n", 40)
	if err := os.WriteFile(in, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"neural", "hybrid"} {
		if code, _, errOut := zpng(t, "compress", in, "--method", method, "--model", "small", "--force"); code != 0 {
			t.Fatalf("compress: exit %d: %s", code, errOut)
		}
		code, out, errOut := zpng(t, "info", in+".zpng.png")
		if code != 0 {
			t.Fatalf("info: exit %d: %s", code, errOut)
		}
		for _, want := range []string{
			"method:        " + method,
			"model name:    small (2x256)",
			"fine-tune:     none",
			"embedded:      none weights, 0 bytes",
			"streams:       1,",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("info lacks %q:\n%s", want, out)
			}
		}
	}
}
