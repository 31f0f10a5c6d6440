//go:build !nogui

package gui

import (
	"fmt"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"zpng/core"
)

// Preference keys. The values are remembered by Fyne per app ID.
const (
	prefLevel         = "level"
	prefMethod        = "method"
	prefModel         = "model"
	prefFinetuneSteps = "finetuneSteps"
	prefSelfContained = "selfContained"
	prefDevice        = "device"
)

// Settings are the choices a person makes once and keeps.
type Settings struct {
	prefs fyne.Preferences
}

// Options are the pipeline options the settings ask for. Read them on
// the main thread, when a job is queued, so a job keeps the settings it
// was queued with.
func (s Settings) Options() core.Options {
	return core.Options{
		Level:         s.prefs.IntWithFallback(prefLevel, core.DefaultLevel),
		Method:        s.prefs.StringWithFallback(prefMethod, "auto"),
		Model:         s.prefs.StringWithFallback(prefModel, "auto"),
		FinetuneSteps: s.prefs.IntWithFallback(prefFinetuneSteps, core.FinetuneByLevel),
		SelfContained: s.prefs.Bool(prefSelfContained),
		Device:        s.prefs.StringWithFallback(prefDevice, "auto"),
	}
}

// form is the settings panel; every change is saved at once.
func (s Settings) form() *widget.Form {
	opt := s.Options()

	// Levels: 1 is fastest, 9 smallest (core/levels.go).
	levelName := widget.NewLabel("")
	showLevel := func(l int) { levelName.SetText(fmt.Sprintf("level %d", l)) }
	level := widget.NewSlider(core.MinLevel, core.MaxLevel)
	level.Step = 1
	level.SetValue(float64(opt.Level))
	showLevel(opt.Level)
	level.OnChanged = func(v float64) {
		s.prefs.SetInt(prefLevel, int(v))
		showLevel(int(v))
	}
	speed := container.NewBorder(nil, nil, widget.NewLabel("Faster"), container.NewHBox(widget.NewLabel("Smaller"), levelName), level)

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
	steps.SetPlaceHolder("the level's")
	if opt.FinetuneSteps != core.FinetuneByLevel {
		steps.SetText(strconv.Itoa(opt.FinetuneSteps))
	}
	steps.Validator = func(v string) error {
		_, err := parseSteps(v)
		return err
	}
	steps.OnChanged = func(v string) {
		if n, err := parseSteps(v); err == nil {
			s.prefs.SetInt(prefFinetuneSteps, n)
		}
	}

	self := widget.NewCheck("embed the whole model", func(v bool) {
		s.prefs.SetBool(prefSelfContained, v)
	})
	self.SetChecked(opt.SelfContained)

	device := widget.NewSelect([]string{"auto", "cpu", "cuda"}, func(v string) {
		s.prefs.SetString(prefDevice, v)
	})
	device.SetSelected(opt.Device)

	return widget.NewForm(
		hinted("Speed", speed, "How hard ZPNG tries: level 6 suits most files"),
		hinted("Method", method, "auto keeps the smallest of the level's methods"),
		hinted("Model", model, "The neural model: auto, small, large, or a model file"),
		hinted("Fine-tune steps", steps, "Training on your file first: slower, often smaller; empty: the level's"),
		hinted("Self-contained", self, "The image restores even where ZPNG's shipped model differs"),
		hinted("Device", device, "Where the model runs: cuda is an NVIDIA graphics card"),
	)
}

// hinted is a form item with a line under it that says what it does.
func hinted(label string, w fyne.CanvasObject, hint string) *widget.FormItem {
	item := widget.NewFormItem(label, w)
	item.HintText = hint
	return item
}

type stepsError string

func (e stepsError) Error() string { return string(e) }

// parseSteps reads the fine-tune steps typed: empty for the level's.
func parseSteps(v string) (int, error) {
	if v == "" {
		return core.FinetuneByLevel, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > core.MaxFinetuneSteps {
		return 0, stepsError(fmt.Sprintf("empty (the level's) or a whole number from 0 to %d", core.MaxFinetuneSteps))
	}
	return n, nil
}
