//go:build !nogui

package gui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"zpng/core"
)

// Action is what a job does to its file.
type Action int

const (
	Compress Action = iota
	Restore
)

func (a Action) String() string {
	if a == Restore {
		return "Restore"
	}
	return "Compress"
}

func (a Action) past() string {
	if a == Restore {
		return "Restored"
	}
	return "Compressed"
}

// job is one file in the queue.
type job struct {
	action  Action
	input   string
	opt     core.Options
	ctx     context.Context
	cancel  context.CancelFunc
	view    *jobView
	renamed bool // the output was given a free name; worker only until done

	// latest progress report, handed from the worker to the main thread
	mu      sync.Mutex
	latest  core.Progress
	pending atomic.Bool

	result *core.Result // set on the main thread when done
}

// UI is the window's content and its queue. Its methods run on Fyne's main
// thread; the queue runs the pipeline on a worker goroutine and hands every
// widget change back through fyne.Do.
type UI struct {
	app      fyne.App
	win      fyne.Window
	pipe     Pipeline
	dialogs  FileDialogs
	settings Settings

	// openPath opens a file with its default program, or a folder in the
	// file manager; it may block for seconds, so it runs off the main thread.
	openPath func(path string) error
	// doOnMain runs f on Fyne's main thread (fyne.Do, or fyne.DoAndWait
	// when wait is set). Tests replace it with their own main loop.
	doOnMain func(f func(), wait bool)

	shown   []*job          // the jobs whose cards are in list
	list    *fyne.Container // the job cards, oldest first
	scroll  *container.Scroll
	hint    fyne.CanvasObject
	content fyne.CanvasObject
	errors  *errorSummary

	mu      sync.Mutex
	queue   []*job
	running bool
	wg      sync.WaitGroup // counts queued and running jobs
	closed  atomic.Bool    // the window is gone: no more widget updates
}

// New builds the window's content. Set it with win.SetContent(u.Content())
// and route drops to u.Drop.
func New(a fyne.App, win fyne.Window, p Pipeline, d FileDialogs) *UI {
	u := &UI{app: a, win: win, pipe: p, dialogs: d, settings: Settings{a.Preferences()}}
	u.openPath = openWithDesktop
	u.doOnMain = func(f func(), wait bool) {
		if wait {
			fyne.DoAndWait(f)
		} else {
			fyne.Do(f)
		}
	}
	u.build()
	u.addShortcuts(win.Canvas())
	return u
}

// addShortcuts binds Ctrl+O (a file to compress), Ctrl+R (an image to
// restore) and Ctrl+Q (quit); Cmd on macOS.
func (u *UI) addShortcuts(c fyne.Canvas) {
	bind := func(key fyne.KeyName, f func()) {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) { f() })
	}
	bind(fyne.KeyO, u.chooseCompress)
	bind(fyne.KeyR, u.chooseRestore)
	bind(fyne.KeyQ, u.app.Quit)
}

// Content is the window's content.
func (u *UI) Content() fyne.CanvasObject { return u.content }

func (u *UI) build() {
	compress := widget.NewButtonWithIcon("Compress…", theme.UploadIcon(), u.chooseCompress)
	compress.Importance = widget.HighImportance
	restore := widget.NewButtonWithIcon("Restore…", theme.DownloadIcon(), u.chooseRestore)
	clear := widget.NewButtonWithIcon("Clear finished", theme.ContentClearIcon(), u.clearFinished)
	bar := container.NewHBox(compress, restore, layout.NewSpacer(), clear)

	settings := widget.NewAccordion(widget.NewAccordionItem("Settings", u.settings.form()))

	u.list = container.NewVBox()
	u.scroll = container.NewVScroll(u.list)
	hintText := widget.NewLabelWithStyle("Drop files here.\nA ZPNG image is restored; any other file is compressed.\n"+
		"Ctrl+O: compress a file  ·  Ctrl+R: restore an image  ·  Ctrl+Q: quit",
		fyne.TextAlignCenter, fyne.TextStyle{})
	icon := container.NewGridWrap(fyne.NewSquareSize(64), widget.NewIcon(theme.UploadIcon()))
	u.hint = container.NewCenter(container.NewVBox(container.NewCenter(icon), hintText))

	u.errors = newErrorSummary()
	top := container.NewVBox(bar, settings, u.errors.box, widget.NewSeparator())
	u.content = container.NewBorder(top, nil, nil, nil, container.NewStack(u.hint, u.scroll))
	u.errors.relayout = u.content.Refresh
}

