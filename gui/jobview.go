//go:build !nogui

package gui

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"zpng/core"
)

// previewSize is the side of the square the result image is drawn in:
// large enough to see its static pixel by pixel.
const previewSize = 170

// jobView is one job's card in the queue. Use it on the main thread only.
type jobView struct {
	card   *widget.Card
	phase  *widget.Label
	bar    *widget.ProgressBar
	detail *widget.Label // the whole job's time left
	cancel *widget.Button

	start time.Time // when the job started running
	shown float64   // the largest fraction shown: the bar never goes back

	// Filled in by showResult, for tests and the buttons.
	status    string // "queued", "running", "done", "failed", "cancelled"
	outcome   outcome
	headline  *widget.Label // before → after · 67% smaller
	saving    *widget.Label // why a file did not shrink
	mark      *widget.Icon
	verified  *widget.Label
	message   *widget.Label // a note for the person: a rename, an error
	details   *widget.Accordion
	technical *widget.Label // method, model, notes: inside Details
	sha       *widget.Label // inside Details
	preview   *canvas.Image
	open      *widget.Button // opens the restored file
	showDir   *widget.Button
	saveAs    *widget.Button
	actionErr *widget.Label // why Open, Show in folder or Save as failed
}

// outcome sorts a finished compression by what it saved.
type outcome int

const (
	smaller    outcome = iota
	notSmaller         // the image is as large as the file or larger
)

// cardHandlers are what the buttons of a finished card do.
type cardHandlers struct {
	open, showDir, saveAs func()
}

func newJobView(j *job, onCancel func()) *jobView {
	v := &jobView{
		card:   widget.NewCard(filepath.Base(j.input), j.action.String()+" · waiting", nil),
		phase:  widget.NewLabel("Waiting…"),
		bar:    widget.NewProgressBar(),
		detail: widget.NewLabel(""),
		status: "queued",
	}
	v.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), onCancel)
	v.card.SetContent(container.NewVBox(
		container.NewBorder(nil, nil, nil, v.cancel, v.phase),
		v.bar,
		v.detail,
	))
	return v
}

func (v *jobView) started(j *job, now time.Time) {
	v.status = "running"
	v.start = now
	v.card.SetSubTitle(j.action.String() + " · working")
	v.phase.SetText("Starting…")
}

// progress shows a progress report: the phase in words, the whole job's
// fraction, which never goes back, and the whole job's time left.
func (v *jobView) progress(a Action, p core.Progress, now time.Time) {
	if v.status != "running" {
		return // a late report after the result
	}
	if words := phaseWords(a, p.Phase); words != "" {
		v.phase.SetText(words)
	}
	v.shown = max(v.shown, min(p.Fraction, 1))
	v.bar.SetValue(v.shown)
	v.detail.SetText(timeLeft(v.shown, now.Sub(v.start)))
}

// phaseWords names a pipeline phase for a person.
func phaseWords(a Action, phase string) string {
	switch {
	case phase == "":
		return ""
	case phase == "read":
		return "Reading"
	case phase == "fine-tune":
		return "Learning your file"
	case phase == "write":
		return "Writing the image"
	case phase == "verify" && a == Compress:
		return "Checking"
	case phase == "verify":
		return "Checking the restored file"
	case strings.HasPrefix(phase, "decompress"):
		return "Restoring"
	case phase == "done":
		return "Done"
	}
	// "compress zstd", "hybrid", "estimate", "encode": the candidates.
	return "Compressing"
}

// timeLeft is the whole job's time left, from the fraction done so far
// and the time it took: the fraction follows the phases' planned costs,
// and the time taken corrects the plan as the job runs.
func timeLeft(frac float64, elapsed time.Duration) string {
	if frac < 0.02 || frac >= 1 || elapsed < time.Second {
		return "Estimating the time…"
	}
	left := time.Duration(float64(elapsed) * (1 - frac) / frac)
	return "About " + clock(left) + " left"
}

