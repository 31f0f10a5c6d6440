//go:build !nogui

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"zpng/core"
)

// TestWindowUnderXvfb runs the built command on a real X server (Xvfb),
// as a person does: double-clicking a ZPNG image, clicking a button, and
// dropping files on the window from a file manager.
//
// Without Xvfb the test is skipped, unless ZPNG_REQUIRE_XVFB=1 (as in CI),
// where a missing Xvfb fails it. ZPNG_SCREENSHOT=PATH keeps a screenshot
// of the window after the drop.
func TestWindowUnderXvfb(t *testing.T) {
	xvfb := needXvfb(t)
	bin := buildCommand(t, t.TempDir())
	display := startXvfb(t, xvfb)
	t.Run("OpenFile", func(t *testing.T) { testOpenFile(t, bin, display) })
	t.Run("DialogAndDrop", func(t *testing.T) { testDialogAndDrop(t, bin, display) })
	t.Run("DropFolder", func(t *testing.T) { testDropFolder(t, bin, display) })
	t.Run("SecondLaunch", func(t *testing.T) { testSecondLaunch(t, bin, display) })
}

// testOpenFile runs `zpng FILE.zpng.png`, what a double-click runs: the
// window restores the file, shows the image, and closes cleanly on SIGTERM.
func testOpenFile(t *testing.T, bin, display string) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "letter.txt")
	data := textLike(20_000, 1)
	zpng := compressed(t, orig, data)

	app := startApp(t, bin, display, dir, zpng)
	waitForFile(t, app, orig, data)
	waitForImages(t, display, filepath.Join(dir, "screen.png"), zpng)
	app.stop(t)
}

