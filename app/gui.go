//go:build !nogui

package main

import (
	"errors"
	"fmt"

	"zpng/gui"
)

// The window is part of the command unless it is built with -tags nogui.
func init() { openGUI = openWindow }

// openWindow runs the window; without a display it says what to type
// instead.
func openWindow(files []string) int {
	err := gui.Run(files)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, gui.ErrNoDisplay):
		fmt.Fprintf(stderr, "zpng: %v.\nWithout a window, use the command line:\n"+
			"  zpng compress FILE               make FILE.zpng.png\n"+
			"  zpng decompress FILE.zpng.png    restore the original\n"+
			"  zpng help                        every command\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "zpng: %v\n", err)
		return exitFail
	}
}
