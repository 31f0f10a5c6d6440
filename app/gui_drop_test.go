//go:build !nogui

package main

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"

	"zpng/core"
)

// testDialogAndDrop starts zpng with no file, clicks "Compress…" and closes
// the native (GTK) file dialog that opens, then drops two files on the
// window the way a file manager does (XDND): a text file, which must be
// compressed, and a ZPNG image, which must be restored.
func testDialogAndDrop(t *testing.T, bin, display string) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.md")
	notesData := textLike(12_000, 2)
	if err := os.WriteFile(notes, notesData, 0o644); err != nil {
		t.Fatal(err)
	}
	orig := filepath.Join(dir, "letter.txt")
	letter := textLike(20_000, 1)
	zpng := compressed(t, orig, letter)

	app := startApp(t, bin, display, dir)
	x := dialX(t, display)
	win := x.waitForWindow(t, app, func(w xproto.Window) bool {
		return x.name(w) == "ZPNG" && x.hasProperty(w, "XdndAware")
	})

	// The Compress… button sits at the window's top left. (sqweek/dialog
	// titles every GTK open dialog "Open File".)
	x.click(t, win, 60, 22)
	dlg := x.waitForWindow(t, app, func(w xproto.Window) bool { return x.name(w) == "Open File" })
	x.closeWindow(t, dlg)
	x.waitGone(t, dlg)

	x.drop(t, win, 400, 400, notes, zpng)
	waitForFile(t, app, orig, letter)
	out := notes + ".zpng.png"
	waitForFile(t, app, out, nil) // exists, complete: checked below by restoring it
	back := filepath.Join(dir, "notes.back")
	if _, err := core.Decompress(context.Background(), out, back, core.Options{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(back); !bytes.Equal(got, notesData) {
		t.Fatal("the dropped file's ZPNG image does not restore to it")
	}

	img := waitForImages(t, display, filepath.Join(dir, "screen.png"), zpng, out)
	if keep := os.Getenv("ZPNG_SCREENSHOT"); keep != "" {
		saveCropped(t, img, keep)
	}
	app.stop(t)
}

// xClient is a minimal X11 client: enough to find windows, click, and act
// as the source of an XDND drag.
type xClient struct {
	c      *xgb.Conn
	root   xproto.Window
	events chan xgb.Event
}

func dialX(t *testing.T, display string) *xClient {
	t.Helper()
	xgb.Logger.SetOutput(io.Discard) // it warns that Xvfb has no authority file
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := xtest.Init(c); err != nil {
		t.Fatal(err)
	}
	x := &xClient{c: c, root: xproto.Setup(c).DefaultScreen(c).Root, events: make(chan xgb.Event, 64)}
	go func() {
		for {
			ev, err := c.WaitForEvent()
			if ev == nil && err == nil {
				close(x.events)
				return
			}
			if ev != nil {
				x.events <- ev
			}
		}
	}()
	return x
}

func (x *xClient) atom(t *testing.T, name string) xproto.Atom {
	t.Helper()
	r, err := xproto.InternAtom(x.c, false, uint16(len(name)), name).Reply()
	if err != nil {
		t.Fatal(err)
	}
	return r.Atom
}

// property reads a window property as bytes ("" if unset).
func (x *xClient) property(w xproto.Window, name string) []byte {
	a, err := xproto.InternAtom(x.c, true, uint16(len(name)), name).Reply()
	if err != nil || a.Atom == 0 {
		return nil
	}
	r, err := xproto.GetProperty(x.c, false, w, a.Atom, xproto.GetPropertyTypeAny, 0, 1024).Reply()
	if err != nil {
		return nil
	}
	return r.Value
}

func (x *xClient) name(w xproto.Window) string {
	if n := x.property(w, "_NET_WM_NAME"); len(n) > 0 {
		return string(n)
	}
	return string(x.property(w, "WM_NAME"))
}

func (x *xClient) hasProperty(w xproto.Window, name string) bool {
	return len(x.property(w, name)) > 0
}

// viewable lists the top-level windows that are on screen.
func (x *xClient) viewable() []xproto.Window {
	tree, err := xproto.QueryTree(x.c, x.root).Reply()
	if err != nil {
		return nil
	}
	var ws []xproto.Window
	for _, w := range tree.Children {
		a, err := xproto.GetWindowAttributes(x.c, w).Reply()
		if err == nil && a.MapState == xproto.MapStateViewable {
			ws = append(ws, w)
		}
	}
	return ws
}

func (x *xClient) waitForWindow(t *testing.T, a *runningApp, match func(xproto.Window) bool) xproto.Window {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, w := range x.viewable() {
			if match(w) {
				return w
			}
		}
		if time.Now().After(deadline) {
			var names []string
			for _, w := range x.viewable() {
				names = append(names, x.name(w))
			}
			t.Fatalf("window not found within 30 s; on screen: %q", names)
		}
		select {
		case err := <-a.exited:
			t.Fatalf("zpng exited early: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (x *xClient) waitGone(t *testing.T, w xproto.Window) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		gone := true
		for _, v := range x.viewable() {
			gone = gone && v != w
		}
		if gone {
			return
		}
	}
	t.Fatalf("window %q still on screen after 15 s", x.name(w))
}

// rootPos is the screen position of (px, py) in window w.
func (x *xClient) rootPos(t *testing.T, w xproto.Window, px, py int16) (int16, int16) {
	t.Helper()
	r, err := xproto.TranslateCoordinates(x.c, w, x.root, px, py).Reply()
	if err != nil {
		t.Fatal(err)
	}
	return r.DstX, r.DstY
}

// click moves the pointer to (px, py) in w and clicks the left button.
func (x *xClient) click(t *testing.T, w xproto.Window, px, py int16) {
	t.Helper()
	rx, ry := x.rootPos(t, w, px, py)
	for _, ev := range []struct{ typ, detail byte }{
		{xproto.MotionNotify, 0}, {xproto.ButtonPress, 1}, {xproto.ButtonRelease, 1},
	} {
		if err := xtest.FakeInputChecked(x.c, ev.typ, ev.detail, 0, x.root, rx, ry, 0).Check(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (x *xClient) send(t *testing.T, to xproto.Window, typ xproto.Atom, data ...uint32) {
	t.Helper()
	d := make([]uint32, 5)
	copy(d, data)
	ev := xproto.ClientMessageEvent{Format: 32, Window: to, Type: typ, Data: xproto.ClientMessageDataUnionData32New(d)}
	if err := xproto.SendEventChecked(x.c, false, to, xproto.EventMaskNoEvent, string(ev.Bytes())).Check(); err != nil {
		t.Fatal(err)
	}
}

// closeWindow asks w to close, as a window manager's close button does.
func (x *xClient) closeWindow(t *testing.T, w xproto.Window) {
	t.Helper()
	x.send(t, w, x.atom(t, "WM_PROTOCOLS"), uint32(x.atom(t, "WM_DELETE_WINDOW")), 0)
}

// next waits for the first event that match accepts.
func (x *xClient) next(t *testing.T, what string, match func(xgb.Event) bool) xgb.Event {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-x.events:
			if !ok {
				t.Fatal("X connection closed")
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s within 15 s", what)
		}
	}
}

// drop drags files onto (px, py) of window w and drops them (XDND 5): the
// same messages and selection transfer a file manager uses.
func (x *xClient) drop(t *testing.T, w xproto.Window, px, py int16, paths ...string) {
	t.Helper()
	var list strings.Builder
	for _, p := range paths {
		list.WriteString((&url.URL{Scheme: "file", Path: p}).String() + "\r\n")
	}
	uriList := x.atom(t, "text/uri-list")
	selection := x.atom(t, "XdndSelection")
	copyAction := x.atom(t, "XdndActionCopy")

	// The drag source: a window that owns the XdndSelection.
	src, err := xproto.NewWindowId(x.c)
	if err != nil {
		t.Fatal(err)
	}
	screen := xproto.Setup(x.c).DefaultScreen(x.c)
	if err := xproto.CreateWindowChecked(x.c, 0, src, x.root, 0, 0, 1, 1, 0,
		xproto.WindowClassInputOutput, screen.RootVisual, 0, nil).Check(); err != nil {
		t.Fatal(err)
	}
	defer xproto.DestroyWindow(x.c, src)
	if err := xproto.SetSelectionOwnerChecked(x.c, src, selection, xproto.TimeCurrentTime).Check(); err != nil {
		t.Fatal(err)
	}

	isMessage := func(name string) func(xgb.Event) bool {
		typ := x.atom(t, name)
		return func(ev xgb.Event) bool {
			m, ok := ev.(xproto.ClientMessageEvent)
			return ok && m.Type == typ
		}
	}

	rx, ry := x.rootPos(t, w, px, py)
	x.send(t, w, x.atom(t, "XdndEnter"), uint32(src), 5<<24, uint32(uriList))
	x.send(t, w, x.atom(t, "XdndPosition"), uint32(src), 0, uint32(rx)<<16|uint32(ry), 0, uint32(copyAction))
	status := x.next(t, "XdndStatus", isMessage("XdndStatus")).(xproto.ClientMessageEvent)
	if status.Data.Data32[1]&1 == 0 {
		t.Fatal("the window does not accept the drop")
	}

	x.send(t, w, x.atom(t, "XdndDrop"), uint32(src), 0, 0)
	req := x.next(t, "SelectionRequest", func(ev xgb.Event) bool {
		_, ok := ev.(xproto.SelectionRequestEvent)
		return ok
	}).(xproto.SelectionRequestEvent)
	if req.Target != uriList {
		t.Fatalf("the window asks for target atom %d, not text/uri-list", req.Target)
	}
	data := []byte(list.String())
	if err := xproto.ChangePropertyChecked(x.c, xproto.PropModeReplace, req.Requestor, req.Property,
		req.Target, 8, uint32(len(data)), data).Check(); err != nil {
		t.Fatal(err)
	}
	notify := xproto.SelectionNotifyEvent{Time: req.Time, Requestor: req.Requestor,
		Selection: req.Selection, Target: req.Target, Property: req.Property}
	if err := xproto.SendEventChecked(x.c, false, req.Requestor, xproto.EventMaskNoEvent, string(notify.Bytes())).Check(); err != nil {
		t.Fatal(err)
	}
	// XDND 5 says bit 0 of data.l[1] tells whether the drop was taken;
	// GLFW puts there the length of the list it read (0 when it read
	// none), so an even length has bit 0 clear. Any non-zero value is a
	// drop taken, as GTK reads it.
	finished := x.next(t, "XdndFinished", isMessage("XdndFinished")).(xproto.ClientMessageEvent)
	if finished.Data.Data32[1] == 0 {
		t.Fatal("the window reports the drop as failed")
	}
}
