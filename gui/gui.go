//go:build !nogui

package gui

import (
	"net"
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
	// A window is open already: it takes the files and comes to the front.
	l, done, err := claimWindow(files)
	if done || err != nil {
		return err
	}
	if l != nil {
		defer l.Close() // removes the socket
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
	win.Resize(fyne.NewSize(860, 640))

	// Queue the files once the window runs, so progress has a window to go to.
	a.Lifecycle().SetOnStarted(func() {
		u.Open(files)
		if l != nil {
			go serve(l, func(files []string) { u.handedOver(files) })
		}
	})

	// Fyne itself quits cleanly on SIGINT and SIGTERM.
	win.ShowAndRun()
	u.Stop(10 * time.Second)
	return nil
}

// claimWindow makes this process the one window on its display, or hands
// files to the window that is (done). Without a private place for the
// socket the window opens on its own.
func claimWindow(files []string) (l net.Listener, done bool, err error) {
	sock, err := socketPath()
	if err != nil {
		return nil, false, nil
	}
	if ok, err := handOff(sock, files); ok || err != nil {
		return nil, ok, err
	}
	if l, err = listen(sock); err == nil {
		return l, false, nil
	}
	// Another window started between the two steps.
	ok, err := handOff(sock, files)
	return nil, ok, err
}
