//go:build !nogui

package gui

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// ErrNoDisplay: the window cannot open because no display is reachable,
// as in an SSH session or a container.
var ErrNoDisplay = errors.New("no display to open the window on")

// checkDisplay reports ErrNoDisplay when the system draws windows through
// X11 or Wayland and neither is named in the environment. Windows and macOS
// always have their own display.
func checkDisplay() error {
	switch runtime.GOOS {
	case "windows", "darwin", "android", "ios":
		return nil
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return fmt.Errorf("%w: neither DISPLAY nor WAYLAND_DISPLAY is set", ErrNoDisplay)
	}
	return nil
}

// displayPanic turns the panic GLFW raises when it cannot reach the display
// into ErrNoDisplay; any other panic goes on.
func displayPanic(r any) error {
	msg := fmt.Sprint(r)
	if strings.Contains(msg, "GLFW") || strings.Contains(msg, "NotInitialized") || strings.Contains(msg, "PlatformError") {
		return fmt.Errorf("%w: the window system refused (%s)", ErrNoDisplay, msg)
	}
	panic(r)
}
