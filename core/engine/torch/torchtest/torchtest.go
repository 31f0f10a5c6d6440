// Package torchtest lets tests that run libtorch find libzpng-torch.so, and
// decides what a test does when it is missing: skip, or fail where the
// library must be there (make test sets ZPNG_REQUIRE_TORCH=1).
package torchtest

import (
	"os"
	"path/filepath"
	"testing"
)

// RequireEnv names the variable that turns a missing library into a
// failure instead of a skip.
const RequireEnv = "ZPNG_REQUIRE_TORCH"

// Require skips t, or fails it when ZPNG_REQUIRE_TORCH=1, unless load
// (torch.Load, or a function that calls it) succeeds. Before loading it
// points ZPNG_TORCH_LIB at the repository's libzpng-torch.so, the one
// `make zpng` builds, when the variable is unset and that file exists; the
// commands that tests start inherit it.
func Require(t testing.TB, load func() error) {
	t.Helper()
	if err := Ready(load); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%v (%s=1)", err, RequireEnv)
		}
		t.Skipf("%v (make zpng builds it)", err)
	}
}

// Ready is Require's check without the test: it finds the repository's
// library as Require does and returns load's error.
func Ready(load func() error) error {
	if os.Getenv("ZPNG_TORCH_LIB") == "" {
		if p, ok := repoLib(); ok {
			os.Setenv("ZPNG_TORCH_LIB", p)
		}
	}
	return load()
}

// repoLib returns libzpng-torch.so at the root of the module that holds the
// working directory (a test runs in its package's folder).
func repoLib() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "libzpng-torch.so")
			_, err := os.Stat(p)
			return p, err == nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
