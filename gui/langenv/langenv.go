// Package langenv gives Fyne a locale it can parse when the user's is the
// C locale with a character set, such as LANG=C.UTF-8, the default of many
// containers and CI machines.
//
// Fyne's lang package reads the locale at package initialisation through
// github.com/jeandeaual/go-locale, which turns "C.UTF-8" into the language
// tag "C"; parsing that fails, and Fyne logs three "Fyne error" lines
// before any of zpng's code runs. Plain "C" and "POSIX" are recognised and
// give no error. When the locale is C or POSIX with a suffix and LANGUAGE
// is unset, this package sets LANGUAGE=en, which go-locale reads next:
// English, what the C locale means. LANGUAGE changes no C library
// behaviour (it only orders gettext's message catalogues, and gettext
// ignores it in the C locale).
//
// It has to run before Fyne's init, which a package of the zpng module
// cannot: Go initialises packages in the order of their import paths among
// those whose imports are done (the Go specification, "Package
// initialization"), and "zpng/..." sorts after "fyne.io/...". So this is a
// module of its own, early.zpng/langenv, that imports only the standard
// library; go.mod replaces it with this folder.
package langenv

import (
	"os"
	"strings"
)

func init() {
	if os.Getenv("LANGUAGE") == "" && needsLanguage(locale()) {
		os.Setenv("LANGUAGE", "en")
	}
}

// locale is the first of LC_ALL, LC_MESSAGES and LANG that is set: the
// value go-locale reads.
func locale() string {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return ""
}

// needsLanguage reports whether go-locale would take loc as language "C"
// or "POSIX": C or POSIX followed by a character set or modifier.
func needsLanguage(loc string) bool {
	for _, c := range []string{"C", "POSIX"} {
		if rest, ok := strings.CutPrefix(loc, c); ok && rest != "" && (rest[0] == '.' || rest[0] == '@') {
			return true
		}
	}
	return false
}
