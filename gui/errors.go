//go:build !nogui

package gui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// errorSummary is one line at the top of the window that sums up what
// failed since the person last dismissed it; each failed job's card says
// why in full. It replaces a stack of modal dialogs. Use it on the main
// thread only.
type errorSummary struct {
	box     *fyne.Container
	text    *widget.Label
	dismiss *widget.Button
	msgs    []string
	// relayout lays the window out again when the summary shows or hides.
	relayout func()
}

func newErrorSummary() *errorSummary {
	e := &errorSummary{text: widget.NewLabel("")}
	e.text.Wrapping = fyne.TextWrapWord
	e.text.Importance = widget.DangerImportance
	e.dismiss = widget.NewButtonWithIcon("Dismiss", theme.CancelIcon(), e.clear)
	icon := widget.NewIcon(theme.NewErrorThemedResource(theme.ErrorIcon()))
	e.box = container.NewBorder(nil, nil, icon, e.dismiss, e.text)
	e.box.Hide()
	e.relayout = func() {}
	return e
}

// add counts one more failure and shows the summary.
func (e *errorSummary) add(msg string) {
	e.msgs = append(e.msgs, msg)
	if len(e.msgs) == 1 {
		e.text.SetText(msg)
	} else {
		e.text.SetText(fmt.Sprintf("%d problems; the last: %s", len(e.msgs), msg))
	}
	e.box.Show()
	e.relayout()
}

// clear hides the summary until the next failure.
func (e *errorSummary) clear() {
	e.msgs = nil
	e.text.SetText("")
	e.box.Hide()
	e.relayout()
}