// compressed writes data to path, compresses it with the real pipeline and
// removes the original; it returns the ZPNG image.
func compressed(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := core.Compress(context.Background(), path, "", core.Options{Method: "zstd"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	return res.Output
}

// runningApp is the zpng command running on the test display.
type runningApp struct {
	cmd    *exec.Cmd
	log    bytes.Buffer
	exited chan error
}

// startApp starts zpng with a fresh home in dir, so that no one's settings
// are read or changed; the settings it reads say to use zstd.
func startApp(t *testing.T, bin, display, dir string, args ...string) *runningApp {
	t.Helper()
	home := filepath.Join(dir, "home")
	prefs := filepath.Join(home, ".config", "fyne", "io.zpng.app")
	if err := os.MkdirAll(prefs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(prefs, "preferences.json"), []byte(`{"method":"zstd"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The runtime folder, where the window listens for a second launch,
	// is the test's own.
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	a := &runningApp{exited: make(chan error, 1)}
	a.cmd = exec.Command(bin, args...)
	a.cmd.Env = append(guiEnv(display, home), "XDG_RUNTIME_DIR="+run)
	a.cmd.Stdout, a.cmd.Stderr = &a.log, &a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.exited <- a.cmd.Wait() }()
	t.Cleanup(func() {
		if a.cmd.ProcessState == nil {
			a.cmd.Process.Kill()
			<-a.exited
		}
		if t.Failed() {
			t.Logf("zpng output:\n%s", a.log.String())
		}
	})
	return a
}

// stop asks the app to quit (SIGTERM) and expects a clean exit.
func (a *runningApp) stop(t *testing.T) {
	t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-a.exited:
		if err != nil {
			t.Fatalf("zpng exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("zpng did not exit within 15 s of SIGTERM")
	}
}

// waitForFile waits until path holds exactly data, or, with data nil,
// until path exists (the pipeline moves finished files into place).
func waitForFile(t *testing.T, a *runningApp, path string, data []byte) {
	t.Helper()
	want := sha256.Sum256(data)
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := os.ReadFile(path)
		if err == nil && (data == nil || sha256.Sum256(got) == want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s with the expected SHA-256 after 60 s (read error %v)", path, err)
		}
		select {
		case err := <-a.exited:
			t.Fatalf("zpng exited early: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitForImages waits until the window shows each PNG pixel for pixel:
// nine in ten of its colours are on screen. It returns the screenshot.
func waitForImages(t *testing.T, display, shot string, pngs ...string) image.Image {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		img := screenshot(t, display, shot)
		shown := true
		var report []string
		for _, p := range pngs {
			seen, total := coloursOnScreen(img, pngColours(t, p))
			report = append(report, fmt.Sprintf("%s: %d of %d colours", filepath.Base(p), seen, total))
			shown = shown && seen*10 >= total*9
		}
		if shown {
			return img
		}
		if time.Now().After(deadline) {
			t.Fatalf("the window does not show the images: %s", strings.Join(report, "; "))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func needXvfb(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("Xvfb")
	if err == nil {
		_, err = exec.LookPath("import") // ImageMagick, for the screenshot
	}
	if err != nil {
		if os.Getenv("ZPNG_REQUIRE_XVFB") == "1" {
			t.Fatalf("ZPNG_REQUIRE_XVFB=1 but %v (apt-get install xvfb xauth imagemagick)", err)
		}
		t.Skipf("GUI test needs Xvfb and ImageMagick: %v", err)
	}
	return path
}

// buildCommand builds this command, with the tags this test was built with.
func buildCommand(t *testing.T, dir string) string {
	t.Helper()
	return buildTagged(t, dir)
}

// startXvfb starts an X server on a free display and returns its name.
func startXvfb(t *testing.T, xvfb string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// -displayfd picks a free display and writes its number when ready.
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "1024x768x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			t.Fatal("Xvfb did not start")
		}
		return ":" + n
	case <-time.After(30 * time.Second):
		t.Fatal("Xvfb did not report a display within 30 s")
	}
	return ""
}

// guiEnv is the environment for the app: the test display, and a fresh
// home so that no one's settings are read or changed.
func guiEnv(display, home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "DISPLAY", k == "WAYLAND_DISPLAY", k == "HOME", strings.HasPrefix(k, "XDG_"), strings.HasPrefix(k, "FYNE_"):
			continue
		}
		env = append(env, kv)
	}
	// GTK keeps its settings in memory: there is no D-Bus session here.
	// Scale 1 puts the buttons where the test clicks.
	return append(env, "DISPLAY="+display, "HOME="+home, "GSETTINGS_BACKEND=memory", "NO_AT_BRIDGE=1", "FYNE_SCALE=1")
}

func screenshot(t *testing.T, display, path string) image.Image {
	t.Helper()
	out, err := exec.Command("import", "-display", display, "-window", "root", path).CombinedOutput()
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

type rgb [3]uint8

func colourAt(img image.Image, x, y int) rgb {
	r, g, b, _ := img.At(x, y).RGBA()
	return rgb{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
}

// pngColours are the distinct colours of a PNG, black (unused pixels) aside.
func pngColours(t *testing.T, path string) map[rgb]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	set := map[rgb]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if c := colourAt(img, x, y); c != (rgb{}) {
				set[c] = true
			}
		}
	}
	if len(set) < 100 {
		t.Fatalf("%s has only %d colours; the check needs more", path, len(set))
	}
	return set
}

func coloursOnScreen(img image.Image, want map[rgb]bool) (seen, total int) {
	found := map[rgb]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if c := colourAt(img, x, y); want[c] {
				found[c] = true
			}
		}
	}
	return len(found), len(want)
}

// saveCropped writes the screenshot cut to the window: the part of the
// black root window that is not black.
func saveCropped(t *testing.T, img image.Image, path string) {
	t.Helper()
	b := img.Bounds()
	crop := image.Rectangle{Min: b.Max, Max: b.Min}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if colourAt(img, x, y) != (rgb{}) {
				crop = crop.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok || crop.Empty() {
		t.Fatalf("cannot crop the screenshot to %v", crop)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, sub.SubImage(crop)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "screenshot (%dx%d) written to %s\n", crop.Dx(), crop.Dy(), path)
}

// textLike is n bytes of English-like text.
func textLike(n int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	words := strings.Fields("a picture of colourful static holds every byte of this letter and gives it back exactly")
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.Intn(len(words))])
		b.WriteByte(" \n"[rng.Intn(10)/9])
	}
	return b.Bytes()[:n]
}

// TestNoDisplay: without a display (an SSH session) the command says how to
// work without the window and exits 2: no stack trace, nothing written.
func TestNoDisplay(t *testing.T) {
	dir := t.TempDir()
	bin := buildCommand(t, dir)
	file := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(file, []byte("some text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// No display named, and a display that no server answers.
	for _, display := range []string{"", ":4747"} {
		cmd := exec.Command(bin, file)
		cmd.Env = guiEnv(display, dir)
		if display == "" {
			cmd.Env = slices.DeleteFunc(cmd.Env, func(kv string) bool { return strings.HasPrefix(kv, "DISPLAY=") })
		}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
			t.Fatalf("DISPLAY=%q: exit %v, want %d\n%s", display, err, exitUsage, out)
		}
		for _, want := range []string{"no display", "zpng compress FILE", "zpng decompress FILE.zpng.png"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("DISPLAY=%q: output lacks %q:\n%s", display, want, out)
			}
		}
		if strings.Contains(string(out), "panic") || strings.Contains(string(out), "goroutine") {
			t.Errorf("DISPLAY=%q: a stack trace:\n%s", display, out)
		}
		if _, err := os.Stat(file + ".zpng.png"); err == nil {
			t.Errorf("DISPLAY=%q: an image was written", display)
		}
	}
}