// Drop queues files dropped on the window: the Window.SetOnDropped handler.
func (u *UI) Drop(_ fyne.Position, uris []fyne.URI) {
	paths := make([]string, 0, len(uris))
	for _, uri := range uris {
		if uri.Scheme() != "file" {
			u.errors.add(fmt.Sprintf("%s: only local files can be dropped", uri))
			continue
		}
		paths = append(paths, uri.Path())
	}
	u.Open(paths)
}

// Open queues files as a drop does: a ZPNG image (by name or by content)
// is restored, any other file is compressed.
func (u *UI) Open(paths []string) {
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		action := Compress
		if strings.HasSuffix(strings.ToLower(p), zpngSuffix) || u.pipe.IsZPNG(p) {
			action = Restore
		}
		u.Enqueue(action, p)
	}
}

// handedOver opens files that a second launch handed to this window, and
// brings the window to the front. Call it from any goroutine.
func (u *UI) handedOver(files []string) {
	u.doOnMain(func() {
		if u.closed.Load() {
			return
		}
		u.Open(files)
		u.win.Show()
		u.win.RequestFocus()
	}, false)
}

// Enqueue adds one job to the queue with the current settings.
func (u *UI) Enqueue(action Action, path string) {
	ctx, cancel := context.WithCancel(context.Background())
	j := &job{action: action, input: path, opt: u.settings.Options(), ctx: ctx, cancel: cancel}
	j.view = newJobView(j, func() { u.cancel(j) })
	u.shown = append(u.shown, j)
	u.list.Add(j.view.card)
	u.hint.Hide()
	u.scroll.ScrollToBottom()

	u.wg.Add(1)
	u.mu.Lock()
	u.queue = append(u.queue, j)
	start := !u.running
	u.running = true
	u.mu.Unlock()
	if start {
		go u.work()
	}
}

// cancel stops a running job, or takes a waiting one out of the queue.
func (u *UI) cancel(j *job) {
	j.cancel()
	u.mu.Lock()
	queued := false
	for i, q := range u.queue {
		if q == j {
			u.queue = append(u.queue[:i], u.queue[i+1:]...)
			queued = true
			break
		}
	}
	u.mu.Unlock()
	if queued {
		j.view.showCancelled(j)
		u.wg.Done()
		return
	}
	j.view.cancel.Disable()
	j.view.phase.SetText("Cancelling…")
}

// work runs queued jobs one after another until the queue is empty.
func (u *UI) work() {
	for {
		u.mu.Lock()
		if len(u.queue) == 0 {
			u.running = false
			u.mu.Unlock()
			return
		}
		j := u.queue[0]
		u.queue = u.queue[1:]
		u.mu.Unlock()

		u.run(j)
		u.wg.Done()
	}
}

// wait blocks until every queued job has finished and shown its outcome.
func (u *UI) wait() { u.wg.Wait() }

