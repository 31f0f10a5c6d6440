//go:build !nogui

package gui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/png"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"zpng/core"
)

// These tests drive the window's logic on Fyne's headless test driver
// with the real pipeline, using the classical methods (no model needed).

// newTestUI returns a UI in a headless window. method is saved as the
// person's setting, as the settings panel would.
func newTestUI(t *testing.T, method string) (*UI, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	a.Preferences().SetString(prefMethod, method)
	w := test.NewTempWindow(t, nil)
	u := New(a, w, Core{}, nil)
	u.doOnMain = testMainLoop.do
	w.SetContent(u.Content())
	w.Resize(fyne.NewSize(780, 560))
	return u, w
}

// sample writes n bytes of compressible, text-like data.
func sample(t *testing.T, path string, n int) []byte {
	t.Helper()
	rng := rand.New(rand.NewSource(int64(n)))
	words := strings.Fields("the quick brown fox jumps over a lazy dog while zpng packs bytes into static")
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.Intn(len(words))])
		b.WriteByte(" \n"[rng.Intn(8)/7])
	}
	data := b.Bytes()[:n]
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

// mainLoop stands in for Fyne's main thread: the test driver would run
// fyne.Do at once on the worker goroutine, beside the test's own widget
// calls. Here the worker's calls wait until the test goroutine runs them.
type mainLoop struct{ calls chan func() }

var testMainLoop = mainLoop{make(chan func())}

func (m mainLoop) do(f func(), wait bool) {
	if !wait {
		m.calls <- f
		return
	}
	done := make(chan struct{})
	m.calls <- func() { f(); close(done) }
	<-done
}

// settle runs the worker's widget updates on the test goroutine until
// every queued job has finished.
func settle(u *UI) {
	idle := make(chan struct{})
	go func() { u.wait(); close(idle) }()
	for {
		select {
		case f := <-testMainLoop.calls:
			f()
		case <-idle:
			return
		}
	}
}

func drop(u *UI, paths ...string) {
	uris := make([]fyne.URI, len(paths))
	for i, p := range paths {
		uris[i] = storage.NewFileURI(p)
	}
	u.Drop(fyne.NewPos(10, 10), uris)
	settle(u)
}

func lastJob(t *testing.T, u *UI) *job {
	t.Helper()
	if len(u.shown) == 0 {
		t.Fatal("no job was queued")
	}
	return u.shown[len(u.shown)-1]
}

func TestDropCompressThenRestore(t *testing.T) {
	u, _ := newTestUI(t, "zstd")
	dir := t.TempDir()
	orig := filepath.Join(dir, "notes.txt")
	data := sample(t, orig, 200_000)

	drop(u, orig)
	c := lastJob(t, u)
	if c.action != Compress || c.view.status != "done" {
		t.Fatalf("compress: action %v, status %q, message %q", c.action, c.view.status, labelText(c.view.message))
	}
	png := orig + zpngSuffix
	if c.result.Output != png || !exists(png) {
		t.Fatalf("compressed to %q, want %q", c.result.Output, png)
	}
	if !c.result.Verified || c.result.Method != "zstd" {
		t.Fatalf("result: verified %v, method %q", c.result.Verified, c.result.Method)
	}
	if !strings.Contains(c.view.verified.Text, "Verified") || !strings.Contains(c.view.sha.Text, hexSum(data)) {
		t.Fatalf("verified mark %q, sha %q", c.view.verified.Text, c.view.sha.Text)
	}
	if c.view.preview == nil || c.view.preview.File != png || c.view.preview.ScaleMode != canvas.ImageScalePixels {
		t.Fatalf("preview is not the output PNG scaled by pixels: %+v", c.view.preview)
	}

	// The original is still there, so the restore goes beside it, under a
	// free name, and never over it.
	drop(u, png)
	r := lastJob(t, u)
	if r.action != Restore || r.view.status != "done" {
		t.Fatalf("restore: action %v, status %q, message %q", r.action, r.view.status, labelText(r.view.message))
	}
	restored := filepath.Join(dir, "notes (2).txt")
	if r.result.Output != restored {
		t.Fatalf("restored to %q, want %q", r.result.Output, restored)
	}
	got, err := os.ReadFile(restored)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("restored bytes differ from the original (err %v, %d vs %d bytes)", err, len(got), len(data))
	}
	if !strings.Contains(labelText(r.view.message), "saved as notes (2).txt") {
		t.Fatalf("the rename is not reported: %q", labelText(r.view.message))
	}
	if r.view.preview.File != png {
		t.Fatalf("restore preview shows %q, want the source PNG", r.view.preview.File)
	}
	if orig2, _ := os.ReadFile(orig); !bytes.Equal(orig2, data) {
		t.Fatal("the original file was changed")
	}
}

