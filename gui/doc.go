// Package gui is the ZPNG desktop window: drop files on it and a queue
// compresses or restores them one after another, showing progress and
// the verified result.
//
// Built with -tags nogui the package is empty, so that GUI-free builds
// need neither Fyne nor cgo's GTK and OpenGL headers.
package gui
