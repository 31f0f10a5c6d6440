package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"zpng/core"
)

// progressLine returns a Progress callback that keeps one updating line on
// stderr when stderr is a terminal (nil otherwise), and a function that
// clears the line.
func progressLine() (func(core.Progress), func()) {
	st, err := os.Stderr.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil, func() {}
	}
	width := 0
	show := func(p core.Progress) {
		var b strings.Builder
		fmt.Fprintf(&b, "%-18s %3.0f%%", p.Phase, 100*p.Fraction)
		if p.Total > 0 {
			fmt.Fprintf(&b, "  %s/%s", human(float64(p.Done)), human(float64(p.Total)))
		}
		if p.BytesPerSec > 0 {
			fmt.Fprintf(&b, "  %s/s", human(p.BytesPerSec))
		}
		if p.ETA > 0 {
			fmt.Fprintf(&b, "  ETA %s", p.ETA.Round(time.Second))
		}
		if p.Loss != 0 {
			fmt.Fprintf(&b, "  loss %.4f", p.Loss)
		}
		s := b.String()
		pad := max(width-len(s), 0)
		width = len(s)
		fmt.Fprintf(os.Stderr, "\r%s%s", s, strings.Repeat(" ", pad))
	}
	clear := func() {
		if width > 0 {
			fmt.Fprintf(os.Stderr, "\r%s\r", strings.Repeat(" ", width))
		}
	}
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
