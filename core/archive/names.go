package archive

import (
	"os"
	"strings"
	"unicode"
)

// CleanName makes one stored name safe to create in a folder: valid UTF-8,
// no invisible format characters (U+202E and its kind can disguise an
// extension), control characters and path separators (and ':' on Windows)
// replaced by '_', no surrounding spaces, and not "." or "..". It returns
// "" when nothing usable is left.
func CleanName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.Is(unicode.Cf, r):
			return -1
		case unicode.IsControl(r) || r == '/' || r == '\\' || r == ':' && os.PathSeparator == '\\':
			return '_'
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if strings.Trim(name, ".") == "" {
		return ""
	}
	return name
}

// foldKey maps s to a key that is equal for names that differ only in
// case (Unicode simple case folding, as strings.EqualFold).
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, s)
}
