//go:build !nogui

package gui

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestHandOff(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "w.sock")
	if ok, err := handOff(sock, []string{"a"}); ok || err != nil {
		t.Fatalf("with no window: handed %v, err %v", ok, err)
	}
	// A socket left by a window that is gone is replaced.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	l, err := listen(sock)
	if err != nil {
		t.Fatalf("a stale socket is not replaced: %v", err)
	}
	defer l.Close()
	if _, err := listen(sock); err == nil {
		t.Fatal("a second window could listen beside the first")
	}
	got := make(chan []string, 1)
	go serve(l, func(files []string) { got <- files })
	dir := t.TempDir()
	t.Chdir(dir)
	if ok, err := handOff(sock, []string{"notes.txt", "/abs/x.zpng.png"}); !ok || err != nil {
		t.Fatalf("handed %v, err %v", ok, err)
	}
	want := []string{filepath.Join(dir, "notes.txt"), "/abs/x.zpng.png"}
	if files := <-got; !slices.Equal(files, want) {
		t.Fatalf("the window got %q, want %q (relative names made absolute)", files, want)
	}
}

func TestSocketPath(t *testing.T) {
	run := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", run)
	t.Setenv("DISPLAY", ":7.0")
	if p, err := socketPath(); err != nil || p != filepath.Join(run, "zpng-_7.0.sock") {
		t.Fatalf("socketPath = %q, %v", p, err)
	}
	// Without a runtime folder: a private folder under the temporary one,
	// refused when others can enter it.
	tmp := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("TMPDIR", tmp)
	p, err := socketPath()
	if err != nil || filepath.Dir(filepath.Dir(p)) != tmp {
		t.Fatalf("socketPath = %q, %v", p, err)
	}
	if err := os.Chmod(filepath.Dir(p), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := socketPath(); err == nil {
		t.Fatal("a folder open to others is used for the socket")
	}
}
