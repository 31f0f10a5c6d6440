//go:build !nogui

package gui

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// openerPatience is how long openWithDesktop waits for the opener to
// fail: one still running then has started a program.
const openerPatience = 5 * time.Second

// openWithDesktop opens a file with its default program, or a folder in
// the file manager, as a double-click does: xdg-open on Linux and the
// BSDs, open on macOS, the shell's file handler on Windows. It reports an
// opener that is missing or fails, as xdg-open does when no program is
// set for the file's type.
func openWithDesktop(path string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", path)
	case "darwin":
		cmd = exec.Command("open", path)
	default:
		cmd = exec.Command("xdg-open", path)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	name := filepath.Base(path)
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("cannot open %s: %s is not installed", name, filepath.Base(cmd.Path))
		}
		return fmt.Errorf("cannot open %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			return nil
		}
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("cannot open %s: %s", name, msg)
	case <-time.After(openerPatience):
		return nil // the program runs; Wait reaps it when it ends
	}
}
