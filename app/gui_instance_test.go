//go:build !nogui

package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jezek/xgb/xproto"
)

// testSecondLaunch opens a file while the window runs, as a double-click
// does: the second zpng hands the file to the window and exits 0, the
// window compresses it, and one ZPNG window is on screen.
func testSecondLaunch(t *testing.T, bin, display string) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, textLike(15_000, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	first := startApp(t, bin, display, dir)
	x := dialX(t, display)
	isZPNG := func(w xproto.Window) bool { return x.name(w) == "ZPNG" }
	x.waitForWindow(t, first, isZPNG)

	second := startApp(t, bin, display, dir, notes)
	select {
	case err := <-second.exited:
		if err != nil {
			t.Fatalf("the second zpng exited with %v, want 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the second zpng still runs after 20 s: it did not hand its file over")
	}
	waitForFile(t, first, notes+".zpng.png", nil)

	var windows int
	for _, w := range x.viewable() {
		if isZPNG(w) {
			windows++
		}
	}
	if windows != 1 {
		t.Fatalf("%d ZPNG windows on screen, want 1", windows)
	}
	first.stop(t)
	if _, err := os.Stat(filepath.Join(dir, "run", "zpng-_"+display[1:]+".sock")); err == nil {
		t.Error("the window left its socket behind")
	}
}