// showResult replaces the progress with the result: the image, the sizes
// and what was saved, the verified mark and what can be done with the
// file; how it was done is folded under Details.
func (v *jobView) showResult(j *job, r *core.Result, h cardHandlers) {
	v.status = "done"
	out := filepath.Base(r.Output)
	png := r.Output // the image is the output of a compression…
	if j.action == Restore {
		png = r.Input // …and the input of a restore
		v.card.SetSubTitle("Restored as " + out)
	} else {
		v.card.SetSubTitle("Compressed into " + out)
	}
	v.preview = canvas.NewImageFromFile(png)
	v.preview.ScaleMode = canvas.ImageScalePixels // keep the static crisp
	v.preview.FillMode = canvas.ImageFillContain
	v.preview.SetMinSize(fyne.NewSize(previewSize, previewSize))

	sizes := humanBytes(float64(r.InputSize)) + "  →  " + humanBytes(float64(r.OutputSize))
	saving, why := savingText(j.action, r)
	v.headline = widget.NewLabelWithStyle(sizes, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.saving = widget.NewLabel(saving)
	v.saving.Wrapping = fyne.TextWrapWord
	v.saving.Hide() // a saving fits on the headline; only a warning needs a line
	if saving != "" {
		v.headline.SetText(sizes + "  ·  " + saving)
	}

	okMark := theme.NewSuccessThemedResource(theme.ConfirmIcon())
	what := "Verified: it restores to exactly the original"
	if j.action == Restore {
		what = "Verified: identical to the file that was compressed"
	}
	switch {
	case !r.Verified:
		okMark = theme.NewWarningThemedResource(theme.WarningIcon())
		what = "Not verified"
	case j.action == Compress && r.OutputSize >= r.InputSize:
		v.outcome = notSmaller
		okMark = theme.NewWarningThemedResource(theme.WarningIcon())
		v.headline.SetText(sizes)
		v.saving.Importance = widget.WarningImportance
		v.saving.SetText(saving + " " + why)
		v.saving.Show()
		what = "Restores exactly, but keep the original: it is the smaller copy"
	}
	v.mark = widget.NewIcon(okMark)
	v.verified = widget.NewLabelWithStyle(what, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.verified.Wrapping = fyne.TextWrapWord

	var notes []string
	if r.Entries > 0 {
		notes = append(notes, fmt.Sprintf("A folder of %d entries (folders, files and links)", r.Entries))
	}
	if j.renamed {
		notes = append(notes, "A file of that name existed; saved as "+out+".")
	}
	v.message = widget.NewLabel(strings.Join(notes, "\n"))
	v.message.Wrapping = fyne.TextWrapWord
	if len(notes) == 0 {
		v.message.Hide()
	}

	v.technical = widget.NewLabel(strings.Join(technicalLines(r), "\n"))
	v.technical.Wrapping = fyne.TextWrapWord
	v.sha = widget.NewLabelWithStyle(hex.EncodeToString(r.SHA256[:]), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	v.sha.Wrapping = fyne.TextWrapBreak
	v.sha.Selectable = true
	v.details = widget.NewAccordion(widget.NewAccordionItem("Details", container.NewVBox(
		v.technical, widget.NewLabel("SHA-256 of the original:"), v.sha)))

	v.open = widget.NewButtonWithIcon("Open", theme.FileIcon(), h.open)
	v.showDir = widget.NewButtonWithIcon("Show in folder", theme.FolderOpenIcon(), h.showDir)
	v.saveAs = widget.NewButtonWithIcon("Save as…", theme.DocumentSaveIcon(), h.saveAs)
	buttons := container.NewHBox(v.showDir, v.saveAs)
	if j.action == Restore {
		buttons = container.NewHBox(v.open, v.showDir, v.saveAs)
	}
	v.actionErr = widget.NewLabel("")
	v.actionErr.Wrapping = fyne.TextWrapWord
	v.actionErr.Importance = widget.DangerImportance
	v.actionErr.Hide()

	info := container.NewVBox(
		v.headline,
		v.saving,
		container.NewBorder(nil, nil, container.NewVBox(v.mark), nil, v.verified),
		v.message,
		buttons,
		v.actionErr,
		v.details,
	)
	v.card.SetContent(container.NewBorder(nil, nil, container.NewPadded(v.preview), nil, info))
}

// savingText says what a compression saved, in words ("" for a restore);
// for one that did not shrink the file, why says why.
func savingText(a Action, r *core.Result) (saving, why string) {
	in, out := r.InputSize, r.OutputSize
	if a == Restore {
		return "", ""
	}
	if out < in {
		return percent(100*float64(in-out)/float64(in)) + " smaller", ""
	}
	saving = fmt.Sprintf("Not smaller: the image is %s larger than the file.", humanBytes(float64(out-in)))
	switch {
	case incompressibleNote(r.Notes):
		why = "Its data is already compressed (like a JPEG, a ZIP or a video), so there is nothing left to squeeze out, and the image adds a few hundred bytes of its own."
	case in < 4096:
		why = "The file is too small: the image's own few hundred bytes outweigh what compression saves."
	default:
		why = "Its data is already compressed or random, so there is nothing left to squeeze out."
	}
	return saving, why
}

// percent formats a share with one decimal below 10%, none above.
func percent(p float64) string {
	if p < 10 {
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}

// incompressibleNote reports whether the pipeline found the data
// incompressible and stored it at once.
func incompressibleNote(notes []string) bool {
	for _, n := range notes {
		if strings.Contains(n, "incompressible") {
			return true
		}
	}
	return false
}

// technicalLines are the result's details for those who want them: the
// method and model, the pipeline's notes, the rate and the time.
func technicalLines(r *core.Result) []string {
	s := "Method: " + r.Method
	if r.Model != "" {
		s += "  ·  model: " + r.Model
	}
	lines := []string{s}
	lines = append(lines, r.Notes...)
	if r.BitsPerByte > 0 {
		lines = append(lines, fmt.Sprintf("%.3f bits per byte of the original", r.BitsPerByte))
	}
	return append(lines, fmt.Sprintf("%d → %d bytes in %.1f s", r.InputSize, r.OutputSize, r.Elapsed.Seconds()))
}

// actionFailed shows, on the card, why one of its buttons failed.
func (v *jobView) actionFailed(err error) {
	v.actionErr.SetText(err.Error())
	v.actionErr.Show()
}

func (v *jobView) showError(j *job, err error) {
	v.status = "failed"
	v.card.SetSubTitle(j.action.String() + " · failed")
	v.message = widget.NewLabelWithStyle(err.Error(), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.message.Wrapping = fyne.TextWrapWord
	v.message.Importance = widget.DangerImportance
	icon := widget.NewIcon(theme.NewErrorThemedResource(theme.ErrorIcon()))
	v.card.SetContent(container.NewBorder(nil, nil, container.NewVBox(icon), nil, v.message))
}

func (v *jobView) showCancelled(j *job) {
	v.status = "cancelled"
	v.card.SetSubTitle(j.action.String() + " · cancelled")
	v.message = widget.NewLabel("Cancelled; nothing was written.")
	v.card.SetContent(v.message)
}

func (v *jobView) finished() bool {
	return v.status == "done" || v.status == "failed" || v.status == "cancelled"
}
