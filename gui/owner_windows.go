//go:build !nogui

package gui

import "os"

// ownedByMe: on Windows the temporary folder is the user's own.
func ownedByMe(os.FileInfo) bool { return true }
