//go:build !nogui

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLocaleQuiet: in the C locale, with or without a character set (the
// default of many containers), the command with the window built in prints
// nothing of Fyne's locale lookup.
func TestCLocaleQuiet(t *testing.T) {
	bin := buildCommand(t, t.TempDir())
	image := filepath.Join("..", "core", "testdata", "golden-cm.zpng.png")
	for _, lang := range []string{"C", "C.UTF-8", "C.utf8", "POSIX"} {
		cmd := exec.Command(bin, "info", image)
		cmd.Env = localeEnv("LANG=" + lang)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("LANG=%s: %v\n%s", lang, err, stderr.String())
		}
		if stderr.Len() > 0 {
			t.Errorf("LANG=%s: stderr is not empty:\n%s", lang, stderr.String())
		}
	}
}

// localeEnv is the environment without any locale variable, plus set.
func localeEnv(set ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, set...)
}
