//go:build !nogui

package gui

import (
	"context"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"zpng/core"
)

// jargon are words of the pipeline that a card keeps under Details.
var jargon = regexp.MustCompile(`(?i)\b(hybrid|neural|cm|zstd|xz|stored|auto|model|fine-tune|bits|bpb|sha-256|candidates?)\b|[0-9a-f]{64}`)

// faceText is the text a card shows with Details folded: every label and
// text drawn on it. Hidden objects (a folded Details) are left out with
// all they hold.
func faceText(t *testing.T, v *jobView) string {
	t.Helper()
	test.NewTempWindow(t, v.card).Resize(fyne.NewSize(780, 500))
	var parts []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if !o.Visible() {
			return
		}
		switch w := o.(type) {
		case *canvas.Text:
			parts = append(parts, w.Text)
		case *fyne.Container:
			for _, c := range w.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(w).Objects() {
				walk(c)
			}
		}
	}
	walk(v.card)
	return strings.Join(parts, "\n")
}

func TestCardSpeaksPlainly(t *testing.T) {
	u, _ := newTestUI(t, "auto")
	u.settings.prefs.SetInt(prefLevel, 3) // the classical methods compete
	dir := t.TempDir()
	orig := filepath.Join(dir, "letter.txt")
	data := sample(t, orig, 60_000)
	drop(u, orig)
	c := lastJob(t, u)
	if c.view.status != "done" || c.view.outcome != smaller {
		t.Fatalf("status %q, outcome %v", c.view.status, c.view.outcome)
	}
	// Details hold the method, the candidates and the checksum…
	if !strings.Contains(c.view.technical.Text, "Method: "+c.result.Method) || !strings.Contains(c.view.technical.Text, "auto:") ||
		c.view.sha.Text != hexSum(data) {
		t.Fatalf("details: %q, sha %q", c.view.technical.Text, c.view.sha.Text)
	}
	if c.view.details.Items[0].Open {
		t.Fatal("Details are open on a new card")
	}
	// …and the face none of them.
	face := faceText(t, c.view)
	if m := jargon.FindString(face); m != "" {
		t.Fatalf("the card shows %q outside Details:\n%s", m, face)
	}
	saved := 100 * float64(c.result.InputSize-c.result.OutputSize) / float64(c.result.InputSize)
	for _, want := range []string{"letter.txt", humanBytes(60_000), humanBytes(float64(c.result.OutputSize)), percent(saved) + " smaller", "Verified"} {
		if !strings.Contains(face, want) {
			t.Errorf("the card lacks %q:\n%s", want, face)
		}
	}
	if c.view.mark.Resource.Name() != theme.NewSuccessThemedResource(theme.ConfirmIcon()).Name() {
		t.Errorf("the mark is %q, want the success tick", c.view.mark.Resource.Name())
	}
	if c.view.preview.MinSize().Width < 160 {
		t.Errorf("the image is drawn %v wide, too small to see", c.view.preview.MinSize().Width)
	}

	os.Remove(orig)
	drop(u, c.result.Output)
	r := lastJob(t, u)
	if r.view.status != "done" {
		t.Fatalf("restore: %q", labelText(r.view.message))
	}
	face = faceText(t, r.view)
	if m := jargon.FindString(face); m != "" {
		t.Fatalf("the restore card shows %q outside Details:\n%s", m, face)
	}
	if !strings.Contains(face, "Restored as letter.txt") || !strings.Contains(face, "Verified") || !r.view.open.Visible() {
		t.Fatalf("the restore card does not say where, or lacks Open:\n%s", face)
	}
}

