//go:build !nogui

package main

import "zpng/gui"

// The window is part of the command unless it is built with -tags nogui.
func init() { openGUI = gui.Run }
