//go:build !nogui

package gui

import (
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"zpng/core"
)

// Preference keys. The values are remembered by Fyne per app ID.
const (
	prefMethod        = "method"
	prefModel         = "model"
	prefFinetuneSteps = "finetuneSteps"
	prefSelfContained = "selfContained"
	prefDevice        = "device"
)

const defaultFinetuneSteps = 50

// Settings are the choices a person makes once and keeps.
type Settings struct {
	prefs fyne.Preferences
}

// Options are the pipeline options the settings ask for. Read them on
// the main thread, when a job is queued, so a job keeps the settings it
// was queued with.
func (s Settings) Options() core.Options {
	return core.Options{
		Method:        s.prefs.StringWithFallback(prefMethod, "auto"),
		Model:         s.prefs.StringWithFallback(prefModel, "auto"),
		FinetuneSteps: s.prefs.IntWithFallback(prefFinetuneSteps, defaultFinetuneSteps),
		SelfContained: s.prefs.Bool(prefSelfContained),
		Device:        s.prefs.StringWithFallback(prefDevice, "auto"),
	}
}

// form is the settings panel; every change is saved at once.
func (s Settings) form() *widget.Form {
	opt := s.Options()

	method := widget.NewSelect([]string{"auto", "hybrid", "neural", "cm", "zstd", "xz", "stored"}, func(v string) {
		s.prefs.SetString(prefMethod, v)
	})
	method.SetSelected(opt.Method)

	// The model is a name or the path of a model file, so it is typed.
	model := widget.NewSelectEntry([]string{"auto", "small", "large"})
	model.SetText(opt.Model)
	model.OnChanged = func(v string) {
		if v == "" {
			v = "auto"
		}
		s.prefs.SetString(prefModel, v)
	}

	steps := widget.NewEntry()
	steps.SetText(strconv.Itoa(opt.FinetuneSteps))
	steps.Validator = func(v string) error {
		_, err := parseSteps(v)
		return err
	}
	steps.OnChanged = func(v string) {
		if n, err := parseSteps(v); err == nil {
			s.prefs.SetInt(prefFinetuneSteps, n)
		}
	}

	self := widget.NewCheck("embed the whole model, not a delta from the shipped one", func(v bool) {
		s.prefs.SetBool(prefSelfContained, v)
	})
	self.SetChecked(opt.SelfContained)

	device := widget.NewSelect([]string{"auto", "cpu", "cuda"}, func(v string) {
		s.prefs.SetString(prefDevice, v)
	})
	device.SetSelected(opt.Device)

	return widget.NewForm(
		widget.NewFormItem("Method", method),
		widget.NewFormItem("Model", model),
		widget.NewFormItem("Fine-tune steps", steps),
		widget.NewFormItem("Self-contained", self),
		widget.NewFormItem("Device", device),
	)
}

type stepsError string

func (e stepsError) Error() string { return string(e) }

func parseSteps(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 100000 {
		return 0, stepsError("a whole number from 0 to 100000")
	}
	return n, nil
}
