//go:build !nogui

package gui

import (
	"time"

	_ "early.zpng/langenv" // a locale Fyne can parse, set before Fyne's init

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
)

// AppID names the app to Fyne; the settings are remembered under it.
const AppID = "io.zpng.app"

// Run opens the window, queues files (as if they were dropped on it) and
// returns when the window is closed. It returns ErrNoDisplay, having shown
// nothing, when there is no display to open the window on.
func Run(files []string) (err error) {
	if err := checkDisplay(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = displayPanic(r)
		}
	}()
	a := app.NewWithID(AppID)
	win := a.NewWindow("ZPNG")
	u := New(a, win, Core{}, NewFileDialogs(win))
	win.SetContent(u.Content())
	win.SetOnDropped(u.Drop)
	win.SetOnClosed(func() { u.closed.Store(true) })
	win.Resize(fyne.NewSize(860, 600))

	// Queue the files once the window runs, so progress has a window to go to.
	a.Lifecycle().SetOnStarted(func() { u.Open(files) })

	// Fyne itself quits cleanly on SIGINT and SIGTERM.
	win.ShowAndRun()
	u.Stop(10 * time.Second)
	return nil
}
