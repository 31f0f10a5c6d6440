package main

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"zpng/core"
)

// barSteps is the progress bar's resolution.
const barSteps = 1000

// progressLine returns a Progress callback that draws one progress bar for
// the whole job on stderr, with the current phase and an ETA for the whole
// job, when stderr is a terminal (nil otherwise: logs and pipes stay
// quiet), and a function that clears the bar.
func progressLine() (func(core.Progress), func()) {
	st, err := os.Stderr.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil, func() {}
	}
	bar := progressbar.NewOptions(barSteps,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)
	show := func(p core.Progress) {
		desc := fmt.Sprintf("%-16s", p.Phase)
		if p.Loss != 0 {
			desc += fmt.Sprintf(" loss %.3f", p.Loss)
		} else if p.BytesPerSec > 0 {
			desc += fmt.Sprintf(" %8s/s", human(p.BytesPerSec))
		}
		bar.Describe(desc)
		bar.Set(int(p.Fraction * barSteps))
	}
	clear := func() { bar.Clear() }
	return show, clear
}

// human formats a byte count: 1.2 MB.
func human(n float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for n >= 1000 && i < len(units)-1 {
		n /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", n, units[i])
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
