//go:build !nogui

package gui

import (
	"errors"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	native "github.com/sqweek/dialog"
)

// FileDialogs asks the person for a file. Call both methods on Fyne's main
// thread (from a button's OnTapped); done runs there too, with the chosen
// path, or "" when the person cancelled. SaveFile asks before it lets the
// person pick an existing file.
type FileDialogs interface {
	OpenFile(title string, exts []string, done func(path string))
	SaveFile(title, suggested string, done func(path string))
}

// NewFileDialogs returns the desktop's own (GTK) dialogs where there is a
// display, with Fyne's dialogs in win as the fallback.
func NewFileDialogs(win fyne.Window) FileDialogs {
	fallback := fyneDialogs{win}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return fallback
	}
	return &gtkDialogs{fallback: fallback}
}

// gtkDialogs uses sqweek/dialog. It runs a modal GTK dialog on the calling
// thread, which must be Fyne's main thread: GTK was set up there, at init.
type gtkDialogs struct {
	fallback FileDialogs
	broken   bool // GTK could not start; use the fallback from now on
}

func (g *gtkDialogs) OpenFile(title string, exts []string, done func(string)) {
	if g.broken {
		g.fallback.OpenFile(title, exts, done)
		return
	}
	path, err := g.run(func() (string, error) {
		b := native.File().Title(title)
		if len(exts) > 0 {
			b = b.Filter("ZPNG images", exts...)
		}
		return b.Load()
	})
	g.finish(path, err, done, func() { g.fallback.OpenFile(title, exts, done) })
}

func (g *gtkDialogs) SaveFile(title, suggested string, done func(string)) {
	if g.broken {
		g.fallback.SaveFile(title, suggested, done)
		return
	}
	// GTK asks before overwriting (sqweek turns on overwrite confirmation).
	path, err := g.run(func() (string, error) {
		return native.File().Title(title).
			SetStartDir(filepath.Dir(suggested)).
			SetStartFile(filepath.Base(suggested)).
			Save()
	})
	g.finish(path, err, done, func() { g.fallback.SaveFile(title, suggested, done) })
}

// errNoGTK reports that sqweek/dialog panicked because GTK did not start.
var errNoGTK = errors.New("GTK is unavailable")

func (g *gtkDialogs) run(show func() (string, error)) (path string, err error) {
	defer func() {
		if recover() != nil {
			path, err = "", errNoGTK
		}
	}()
	return show()
}

func (g *gtkDialogs) finish(path string, err error, done func(string), fallback func()) {
	switch {
	case errors.Is(err, errNoGTK):
		g.broken = true
		fallback()
	case err != nil: // cancelled
		done("")
	default:
		done(path)
	}
}

// fyneDialogs are Fyne's own file dialogs, drawn inside the window.
type fyneDialogs struct {
	win fyne.Window
}

func (f fyneDialogs) OpenFile(title string, exts []string, done func(string)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			done("")
			return
		}
		r.Close()
		done(r.URI().Path())
	}, f.win)
	d.SetTitleText(title)
	if len(exts) > 0 {
		dotted := make([]string, len(exts))
		for i, e := range exts {
			dotted[i] = "." + e
		}
		d.SetFilter(storage.NewExtensionFileFilter(dotted))
	}
	d.Resize(fyne.NewSize(700, 480))
	d.Show()
}

func (f fyneDialogs) SaveFile(title, suggested string, done func(string)) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			done("")
			return
		}
		// Fyne asked before overwriting and has opened the file; the
		// caller writes it again atomically, so only its path is needed.
		w.Close()
		done(w.URI().Path())
	}, f.win)
	d.SetTitleText(title)
	d.SetFileName(filepath.Base(suggested))
	if dir, err := storage.ListerForURI(storage.NewFileURI(filepath.Dir(suggested))); err == nil {
		d.SetLocation(dir)
	}
	d.Resize(fyne.NewSize(700, 480))
	d.Show()
}
