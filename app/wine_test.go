package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"zpng/core"
)

// TestWindowsUnderWine runs the Windows build of zpng under Wine: compress
// a file and restore it from the command line, byte for byte, and check
// that the image is the one this machine makes (output never depends on
// the machine).
//
// The .exe is ZPNG_WINDOWS_EXE (make test-windows sets it to what make
// windows built: the window, the native engine, mingw-w64), else a
// command-line build made here with GOOS=windows and CGO_ENABLED=0.
// Without Wine the test is skipped, with the reason.
func TestWindowsUnderWine(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("Wine runs the amd64 .exe on linux/amd64 only")
	}
	wine := findWine()
	if wine == "" {
		t.Skip("Wine is not installed (apt-get install wine64): the Windows build is not run")
	}
	dir := t.TempDir()
	exe := os.Getenv("ZPNG_WINDOWS_EXE")
	if exe == "" {
		exe = filepath.Join(dir, "zpng.exe")
		build := exec.Command(goTool(), "build", "-tags", "nogui notorch", "-o", exe, ".")
		build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build for Windows: %v\n%s", err, out)
		}
	} else if abs, err := filepath.Abs(exe); err != nil {
		t.Fatal(err)
	} else {
		exe = abs
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatal(err)
	}

	prefix := filepath.Join(dir, "wineprefix")
	winePrefix(t, wine, prefix, dir)

	var text bytes.Buffer
	for i := 0; text.Len() < 30_000; i++ {
		fmt.Fprintf(&text, "line %d: a picture of colourful static holds every byte of this letter\n", i*i%977)
	}
	data := text.Bytes()
	if err := os.WriteFile(filepath.Join(dir, "letter.txt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// Relative names: the .exe sees the test's folder as its current one,
	// on Wine's drive Z:.
	runWine(t, wine, prefix, dir, exe, "compress", "-3", "letter.txt")
	runWine(t, wine, prefix, dir, exe, "decompress", "letter.txt.zpng.png", "-o", "back.txt")
	back, err := os.ReadFile(filepath.Join(dir, "back.txt"))
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("restored under Wine: %d bytes (err %v), want the %d bytes of the original", len(back), err, len(data))
	}

	// The same image as here.
	local := filepath.Join(dir, "local.png")
	if _, err := core.Compress(context.Background(), filepath.Join(dir, "letter.txt"), local, core.Options{Level: 3}); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(local)
	got, _ := os.ReadFile(filepath.Join(dir, "letter.txt.zpng.png"))
	if !bytes.Equal(got, want) {
		t.Fatalf("the Windows image (%d bytes) differs from this machine's (%d bytes)", len(got), len(want))
	}
}

// winePrefix makes a Wine prefix of the test's own. Go's runtime needs
// bcryptprimitives.dll (Windows 10 and later), which Wine 8.0, Debian 12's,
// lacks: the prefix then gets a shim built with mingw-w64 from
// testdata/wine/bcryptprimitives.c.
func winePrefix(t *testing.T, wine, prefix, dir string) {
	t.Helper()
	runWine(t, wine, prefix, dir, "wineboot", "--init")
	sys32 := filepath.Join(prefix, "drive_c", "windows", "system32")
	dll := filepath.Join(sys32, "bcryptprimitives.dll")
	if _, err := os.Stat(dll); err == nil {
		return
	}
	cc, err := exec.LookPath("x86_64-w64-mingw32-gcc")
	if err != nil {
		t.Skip("this Wine lacks bcryptprimitives.dll, which Go programs need, and mingw-w64 is not installed to build a shim (apt-get install gcc-mingw-w64-x86-64)")
	}
	src, _ := filepath.Abs(filepath.Join("testdata", "wine", "bcryptprimitives.c"))
	if out, err := exec.Command(cc, "-shared", "-O2", "-o", dll, src, "-lbcrypt").CombinedOutput(); err != nil {
		t.Fatalf("building the bcryptprimitives.dll shim: %v\n%s", err, out)
	}
}

// runWine runs a Windows program under Wine in dir, with the given prefix,
// and fails the test unless it exits 0.
func runWine(t *testing.T, wine, prefix, dir, exe string, args ...string) {
	t.Helper()
	cmd := exec.Command(wine, append([]string{exe}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("wine %s %v: %v\n%s", filepath.Base(exe), args, err, out.String())
	}
}

// goTool is the go command that built this test.
func goTool() string {
	g := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(g); err != nil {
		return "go"
	}
	return g
}

// findWine returns the Wine loader: wine or wine64 on PATH, or where
// Debian's wine64 package puts it without the wine package's wrapper.
func findWine() string {
	for _, name := range []string{"wine64", "wine", "/usr/lib/wine/wine64"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}
