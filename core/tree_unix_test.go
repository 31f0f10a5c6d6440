//go:build unix

package core

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestTreeRefusesSpecialFiles: a FIFO in a folder stops the compression
// with its name; nothing is written.
func TestTreeRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	root := makeTree(t, dir, "p", sampleTree[:1])
	if err := syscall.Mkfifo(filepath.Join(root, "docs", "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Compress(context.Background(), root, "", Options{Method: "zstd"})
	if err == nil || !strings.Contains(err.Error(), "named pipe") || !strings.Contains(err.Error(), "pipe") {
		t.Fatalf("FIFO: %v", err)
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Fatalf("left %v", names)
	}
}
