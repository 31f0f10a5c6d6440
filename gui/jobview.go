//go:build !nogui

package gui

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"zpng/core"
)

// previewSize is the side of the square the result image is drawn in.
const previewSize = 150

// jobView is one job's card in the queue. Use it on the main thread only.
type jobView struct {
	card   *widget.Card
	phase  *widget.Label
	bar    *widget.ProgressBar
	detail *widget.Label
	cancel *widget.Button

	// Filled in by showResult, for tests and the buttons.
	status   string // "queued", "running", "done", "failed", "cancelled"
	message  *widget.Label
	verified *widget.Label
	sha      *widget.Label
	preview  *canvas.Image
	showDir  *widget.Button
	saveAs   *widget.Button
}

func newJobView(j *job, onCancel func()) *jobView {
	v := &jobView{
		card:   widget.NewCard(filepath.Base(j.input), j.action.String()+" · queued", nil),
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

func (v *jobView) started(j *job) {
	v.status = "running"
	v.card.SetSubTitle(j.action.String() + " · working")
	v.phase.SetText("Starting…")
}

// progress shows a progress report: phase, bar, speed, ETA and, while the
// model is fine-tuned, its loss.
func (v *jobView) progress(p core.Progress) {
	if v.status != "running" {
		return // a late report after the result
	}
	if p.Phase != "" {
		v.phase.SetText(capitalize(p.Phase))
	}
	frac := p.Fraction
	if frac == 0 && p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	v.bar.SetValue(frac)
	v.detail.SetText(progressDetail(p))
}

func progressDetail(p core.Progress) string {
	var parts []string
	if p.Total > 0 {
		parts = append(parts, fmt.Sprintf("%d / %d", p.Done, p.Total))
	}
	if p.BytesPerSec > 0 {
		parts = append(parts, humanBytes(p.BytesPerSec)+"/s")
	}
	if p.ETA > 0 {
		parts = append(parts, "ETA "+clock(p.ETA))
	}
	if p.Loss != 0 {
		parts = append(parts, fmt.Sprintf("loss %.4f", p.Loss))
	}
	return strings.Join(parts, "  ·  ")
}

// showResult replaces the progress with the result: the PNG, the sizes,
// the method, the verified checksum and what can be done with the file.
func (v *jobView) showResult(j *job, r *core.Result, onShow, onSave func()) {
	v.status = "done"
	out := filepath.Base(r.Output)
	v.card.SetSubTitle(j.action.past() + " → " + out)

	png := r.Output // the image is the output of a compression…
	if j.action == Restore {
		png = r.Input // …and the input of a restore
	}
	v.preview = canvas.NewImageFromFile(png)
	v.preview.ScaleMode = canvas.ImageScalePixels // keep the static crisp
	v.preview.FillMode = canvas.ImageFillContain
	v.preview.SetMinSize(fyne.NewSize(previewSize, previewSize))

	lines := []string{sizeLine(j.action, r), methodLine(r)}
	if r.Entries > 0 {
		lines = append(lines, fmt.Sprintf("A folder of %d entries (folders, files and links)", r.Entries))
	}
	lines = append(lines, r.Notes...)
	if j.renamed {
		lines = append(lines, "A file of that name existed; saved as "+out+".")
	}
	v.message = widget.NewLabel(strings.Join(lines, "\n"))
	v.message.Wrapping = fyne.TextWrapWord

	var mark *widget.Icon
	if r.Verified {
		mark = widget.NewIcon(theme.NewSuccessThemedResource(theme.ConfirmIcon()))
		what := "Verified: decoded again, SHA-256 matches the original"
		if j.action == Restore {
			what = "Verified: SHA-256 matches the one recorded in the image"
		}
		v.verified = widget.NewLabelWithStyle(what, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	} else {
		mark = widget.NewIcon(theme.NewWarningThemedResource(theme.WarningIcon()))
		v.verified = widget.NewLabelWithStyle("Not verified", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	v.sha = widget.NewLabelWithStyle(hex.EncodeToString(r.SHA256[:]), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	v.sha.Wrapping = fyne.TextWrapBreak
	v.sha.Selectable = true

	v.showDir = widget.NewButtonWithIcon("Show in folder", theme.FolderOpenIcon(), onShow)
	v.saveAs = widget.NewButtonWithIcon("Save as…", theme.DocumentSaveIcon(), onSave)

	info := container.NewVBox(
		v.message,
		container.NewBorder(nil, nil, mark, nil, v.verified),
		v.sha,
		container.NewHBox(v.showDir, v.saveAs),
	)
	v.card.SetContent(container.NewBorder(nil, nil, container.NewPadded(v.preview), nil, info))
}

func sizeLine(a Action, r *core.Result) string {
	in, out := float64(r.InputSize), float64(r.OutputSize)
	s := fmt.Sprintf("%s → %s", humanBytes(in), humanBytes(out))
	if a == Compress && in > 0 {
		s += fmt.Sprintf("  ·  %.1f%% of the original", 100*out/in)
	}
	if r.BitsPerByte > 0 {
		s += fmt.Sprintf("  ·  %.3f bits/byte", r.BitsPerByte)
	}
	return s + fmt.Sprintf("  ·  %.1f s", r.Elapsed.Seconds())
}

func methodLine(r *core.Result) string {
	s := "Method: " + r.Method
	if r.Model != "" {
		s += "  ·  model: " + r.Model
	}
	return s
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

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
