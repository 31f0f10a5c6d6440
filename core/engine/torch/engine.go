//go:build !notorch

package torch

/*
#include "csrc/binding.h"
*/
import "C"

import (
	"fmt"
	"runtime"

	"zpng/core/engine"
	"zpng/core/model"
)

func init() { engine.Register(factory{}) }

// factory is the integer engine "torch": on CUDA, torch ops; on the CPU,
// matrix products as int8 GEMMs in C++ or float32 GEMMs in libtorch (see
// GemmEnv), the rest of the step in C++.
type factory struct{}

func (factory) Name() string { return "torch" }

func (factory) Load() error { return Load() }

func (factory) Available() (string, bool) {
	dev, err := ResolveDevice("auto")
	return dev, err == nil
}

func (factory) NewPredictor(m *model.Quantized, batch int, opt engine.Options) (engine.Predictor, error) {
	return NewPredictor(m, batch, opt)
}

// Predictor steps B streams of the integer model in lockstep (engine.Predictor).
type Predictor struct {
	c      *C.zt_engine
	batch  int
	device string
	err    error // a failed Reset, reported by the next Step
}

// NewPredictor loads qm into a new engine for batch streams.
func NewPredictor(qm *model.Quantized, batch int, opt engine.Options) (*Predictor, error) {
	if err := qm.Validate(); err != nil {
		return nil, err
	}
	if batch < 1 {
		return nil, fmt.Errorf("torch: batch %d, want at least 1", batch)
	}
	dev, err := ResolveDevice(opt.Device)
	if err != nil {
		return nil, err
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	gemm, err := gemmFromEnv()
	if err != nil {
		return nil, err
	}
	cfg := qm.Config
	p := &Predictor{batch: batch, device: dev}
	if err := goError(C.zt_engine_new(C.int(cfg.Layers), C.int(cfg.Hidden), C.int(batch), cbool(dev == "cuda"), C.int(threads), gemm, &p.c)); err != nil {
		return nil, err
	}
	if err := p.load(qm); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Predictor) load(qm *model.Quantized) error {
	if err := goError(C.zt_engine_set_t0(p.c, (*C.int32_t)(&qm.T0[0]))); err != nil {
		return err
	}
	for k, l := range qm.Layers {
		var wih *C.int8_t
		var mih, bih *C.int32_t
		if k > 0 {
			wih, mih, bih = (*C.int8_t)(&l.Wih[0]), (*C.int32_t)(&l.Mih[0]), (*C.int32_t)(&l.Bih[0])
		}
		err := goError(C.zt_engine_set_layer(p.c, C.int(k), wih, mih, bih,
			(*C.int8_t)(&l.Whh[0]), (*C.int32_t)(&l.Mhh[0]), (*C.int32_t)(&l.Bhh[0])))
		if err != nil {
			return err
		}
	}
	if err := goError(C.zt_engine_set_head(p.c, (*C.int8_t)(&qm.Wout[0]), (*C.int32_t)(&qm.Mout[0]), (*C.int32_t)(&qm.Bout[0]))); err != nil {
		return err
	}
	sig16, tanh16, exp := model.Tables()
	sig, tanh := widen(sig16), widen(tanh16)
	return goError(C.zt_engine_set_tables(p.c, (*C.int32_t)(&sig[0]), (*C.int32_t)(&tanh[0]), (*C.int32_t)(&exp[0])))
}

func widen(v []int16) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

// splitProducts selects the CPU path (see zt_engine_split_products); for tests.
func (p *Predictor) splitProducts(on bool) { C.zt_engine_split_products(p.c, cbool(on)) }

// Batch is the number of streams.
func (p *Predictor) Batch() int { return p.batch }

// Device is "cpu" or "cuda".
func (p *Predictor) Device() string { return p.device }

// Step consumes in[b] for every stream and writes each stream's next-byte
// frequency table into freqs[b*256:(b+1)*256].
func (p *Predictor) Step(in []byte, freqs []uint16) error {
	if p.c == nil {
		return fmt.Errorf("torch: predictor is closed")
	}
	if p.err != nil {
		return p.err
	}
	if len(in) != p.batch || len(freqs) < p.batch*256 {
		return fmt.Errorf("torch: step with %d inputs and %d frequencies, want %d and %d", len(in), len(freqs), p.batch, p.batch*256)
	}
	return goError(C.zt_engine_step(p.c, (*C.uint8_t)(&in[0]), (*C.uint16_t)(&freqs[0])))
}

// Reset returns every stream to the start state. Should that fail (a GPU
// error), the next Step reports it.
func (p *Predictor) Reset() {
	if p.c != nil {
		p.err = goError(C.zt_engine_reset(p.c))
	}
}

// Close frees the engine.
func (p *Predictor) Close() error {
	if p.c != nil {
		C.zt_engine_free(p.c)
		p.c = nil
	}
	return nil
}
