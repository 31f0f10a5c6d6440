//go:build !notorch

package torch

/*
#include "csrc/binding.h"
*/
import "C"

import (
	"fmt"
	"os"
)

// GemmEnv names the environment variable that picks how the CPU engine
// computes its matrix products: "float" (float32 GEMMs in libtorch), "int8"
// (a portable integer loop), "vnni" (AVX-512 VNNI), "ops" (the whole step as
// the CUDA engine's torch ops, run on the CPU: slow, it is there so that
// machines without a GPU test that code), or "auto" (the default: vnni
// where the CPU has it, else float). All are exact, so all give the same
// tables; they differ in speed only.
const GemmEnv = "ZPNG_TORCH_GEMM"

var gemmCodes = map[string]C.int{"float": C.ZT_GEMM_FLOAT, "int8": C.ZT_GEMM_INT8, "vnni": C.ZT_GEMM_VNNI, "ops": C.ZT_GEMM_OPS}

// GemmPaths lists the CPU product paths this machine can run; none when
// the library does not load.
func GemmPaths() []string {
	if Load() != nil {
		return nil
	}
	if C.zt_vnni_supported() != 0 {
		return []string{"float", "int8", "vnni", "ops"}
	}
	return []string{"float", "int8", "ops"}
}

func gemmFromEnv() (C.int, error) {
	name := os.Getenv(GemmEnv)
	if name == "" || name == "auto" {
		if C.zt_vnni_supported() != 0 {
			return C.ZT_GEMM_VNNI, nil
		}
		return C.ZT_GEMM_FLOAT, nil
	}
	code, ok := gemmCodes[name]
	if !ok {
		return 0, fmt.Errorf("torch: %s=%q, want auto, float, int8, vnni or ops", GemmEnv, name)
	}
	if code == C.ZT_GEMM_VNNI && C.zt_vnni_supported() == 0 {
		return 0, fmt.Errorf("torch: %s=vnni, but this CPU lacks AVX-512 VNNI", GemmEnv)
	}
	return code, nil
}

// Gemm names the path of the CPU matrix products (see GemmEnv); a CUDA
// engine reports "float".
func (p *Predictor) Gemm() string {
	code := C.zt_engine_gemm(p.c)
	for name, c := range gemmCodes {
		if c == code {
			return name
		}
	}
	return "unknown"
}

// gemmInt8 runs the int8 GEMM of the given path ("int8" or "vnni") on x
// [rows][k] and w [n][k], both row-major, and returns x·wᵀ [rows][n]; for tests.
func gemmInt8(path string, x []int8, rows, k int, w []int8, n int) ([]int32, error) {
	if err := Load(); err != nil {
		return nil, err
	}
	code, ok := gemmCodes[path]
	if !ok || (code != C.ZT_GEMM_INT8 && code != C.ZT_GEMM_VNNI) || len(x) != rows*k || len(w) != n*k || rows < 1 || n < 1 || k < 1 {
		return nil, fmt.Errorf("torch: bad gemm test call %q %dx%d·%dx%d", path, rows, k, n, k)
	}
	out := make([]int32, rows*n)
	err := goError(C.zt_gemm_i8(code, (*C.int8_t)(&x[0]), C.int(rows), C.int(k), (*C.int8_t)(&w[0]), C.int(n), (*C.int32_t)(&out[0])))
	return out, err
}