func TestOpenRestoresUnderStoredName(t *testing.T) {
	u, _ := newTestUI(t, "xz")
	dir := t.TempDir()
	orig := filepath.Join(dir, "data.bin")
	data := sample(t, orig, 50_000)
	drop(u, orig)
	png := lastJob(t, u).result.Output
	if err := os.Remove(orig); err != nil {
		t.Fatal(err)
	}
	// A ZPNG image renamed without the .zpng.png suffix is still
	// recognised by its content, as a double-click would open it.
	renamed := filepath.Join(dir, "picture.png")
	if err := os.Rename(png, renamed); err != nil {
		t.Fatal(err)
	}
	u.Open([]string{renamed})
	settle(u)
	j := lastJob(t, u)
	if j.action != Restore || j.view.status != "done" || j.result.Output != orig {
		t.Fatalf("restore: action %v, status %q, output %q, message %q", j.action, j.view.status, j.result.Output, labelText(j.view.message))
	}
	if got, _ := os.ReadFile(orig); !bytes.Equal(got, data) {
		t.Fatal("restored bytes differ from the original")
	}
}

func TestQueueRunsInOrder(t *testing.T) {
	u, _ := newTestUI(t, "stored")
	dir := t.TempDir()
	var paths []string
	for _, name := range []string{"a", "b", "c"} {
		p := filepath.Join(dir, name)
		sample(t, p, 3000)
		paths = append(paths, p)
	}
	drop(u, paths...)
	if len(u.shown) != 3 {
		t.Fatalf("%d jobs queued, want 3", len(u.shown))
	}
	for i, j := range u.shown {
		if j.view.status != "done" || j.result.Output != paths[i]+zpngSuffix {
			t.Fatalf("job %d: status %q, output %v", i, j.view.status, j.result)
		}
	}
	u.clearFinished()
	if len(u.list.Objects) != 0 || !u.hint.Visible() {
		t.Fatal("clearing finished jobs left cards or hid the hint")
	}
}

