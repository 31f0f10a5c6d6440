//go:build cgo

package native

/*
#cgo CFLAGS: -O2 -std=c11
#cgo LDFLAGS: -lpthread
#include <stdlib.h>
#include "native.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"zpng/core/engine"
	"zpng/core/model"
)

func init() { engine.Register(factory{}) }

// IsaEnv names the environment variable that forces an instruction-set path:
// "avx512" (AVX-512 with VNNI), "avxvnni" (the 256-bit AVX-VNNI of CPUs
// without AVX-512), "avx2", "scalar" (portable C) or "auto" (the
// default: the fastest this CPU runs). All are exact, so all give the same
// tables.
const IsaEnv = "ZPNG_NATIVE_ISA"

var isaCodes = map[string]C.int{"scalar": C.ZN_SCALAR, "avx2": C.ZN_AVX2, "avxvnni": C.ZN_AVXVNNI, "avx512": C.ZN_AVX512}

// Paths lists the instruction-set paths this CPU runs, slowest first.
func Paths() []string {
	var out []string
	for _, name := range []string{"scalar", "avx2", "avxvnni", "avx512"} {
		if C.zn_supported(isaCodes[name]) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// pathFromEnv returns the path IsaEnv asks for, or the fastest.
func pathFromEnv() (string, error) {
	name := os.Getenv(IsaEnv)
	paths := Paths()
	if name == "" || name == "auto" {
		return paths[len(paths)-1], nil
	}
	code, ok := isaCodes[name]
	if !ok {
		return "", fmt.Errorf("native: %s=%q, want auto, avx512, avxvnni, avx2 or scalar", IsaEnv, name)
	}
	if C.zn_supported(code) == 0 {
		return "", fmt.Errorf("native: %s=%s, but this CPU lacks it", IsaEnv, name)
	}
	return name, nil
}

// factory is the engine "native".
type factory struct{}

func (factory) Name() string              { return "native" }
func (factory) Available() (string, bool) { return "cpu", true }
func (factory) NewPredictor(qm *model.Quantized, batch int, opt engine.Options) (engine.Predictor, error) {
	switch opt.Device {
	case "", "auto", "cpu":
	default:
		return nil, fmt.Errorf("native: engine native runs on the cpu only, not %q", opt.Device)
	}
	path, err := pathFromEnv()
	if err != nil {
		return nil, err
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = min(runtime.GOMAXPROCS(0), threadsThatPay(qm.Config, batch))
	}
	return NewPredictor(qm, batch, threads, path)
}

// threadWork is the fewest multiply-adds of a step that a thread's share
// must hold to pay for sharing the step out. On the 2-core development
// machine (BenchmarkInference, threads=0, medians of 3 against two threads)
// the shipped small model (2×256) steps 1.41 times as fast on one thread as
// on two at B = 1 (0.66 M multiply-adds a step), 1.21 times at B = 2 and as
// fast at B = 4 (2.6 M); the large model at B = 1 (5.7 M) 1.06 times as
// fast on two as on one.
const threadWork = 2_500_000

// threadsThatPay is the most threads worth a step of batch streams of a
// model of shape cfg: one per threadWork multiply-adds (the hidden side of
// every layer, the input side of all but the first, which is a table, and
// the head), at least one.
func threadsThatPay(cfg model.Config, batch int) int {
	H := int64(cfg.Hidden)
	work := ((2*int64(cfg.Layers)-1)*3*H*H + 256*H) * int64(batch)
	return int(max(work/threadWork, 1))
}

// Predictor steps B streams with the C engine. It is not safe for
// concurrent use.
type Predictor struct {
	c     *C.zn_engine
	batch int
	path  string
}

// NewPredictor opens the engine for m with batch streams on threads threads
// (0: every CPU) using the instruction-set path ("avx512", "avx2" or "scalar").
func NewPredictor(m *model.Quantized, batch, threads int, path string) (*Predictor, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if batch < 1 {
		return nil, fmt.Errorf("native: batch %d, want ≥ 1", batch)
	}
	code, ok := isaCodes[path]
	if !ok || C.zn_supported(code) == 0 {
		return nil, fmt.Errorf("native: path %q does not run on this CPU (have %v)", path, Paths())
	}
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	sig, tanh, exp := model.Tables()
	L := m.Config.Layers
	// The C side copies what it needs during zn_new; the pinner lets the
	// descriptor hold pointers into Go memory for that call.
	var pin runtime.Pinner
	defer pin.Unpin()
	ptr8 := func(s []int8) *C.int8_t {
		if len(s) == 0 {
			return nil
		}
		pin.Pin(&s[0])
		return (*C.int8_t)(&s[0])
	}
	ptr32 := func(s []int32) *C.int32_t {
		if len(s) == 0 {
			return nil
		}
		pin.Pin(&s[0])
		return (*C.int32_t)(&s[0])
	}
	layers := make([]C.zn_layer, L)
	for l, ly := range m.Layers {
		layers[l] = C.zn_layer{wih: ptr8(ly.Wih), whh: ptr8(ly.Whh), mih: ptr32(ly.Mih), bih: ptr32(ly.Bih), mhh: ptr32(ly.Mhh), bhh: ptr32(ly.Bhh)}
	}
	pin.Pin(&layers[0])
	pin.Pin(&sig[0])
	pin.Pin(&tanh[0])
	pin.Pin(&exp[0])
	desc := C.zn_model{
		layers: C.int(L), hidden: C.int(m.Config.Hidden),
		t0: ptr32(m.T0), layer: &layers[0],
		wout: ptr8(m.Wout), mout: ptr32(m.Mout), bout: ptr32(m.Bout),
		sig: (*C.int16_t)(&sig[0]), tanh_: (*C.int16_t)(&tanh[0]), exp_: (*C.int32_t)(&exp[0]),
	}
	c := C.zn_new(&desc, C.int(batch), C.int(threads), code)
	if c == nil {
		return nil, errors.New("native: out of memory or cannot start threads")
	}
	return &Predictor{c: c, batch: batch, path: path}, nil
}

// Path names the instruction-set path in use.
func (p *Predictor) Path() string { return p.path }

func (p *Predictor) Batch() int { return p.batch }

// Step implements engine.Predictor.
func (p *Predictor) Step(in []byte, freqs []uint16) error {
	if p.c == nil {
		return errors.New("native: predictor is closed")
	}
	if len(in) != p.batch || len(freqs) < p.batch*256 {
		return fmt.Errorf("native: Step with %d inputs and %d table entries for %d streams", len(in), len(freqs), p.batch)
	}
	C.zn_step(p.c, (*C.uint8_t)(&in[0]), (*C.uint16_t)(&freqs[0]))
	return nil
}

// Reset returns every stream to the zero state.
func (p *Predictor) Reset() {
	if p.c != nil {
		C.zn_reset(p.c)
	}
}

// Close stops the threads and frees the C memory.
func (p *Predictor) Close() error {
	if p.c != nil {
		C.zn_free(p.c)
		p.c = nil
	}
	return nil
}