func TestNotSmallerWarns(t *testing.T) {
	random := make([]byte, 40_000)
	rand.New(rand.NewSource(1)).Read(random)
	for _, tc := range []struct {
		name string
		data []byte
		why  string
	}{
		{"tiny.txt", []byte("hello\n"), "too small"},
		{"photo.jpg", random, "already compressed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := newTestUI(t, "auto")
			path := filepath.Join(t.TempDir(), tc.name)
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			drop(u, path)
			j := lastJob(t, u)
			if j.view.status != "done" || j.result.OutputSize < j.result.InputSize {
				t.Fatalf("status %q, %d → %d bytes", j.view.status, j.result.InputSize, j.result.OutputSize)
			}
			if j.view.outcome != notSmaller {
				t.Fatal("a file that grew is not marked as not smaller")
			}
			warn := theme.NewWarningThemedResource(theme.WarningIcon()).Name()
			if j.view.mark.Resource.Name() != warn {
				t.Fatalf("the mark is %q, want the warning", j.view.mark.Resource.Name())
			}
			face := strings.Join(strings.Fields(faceText(t, j.view)), " ") // lines wrap
			for _, want := range []string{"Not smaller", tc.why, "keep the original"} {
				if !strings.Contains(face, want) {
					t.Errorf("the card lacks %q:\n%s", want, face)
				}
			}
			if strings.Contains(face, "% smaller") {
				t.Errorf("the card claims a saving:\n%s", face)
			}
		})
	}
}

// recorder is the real pipeline, keeping every progress report.
type recorder struct {
	Core
	mu      sync.Mutex
	reports []core.Progress
}

func (r *recorder) wrap(opt core.Options) core.Options {
	show := opt.Progress
	opt.Progress = func(p core.Progress) {
		r.mu.Lock()
		r.reports = append(r.reports, p)
		r.mu.Unlock()
		show(p)
	}
	return opt
}

func (r *recorder) Compress(ctx context.Context, in, out string, opt core.Options) (*core.Result, error) {
	return r.Core.Compress(ctx, in, out, r.wrap(opt))
}

func (r *recorder) Decompress(ctx context.Context, in, out string, opt core.Options) (*core.Result, error) {
	return r.Core.Decompress(ctx, in, out, r.wrap(opt))
}

// TestProgressNeverGoesBack runs real jobs with every classical candidate
// and checks that the whole job's fraction only grows, from 0 to 1.
func TestProgressNeverGoesBack(t *testing.T) {
	u, _ := newTestUI(t, "auto")
	u.settings.prefs.SetInt(prefLevel, 3)
	rec := &recorder{}
	u.pipe = rec
	orig := filepath.Join(t.TempDir(), "book.txt")
	sample(t, orig, 400_000)
	drop(u, orig)
	os.Remove(orig)
	drop(u, orig+zpngSuffix)
	for _, j := range u.shown {
		if j.view.status != "done" || j.view.bar.Value != 1 {
			t.Fatalf("%v: status %q, bar %v", j.action, j.view.status, j.view.bar.Value)
		}
	}
	var last float64
	var phases []string
	for i, p := range rec.reports {
		if p.Phase == "read" && p.Fraction == 0 {
			last = 0 // a new job
		}
		if p.Fraction < last {
			t.Fatalf("report %d (%s) goes back: %.4f after %.4f", i, p.Phase, p.Fraction, last)
		}
		last = p.Fraction
		phases = append(phases, phaseWords(Compress, p.Phase))
	}
	if len(rec.reports) < 10 || last != 1 {
		t.Fatalf("%d reports, the last at %v", len(rec.reports), last)
	}
	for _, want := range []string{"Reading", "Compressing", "Checking"} {
		if !strings.Contains(strings.Join(phases, ","), want) {
			t.Errorf("no %q among the phases %v", want, phases)
		}
	}
}

// TestProgressShowsWholeJob feeds a card reports as a job makes them: the
// bar holds its largest fraction, and the time left is the whole job's,
// not the current phase's.
func TestProgressShowsWholeJob(t *testing.T) {
	j := &job{action: Compress, input: "/x/a.txt"}
	v := newJobView(j, func() {})
	start := time.Unix(1000, 0)
	v.started(j, start)
	v.progress(Compress, core.Progress{Phase: "compress xz", Fraction: 0.25, ETA: 2 * time.Second}, start.Add(10*time.Second))
	if v.bar.Value != 0.25 || v.detail.Text != "About 0:30 left" || v.phase.Text != "Compressing" {
		t.Fatalf("bar %v, %q, %q", v.bar.Value, v.phase.Text, v.detail.Text)
	}
	// A phase that starts lower must not pull the bar back.
	v.progress(Compress, core.Progress{Phase: "fine-tune", Fraction: 0.2}, start.Add(12*time.Second))
	if v.bar.Value != 0.25 || v.phase.Text != "Learning your file" {
		t.Fatalf("bar %v after a lower report, phase %q", v.bar.Value, v.phase.Text)
	}
	v.progress(Compress, core.Progress{Phase: "verify", Fraction: 0.8}, start.Add(40*time.Second))
	if v.detail.Text != "About 0:10 left" || v.phase.Text != "Checking" {
		t.Fatalf("%q, %q", v.phase.Text, v.detail.Text)
	}
}