// TestDropFolder: a dropped folder becomes one image of its tree, and the
// image restores as a folder beside it under a free name; both cards show
// the entry count.
func TestDropFolder(t *testing.T) {
	u, _ := newTestUI(t, "zstd")
	dir := t.TempDir()
	folder := filepath.Join(dir, "photos")
	if err := os.MkdirAll(filepath.Join(folder, "2026", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := sample(t, filepath.Join(folder, "2026", "list.txt"), 5000)
	if err := os.WriteFile(filepath.Join(folder, "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	drop(u, folder)
	c := lastJob(t, u)
	if c.action != Compress || c.view.status != "done" {
		t.Fatalf("compress: action %v, status %q, message %q", c.action, c.view.status, labelText(c.view.message))
	}
	png := folder + zpngSuffix
	if c.result.Output != png || c.result.Entries != 4 || !strings.Contains(labelText(c.view.message), "A folder of 4 entries") {
		t.Fatalf("compressed to %q, %d entries, card %q", c.result.Output, c.result.Entries, labelText(c.view.message))
	}

	drop(u, png)
	r := lastJob(t, u)
	restored := filepath.Join(dir, "photos (2)")
	if r.action != Restore || r.view.status != "done" || r.result.Output != restored {
		t.Fatalf("restore: action %v, status %q, output %q, message %q", r.action, r.view.status, r.result.Output, labelText(r.view.message))
	}
	if !strings.Contains(labelText(r.view.message), "A folder of 4 entries") {
		t.Fatalf("restore card %q", labelText(r.view.message))
	}
	if got, err := os.ReadFile(filepath.Join(restored, "2026", "list.txt")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("restored list.txt: %v", err)
	}
	if st, err := os.Stat(filepath.Join(restored, "run.sh")); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("restored run.sh: %v", err)
	}
	if st, err := os.Stat(filepath.Join(restored, "2026", "empty")); err != nil || !st.IsDir() {
		t.Fatalf("restored empty folder: %v", err)
	}
}

func TestDropErrors(t *testing.T) {
	dir := t.TempDir()
	notZPNG := filepath.Join(dir, "x.zpng.png")
	writePlainPNG(t, notZPNG)
	missing := filepath.Join(dir, "missing.txt")
	text := filepath.Join(dir, "text.txt")
	sample(t, text, 1000)
	noModel := core.Options{Method: "neural", Model: filepath.Join(dir, "no-such-model.safetensors")}

	// The message the pipeline itself gives for a missing model.
	_, modelErr := core.Compress(context.Background(), text, filepath.Join(t.TempDir(), "out.png"), noModel)
	if modelErr == nil {
		t.Fatal("core compressed with a missing model")
	}

	for _, tc := range []struct {
		name, path, want string
		opt              core.Options
	}{
		{"not ZPNG", notZPNG, "not a ZPNG image", core.Options{Method: "zstd"}},
		{"missing file", missing, missing + ": no such file or directory", core.Options{Method: "zstd"}},
		{"missing model", text, modelErr.Error(), noModel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, w := newTestUI(t, tc.opt.Method)
			if tc.opt.Model != "" {
				u.settings.prefs.SetString(prefModel, tc.opt.Model)
			}
			before := listDir(t, dir)
			drop(u, tc.path)
			j := lastJob(t, u)
			if j.view.status != "failed" {
				t.Fatalf("status %q, want failed", j.view.status)
			}
			msg := labelText(j.view.message)
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("card says %q, want it to contain %q", msg, tc.want)
			}
			// The summary at the top says the same, exact message, and
			// no dialog covers the window.
			if top := w.Canvas().Overlays().Top(); top != nil {
				t.Fatal("an overlay (a dialog) covers the window")
			}
			if !u.errors.box.Visible() || !strings.Contains(u.errors.text.Text, msg) {
				t.Fatalf("error summary %q (shown %v), want it to contain %q", u.errors.text.Text, u.errors.box.Visible(), msg)
			}
			if after := listDir(t, dir); after != before {
				t.Fatalf("a failed job wrote files: %q -> %q", before, after)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	u, _ := newTestUI(t, "xz")
	dir := t.TempDir()
	big := filepath.Join(dir, "big.txt")
	sample(t, big, 8<<20)
	small := filepath.Join(dir, "small.txt")
	sample(t, small, 1000)
	u.Enqueue(Compress, big)
	running := lastJob(t, u)
	u.Enqueue(Compress, small)
	waiting := lastJob(t, u)

	// The second job waits: the worker cannot start the first one until
	// this goroutine, the main loop here, runs its widget updates.
	test.Tap(waiting.view.cancel)
	if waiting.view.status != "cancelled" {
		t.Fatalf("a waiting job is %q after Cancel, want cancelled at once", waiting.view.status)
	}
	test.Tap(running.view.cancel)
	settle(u)
	if running.view.status != "cancelled" {
		t.Fatalf("status %q after Cancel, message %q", running.view.status, labelText(running.view.message))
	}
	if after := listDir(t, dir); after != "big.txt,small.txt" {
		t.Fatalf("cancelled jobs left files: %q", after)
	}
}

func TestShowInFolderAndSaveAs(t *testing.T) {
	u, _ := newTestUI(t, "zstd")
	dir := t.TempDir()
	orig := filepath.Join(dir, "f.txt")
	sample(t, orig, 10_000)
	drop(u, orig)
	j := lastJob(t, u)

	var opened string
	u.openPath = func(d string) error { opened = d; return nil }
	test.Tap(j.view.showDir)
	settle(u)
	if opened != dir {
		t.Fatalf("Show in folder opened %q, want %q", opened, dir)
	}
	if j.view.actionErr.Visible() {
		t.Fatalf("a failure is shown after a good Show in folder: %q", j.view.actionErr.Text)
	}

	dst := filepath.Join(t.TempDir(), "copy.png")
	u.dialogs = chosenFile(dst)
	test.Tap(j.view.saveAs)
	want, _ := os.ReadFile(j.result.Output)
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Save as wrote %d bytes (err %v), want %d", len(got), err, len(want))
	}
}

func TestSettingsAreRemembered(t *testing.T) {
	a := test.NewTempApp(t)
	s := Settings{a.Preferences()}
	if got := s.Options(); got.Method != "auto" || got.Model != "auto" || got.FinetuneSteps != core.FinetuneByLevel || got.Device != "auto" || got.SelfContained || got.Level != core.DefaultLevel {
		t.Fatalf("defaults: %+v", got)
	}
	form := s.form()
	test.NewTempWindow(t, form)
	for _, item := range form.Items {
		switch w := item.Widget.(type) {
		case *widget.Select:
			if item.Text == "Device" {
				w.SetSelected("cpu")
			} else {
				w.SetSelected("xz")
			}
		case *widget.SelectEntry:
			w.SetText("/models/mine.safetensors")
		case *widget.Entry:
			w.SetText("")
			test.Type(w, "120")
		case *widget.Check:
			test.Tap(w)
		case *fyne.Container: // the Faster ↔ Smaller slider and its labels
			for _, o := range w.Objects {
				if sl, ok := o.(*widget.Slider); ok {
					sl.SetValue(2)
				}
			}
		}
	}
	got := Settings{a.Preferences()}.Options()
	want := core.Options{Level: 2, Method: "xz", Model: "/models/mine.safetensors", FinetuneSteps: 120, SelfContained: true, Device: "cpu"}
	if got.Level != want.Level || got.Method != want.Method || got.Model != want.Model || got.FinetuneSteps != want.FinetuneSteps ||
		got.SelfContained != want.SelfContained || got.Device != want.Device {
		t.Fatalf("settings read back as %+v, want %+v", got, want)
	}
}

func TestEmptyWindowImage(t *testing.T) {
	_, w := newTestUI(t, "auto")
	test.AssertImageMatches(t, "empty_window.png", w.Canvas().Capture())
}

func TestFreeName(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.txt", "a (2).txt", "b.txt.zpng.png", ".rc"} {
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	for in, want := range map[string]string{
		"a.txt":          "a (3).txt",
		"new.txt":        "new.txt",
		"b.txt.zpng.png": "b.txt (2).zpng.png",
		".rc":            ".rc (2)",
	} {
		if got := freeName(filepath.Join(dir, in)); got != filepath.Join(dir, want) {
			t.Errorf("freeName(%q) = %q, want %q", in, filepath.Base(got), want)
		}
	}
}

// chosenFile is a person who always picks path in a file dialog.
type chosenFile string

func (c chosenFile) OpenFile(_ string, _ []string, done func(string)) { done(string(c)) }
func (c chosenFile) SaveFile(_, _ string, done func(string))          { done(string(c)) }

func labelText(l *widget.Label) string {
	if l == nil {
		return ""
	}
	return l.Text
}

// containsText reports whether a label or text under o reads exactly s.
func containsText(o fyne.CanvasObject, s string) bool {
	for _, obj := range test.LaidOutObjects(o) {
		switch v := obj.(type) {
		case *widget.Label:
			if v.Text == s {
				return true
			}
		case *canvas.Text:
			if v.Text == s {
				return true
			}
		}
	}
	return false
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

func hexSum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// writePlainPNG writes an ordinary PNG: a picture, not a ZPNG image.
func writePlainPNG(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
