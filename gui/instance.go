//go:build !nogui

package gui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// One window per person and display: a second `zpng FILE` hands its files
// to the window already open, through a Unix socket in the person's
// runtime folder, and exits. Fyne has no single-instance facility of its
// own.

// handoffTimeout bounds a handoff: connecting, sending, and the answer.
const handoffTimeout = 10 * time.Second

// maxHandoff is the most bytes of file names one handoff may send.
const maxHandoff = 1 << 20

// socketPath is where the window listens: in $XDG_RUNTIME_DIR (private to
// the user), else in a folder of the user's own under the temporary
// folder, named after the display so that each display has its window.
func socketPath() (string, error) {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" || runtime.GOOS == "windows" {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("zpng-%d", os.Getuid()))
		if err := privateDir(dir); err != nil {
			return "", err
		}
	}
	display := os.Getenv("WAYLAND_DISPLAY")
	if d := os.Getenv("DISPLAY"); d != "" {
		display = d
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, display)
	return filepath.Join(dir, "zpng-"+name+".sock"), nil
}

// privateDir makes dir, or checks that it is the user's own and closed to
// others: no one else may listen in the window's place.
func privateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() || (runtime.GOOS != "windows" && (st.Mode().Perm()&0o077 != 0 || !ownedByMe(st))) {
		return fmt.Errorf("%s is not a private folder of this user", dir)
	}
	return nil
}

// handOff gives files to the window already open on this display. It
// reports false, with no error, when there is no such window.
func handOff(sock string, files []string) (bool, error) {
	conn, err := net.DialTimeout("unix", sock, handoffTimeout)
	if err != nil {
		return false, nil // no window listens
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(handoffTimeout))
	abs := make([]string, len(files))
	for i, f := range files {
		if a, err := filepath.Abs(f); err == nil {
			f = a
		}
		abs[i] = f
	}
	if err := json.NewEncoder(conn).Encode(abs); err != nil {
		return false, fmt.Errorf("handing the files to the open window: %w", err)
	}
	var reply string
	if err := json.NewDecoder(conn).Decode(&reply); err != nil || reply != "ok" {
		return false, fmt.Errorf("the open window did not take the files (%v)", err)
	}
	return true, nil
}

// listen makes this process the window that others hand files to. A
// socket left by a window that is gone is replaced.
func listen(sock string) (net.Listener, error) {
	l, err := net.Listen("unix", sock)
	if err == nil {
		return l, nil
	}
	if c, derr := net.DialTimeout("unix", sock, time.Second); derr == nil {
		c.Close()
		return nil, err // a window listens: the caller hands off instead
	}
	os.Remove(sock)
	return net.Listen("unix", sock)
}

// serve takes handoffs until l is closed, passing each list of files to
// open (which must not block on the main thread's work).
func serve(l net.Listener, open func([]string)) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(handoffTimeout))
			var files []string
			if err := json.NewDecoder(io.LimitReader(conn, maxHandoff)).Decode(&files); err != nil {
				return
			}
			open(files)
			json.NewEncoder(conn).Encode("ok")
		}()
	}
}
