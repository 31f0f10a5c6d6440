//go:build !notorch

// Package torch is ZPNG's narrow cgo binding to libtorch's C++ API: the float
// byte model for training (parameters by name, loss, backward, Adam with
// clipping) and the integer engine "torch" of docs/ENGINE.md, on CUDA or CPU.
//
// The C++ side (csrc) builds into a shared library, libzpng-torch.so, that
// links libtorch (Debian's libtorch-dev, or the one inside a PyTorch wheel:
// csrc/build.sh, gpu.sh). zpng does not link it: Load opens it on first use
// (lib.go), so the commands that run no libtorch code start without
// libtorch's load and static initialisers. Build with -tags notorch to leave
// the package out entirely.
//
// Objects hold C++ memory: call Close when done. None is safe for concurrent use.
package torch

/*
#include <stdlib.h>
#include "csrc/binding.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"unsafe"
)

// defaultThreads sets what Load sets unless the user chose with
// OMP_NUM_THREADS: libtorch's own operators on one thread, the BLAS under
// it on every CPU. libtorch's OpenMP threads spin between its many small
// parallel regions (a GRU step is hundreds of them), which on a 2-core
// machine busy with other work makes a training step 30 times slower with
// 2 threads than with 1; the matrix products, where the time goes, still
// use every CPU through the BLAS.
func defaultThreads() { C.zt_set_threads(1, C.int(runtime.NumCPU())) }

// ResetThreads undoes SetThreads: the default above, or OMP_NUM_THREADS
// for both when the user set it.
func ResetThreads() {
	if n, err := strconv.Atoi(os.Getenv("OMP_NUM_THREADS")); err == nil && n > 0 {
		SetThreads(n)
		return
	}
	if Load() == nil {
		defaultThreads()
	}
}

// goError converts an error message returned by the C++ side and frees it.
func goError(msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return errors.New("torch: " + C.GoString(msg))
}

// CUDAAvailable reports whether libtorch sees a CUDA device; false when
// the library does not load.
func CUDAAvailable() bool { return Load() == nil && C.zt_cuda_available() != 0 }

// SetThreads sets the number of CPU threads of libtorch's operators and of
// its BLAS; n < 1 is ignored, and so is the call when the library does not
// load. See defaultThreads for the default.
func SetThreads(n int) {
	if Load() == nil {
		C.zt_set_threads(C.int(n), C.int(n))
	}
}

// Threads reports libtorch's intra-op thread count; 0 when the library
// does not load.
func Threads() int {
	if Load() != nil {
		return 0
	}
	return int(C.zt_threads())
}

// Version is the libtorch version the library was compiled against; ""
// when it does not load.
func Version() string {
	if Load() != nil {
		return ""
	}
	var buf [32]C.char
	C.zt_version(&buf[0], C.int(len(buf)))
	return C.GoString(&buf[0])
}

// ResolveDevice maps "auto", "cpu" or "cuda" ("" means auto) to the device to
// use: auto picks CUDA when available. Asking for CUDA without one is an
// error, and so is any device when the library does not load.
func ResolveDevice(name string) (string, error) {
	if err := Load(); err != nil {
		return "", err
	}
	switch name {
	case "", "auto":
		if CUDAAvailable() {
			return "cuda", nil
		}
		return "cpu", nil
	case "cpu":
		return "cpu", nil
	case "cuda":
		if !CUDAAvailable() {
			return "", errors.New("torch: CUDA requested but libtorch sees no CUDA device")
		}
		return "cuda", nil
	}
	return "", fmt.Errorf("torch: unknown device %q (want auto, cpu or cuda)", name)
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
