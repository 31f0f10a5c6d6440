//go:build !nogui

package gui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// zpngSuffix ends the name of every image the window writes.
const zpngSuffix = ".zpng.png"

// freeName returns path if nothing is there, else the first of
// "name (2).ext", "name (3).ext", ... that is free. The window never
// overwrites a file: it writes beside it under such a name.
func freeName(path string) string {
	if !exists(path) {
		return path
	}
	dir, base := filepath.Split(path)
	stem, ext := splitExt(base)
	for n := 2; ; n++ {
		p := filepath.Join(dir, fmt.Sprintf("%s (%d)%s", stem, n, ext))
		if !exists(p) {
			return p
		}
	}
}

// splitExt splits "a.txt.zpng.png" as "a.txt" + ".zpng.png" and "a.txt"
// as "a" + ".txt", so that a numbered copy keeps its type.
func splitExt(base string) (stem, ext string) {
	if strings.HasSuffix(base, zpngSuffix) && len(base) > len(zpngSuffix) {
		return base[:len(base)-len(zpngSuffix)], zpngSuffix
	}
	ext = filepath.Ext(base)
	if ext == base { // ".bashrc" has no extension
		ext = ""
	}
	return base[:len(base)-len(ext)], ext
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// humanBytes formats a size in SI units: 999 B, 1.2 kB, 3.4 MB.
func humanBytes(n float64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%.0f B", n)
	}
	prefixes := "kMGTP"
	i := 0
	for n /= unit; n >= unit && i < len(prefixes)-1; i++ {
		n /= unit
	}
	return fmt.Sprintf("%.1f %cB", n, prefixes[i])
}

// clock formats a duration as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s < 0 {
		s = 0
	}
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
