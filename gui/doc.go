// Package gui is the ZPNG desktop window: drop files on it and a queue
// compresses or restores them one after another, showing one progress bar
// per job and a result card that a person reads at a glance. One window
// runs per display: a second launch hands its files to it (instance.go).
//
// Fyne 2.7 gives no drag-enter event (GLFW 3.3 reports only the drop), so
// the window cannot highlight itself while files are dragged over it; its
// clipboard holds text only, so the image cannot be copied, and a drag out
// of the window is not possible.
//
// Built with -tags nogui the package is empty, so that GUI-free builds
// need neither Fyne nor cgo's GTK and OpenGL headers.
package gui