func TestErrorsSummarised(t *testing.T) {
	u, w := newTestUI(t, "zstd")
	dir := t.TempDir()
	var bad []string
	for _, name := range []string{"a.zpng.png", "b.zpng.png", "c.zpng.png"} {
		p := filepath.Join(dir, name)
		writePlainPNG(t, p)
		bad = append(bad, p)
	}
	drop(u, bad...)
	if w.Canvas().Overlays().Top() != nil {
		t.Fatal("a dialog covers the window")
	}
	if !u.errors.box.Visible() || !strings.HasPrefix(u.errors.text.Text, "3 problems") {
		t.Fatalf("summary %q, shown %v", u.errors.text.Text, u.errors.box.Visible())
	}
	for _, j := range u.shown {
		if !strings.Contains(labelText(j.view.message), "not a ZPNG image") {
			t.Fatalf("card of %s says %q", j.input, labelText(j.view.message))
		}
	}
	test.Tap(u.errors.dismiss)
	if u.errors.box.Visible() {
		t.Fatal("Dismiss left the summary")
	}
	drop(u, bad[0])
	if !u.errors.box.Visible() || strings.Contains(u.errors.text.Text, "problems") {
		t.Fatalf("after Dismiss, a new failure shows %q", u.errors.text.Text)
	}
}

func TestShortcuts(t *testing.T) {
	u, w := newTestUI(t, "zstd")
	dir := t.TempDir()
	orig := filepath.Join(dir, "a.txt")
	sample(t, orig, 5000)
	u.dialogs = chosenFile(orig)
	sc := w.Canvas().(fyne.Shortcutable)
	sc.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: fyne.KeyModifierShortcutDefault})
	settle(u)
	c := lastJob(t, u)
	if c.action != Compress || c.view.status != "done" {
		t.Fatalf("Ctrl+O: action %v, status %q", c.action, c.view.status)
	}
	u.dialogs = chosenFile(c.result.Output)
	sc.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyR, Modifier: fyne.KeyModifierShortcutDefault})
	settle(u)
	if r := lastJob(t, u); r == c || r.action != Restore || r.view.status != "done" {
		t.Fatalf("Ctrl+R: action %v, status %q", r.action, r.view.status)
	}
}

func TestOpenFailsInline(t *testing.T) {
	u, _ := newTestUI(t, "zstd")
	orig := filepath.Join(t.TempDir(), "a.txt")
	sample(t, orig, 5000)
	drop(u, orig)
	os.Remove(orig)
	drop(u, orig+zpngSuffix)
	r := lastJob(t, u)

	var opened string
	u.openPath = func(p string) error { opened = p; return nil }
	test.Tap(r.view.open)
	settle(u)
	if opened != orig || r.view.actionErr.Visible() {
		t.Fatalf("Open opened %q, failure shown %v", opened, r.view.actionErr.Visible())
	}
	u.openPath = func(string) error { return errors.New("cannot open a.txt: no program for text/plain") }
	test.Tap(r.view.showDir)
	settle(u)
	if !r.view.actionErr.Visible() || r.view.actionErr.Text != "cannot open a.txt: no program for text/plain" {
		t.Fatalf("the failure shows %q (visible %v)", r.view.actionErr.Text, r.view.actionErr.Visible())
	}
}

// TestOpenerMissing runs the real opener with no opener on PATH.
func TestOpenerMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := openWithDesktop("/tmp/x.txt")
	if err == nil || !strings.Contains(err.Error(), "is not installed") {
		t.Fatalf("err = %v, want the opener named as missing", err)
	}
}
