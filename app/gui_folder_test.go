//go:build !nogui

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jezek/xgb/xproto"

	"zpng/core"
)

// testDropFolder drops a folder on the window the way a file manager does
// (XDND): the window must make one image of its tree, which restores to
// the same files, and show that image.
func testDropFolder(t *testing.T, bin, display string) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "album")
	if err := os.MkdirAll(filepath.Join(folder, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	notes := textLike(8_000, 3)
	script := []byte("#!/bin/sh\necho album\n")
	if err := os.WriteFile(filepath.Join(folder, "notes.txt"), notes, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "run.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}

	app := startApp(t, bin, display, dir)
	x := dialX(t, display)
	win := x.waitForWindow(t, app, func(w xproto.Window) bool {
		return x.name(w) == "ZPNG" && x.hasProperty(w, "XdndAware")
	})
	x.drop(t, win, 400, 400, folder)
	img := folder + ".zpng.png"
	waitForFile(t, app, img, nil)

	out := t.TempDir()
	r, err := core.Decompress(context.Background(), img, out, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Entries != 3 || r.Output != filepath.Join(out, "album") {
		t.Fatalf("the image restores %d entries to %s", r.Entries, r.Output)
	}
	if got, _ := os.ReadFile(filepath.Join(r.Output, "notes.txt")); !bytes.Equal(got, notes) {
		t.Fatal("notes.txt does not restore")
	}
	if st, err := os.Stat(filepath.Join(r.Output, "run.sh")); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("run.sh does not restore executable: %v", err)
	}
	if st, err := os.Stat(filepath.Join(r.Output, "empty")); err != nil || !st.IsDir() {
		t.Fatalf("the empty folder does not restore: %v", err)
	}
	waitForImages(t, display, filepath.Join(dir, "screen.png"), img)
	app.stop(t)
}