// Stop cancels every queued and running job and waits, at most timeout,
// for them to end, so that the pipeline can remove its temporary files.
// Call it after the window has closed.
func (u *UI) Stop(timeout time.Duration) {
	u.closed.Store(true)
	u.mu.Lock()
	for _, j := range u.queue {
		j.cancel()
	}
	u.mu.Unlock()
	for _, j := range u.shown {
		j.cancel()
	}
	done := make(chan struct{})
	go func() {
		u.wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// onMain runs f on the main thread and waits, unless the window is gone.
func (u *UI) onMain(f func()) {
	u.doOnMain(func() {
		if !u.closed.Load() {
			f()
		}
	}, true)
}

// run does one job on the worker goroutine.
func (u *UI) run(j *job) {
	defer j.cancel()
	if j.ctx.Err() != nil {
		u.onMain(func() { j.view.showCancelled(j) })
		return
	}
	u.onMain(func() { j.view.started(j, time.Now()) })

	j.opt.Progress = func(p core.Progress) { u.report(j, p) }
	r, err := u.process(j)

	u.onMain(func() {
		switch {
		case err == nil:
			j.result = r
			j.view.showResult(j, r, cardHandlers{
				open:    func() { u.openAsync(j, j.result.Output) },
				showDir: func() { u.openAsync(j, filepath.Dir(j.result.Output)) },
				saveAs:  func() { u.saveAs(j) },
			})
		case j.ctx.Err() != nil:
			j.view.showCancelled(j)
		default:
			j.view.showError(j, err)
			u.errors.add(filepath.Base(j.input) + ": " + err.Error())
		}
	})
}

// process runs the pipeline, writing beside the input under a free name
// (an image of a tree restores as a folder under a free name).
func (u *UI) process(j *job) (*core.Result, error) {
	// A folder compresses into one image of its tree.
	if _, err := os.Stat(j.input); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%s: %w", pe.Path, pe.Err) // without "stat"
		}
		return nil, err
	}
	want := j.input + zpngSuffix
	if j.action == Restore {
		name, err := u.pipe.StoredName(j.input)
		if err != nil {
			return nil, err
		}
		want = filepath.Join(filepath.Dir(j.input), filepath.Base(name))
	}
	// Another program may take the free name before the pipeline writes
	// it; the pipeline then refuses (core.ErrExists) and we pick again.
	for tries := 0; ; tries++ {
		out := freeName(want)
		j.renamed = out != want
		var r *core.Result
		var err error
		if j.action == Restore {
			r, err = u.pipe.Decompress(j.ctx, j.input, out, j.opt)
		} else {
			r, err = u.pipe.Compress(j.ctx, j.input, out, j.opt)
		}
		if errors.Is(err, core.ErrExists) && tries < 3 {
			continue
		}
		return r, err
	}
}

// report hands a progress report to the main thread. Reports that arrive
// faster than the window draws are merged: only the latest is shown.
func (u *UI) report(j *job, p core.Progress) {
	j.mu.Lock()
	j.latest = p
	j.mu.Unlock()
	if j.pending.Swap(true) {
		return // an update is already on its way and will take this one
	}
	u.doOnMain(func() {
		if u.closed.Load() {
			return
		}
		j.pending.Store(false)
		j.mu.Lock()
		p := j.latest
		j.mu.Unlock()
		j.view.progress(j.action, p, time.Now())
	}, false)
}

// openAsync opens path with the desktop, off the main thread; a failure
// shows on the job's card.
func (u *UI) openAsync(j *job, path string) {
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		if err := u.openPath(path); err != nil {
			u.doOnMain(func() {
				if !u.closed.Load() {
					j.view.actionFailed(err)
				}
			}, false)
		}
	}()
}

// saveAs copies the job's output to a place the person chooses.
func (u *UI) saveAs(j *job) {
	src := j.result.Output
	u.dialogs.SaveFile("Save as", src, func(dst string) {
		if dst == "" {
			return
		}
		if err := copyFile(src, dst); err != nil {
			j.view.actionFailed(err)
		}
	})
}

func (u *UI) chooseCompress() {
	u.dialogs.OpenFile("Compress a file", nil, func(path string) {
		if path != "" {
			u.Enqueue(Compress, path)
		}
	})
}

func (u *UI) chooseRestore() {
	u.dialogs.OpenFile("Restore a ZPNG image", []string{"png"}, func(path string) {
		if path != "" {
			u.Enqueue(Restore, path)
		}
	})
}

// clearFinished removes the cards of finished jobs.
func (u *UI) clearFinished() {
	var keep []*job
	u.list.Objects = nil
	for _, j := range u.shown {
		if !j.view.finished() {
			keep = append(keep, j)
			u.list.Objects = append(u.list.Objects, j.view.card)
		}
	}
	u.shown = keep
	u.list.Refresh()
	if len(keep) == 0 {
		u.hint.Show()
	}
}

// copyFile writes src to dst through a temporary file in dst's folder, so
// dst is either the old file or a complete copy, never half-written.
func copyFile(src, dst string) (err error) {
	if same(src, dst) {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := core.TempFor(dst)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			// Fyne's save dialog creates the file it returns; leave no
			// empty file behind when the copy failed.
			if st, e := os.Stat(dst); e == nil && st.Size() == 0 {
				os.Remove(dst)
			}
		}
	}()
	if _, err = io.Copy(tmp, in); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
