//go:build !notorch

package torch

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "loader.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// LibName is the file of the binding's C++ side and of libtorch beneath it,
// which the Makefile builds (csrc/build.sh) and the packages install in
// /usr/lib/zpng.
const LibName = "libzpng-torch.so"

// LibEnv names the environment variable that gives the library's path;
// when it is set, no other place is searched.
const LibEnv = "ZPNG_TORCH_LIB"

// ErrNoLibrary is what Load wraps when the library is in none of the
// places it searches.
var ErrNoLibrary = errors.New("the torch engine needs " + LibName + ": run make, or install the .deb")

var lib struct {
	sync.Mutex
	path string // of the loaded library; "" until Load succeeds
}

// Load loads the library, and with it libtorch, on first use: from $ZPNG_TORCH_LIB
// when set, else from the executable's folder, ../lib/zpng beside that
// folder, or /usr/lib/zpng. Every function of this package calls it, so
// zpng loads libtorch only when something runs on it. A failure is not
// remembered: a later call searches again.
func Load() error {
	lib.Lock()
	defer lib.Unlock()
	if lib.path != "" {
		return nil
	}
	paths := libPaths()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		cp := C.CString(p)
		msg := C.zt_load(cp)
		C.free(unsafe.Pointer(cp))
		if msg != nil {
			defer C.free(unsafe.Pointer(msg))
			return fmt.Errorf("the torch engine cannot load %s: %s", p, C.GoString(msg))
		}
		lib.path = p
		if os.Getenv("OMP_NUM_THREADS") == "" {
			defaultThreads()
		}
		return nil
	}
	return fmt.Errorf("%w; searched: %s", ErrNoLibrary, strings.Join(paths, ", "))
}

// LibPath is the path of the loaded library, or "" before Load succeeds.
func LibPath() string {
	lib.Lock()
	defer lib.Unlock()
	return lib.path
}

// libPaths lists where Load looks, in order.
func libPaths() []string {
	if p := os.Getenv(LibEnv); p != "" {
		// dlopen looks up a bare file name in the system's folders, not here.
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return []string{p}
	}
	var paths []string
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			dir := filepath.Dir(exe)
			paths = append(paths, filepath.Join(dir, LibName), filepath.Join(dir, "..", "lib", "zpng", LibName))
		}
	}
	paths = append(paths, filepath.Join("/usr/lib/zpng", LibName))
	var out []string
	for _, p := range paths {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
