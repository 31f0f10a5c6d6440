//go:build !notorch

package torch

/*
#include <stdlib.h>
#include "csrc/binding.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"zpng/core/model"
)

// Model is the float byte model of docs/ENGINE.md (embedding, GRU, head) in
// libtorch, with its own Adam optimizer.
type Model struct {
	c      *C.zt_model
	cfg    model.Config
	device string
	names  []string
}

// Adam holds the optimizer settings.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
}

// DefaultAdam is torch's default Adam.
var DefaultAdam = Adam{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}

// NewModel creates a model of shape cfg with torch's default initialisation
// from seed, on device "auto", "cpu" or "cuda".
func NewModel(cfg model.Config, device string, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dev, err := ResolveDevice(device)
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, device: dev}
	if err := goError(C.zt_model_new(C.int(cfg.Layers), C.int(cfg.Hidden), cbool(dev == "cuda"), C.uint64_t(seed), &m.c)); err != nil {
		return nil, err
	}
	var buf [128]C.char
	for i := 0; i < int(C.zt_model_param_count(m.c)); i++ {
		C.zt_model_param_name(m.c, C.int(i), &buf[0], C.int(len(buf)))
		m.names = append(m.names, C.GoString(&buf[0]))
	}
	// The binding's names must be the contract's: check once, here.
	for _, s := range model.ParamSpecs(cfg) {
		if n, err := m.size(s.Name); err != nil || n != s.Size() {
			m.Close()
			return nil, fmt.Errorf("torch: parameter %s: libtorch has %d values, want %d (%v)", s.Name, n, s.Size(), err)
		}
	}
	if len(m.names) != len(model.ParamSpecs(cfg)) {
		m.Close()
		return nil, fmt.Errorf("torch: libtorch model has parameters %v", m.names)
	}
	m.SetAdam(DefaultAdam)
	return m, nil
}

// Close frees the C++ model; the Model must not be used afterwards.
func (m *Model) Close() error {
	if m.c != nil {
		C.zt_model_free(m.c)
		m.c = nil
	}
	return nil
}

// Config is the model's shape.
func (m *Model) Config() model.Config { return m.cfg }

// Device is "cpu" or "cuda".
func (m *Model) Device() string { return m.device }

// ParamNames lists the parameters in libtorch's order.
func (m *Model) ParamNames() []string { return append([]string(nil), m.names...) }

func (m *Model) size(name string) (int, error) {
	for i, n := range m.names {
		if n == name {
			var buf [128]C.char
			return int(C.zt_model_param_name(m.c, C.int(i), &buf[0], C.int(len(buf)))), nil
		}
	}
	return 0, fmt.Errorf("torch: no parameter named %q", name)
}

// Get copies the named parameter into dst (len(dst) must equal its size).
func (m *Model) Get(name string, dst []float32) error {
	if len(dst) == 0 {
		return fmt.Errorf("torch: empty destination for %s", name)
	}
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return goError(C.zt_model_get(m.c, cs, (*C.float)(&dst[0]), C.int64_t(len(dst))))
}

// Set overwrites the named parameter with src.
func (m *Model) Set(name string, src []float32) error {
	if len(src) == 0 {
		return fmt.Errorf("torch: empty source for %s", name)
	}
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return goError(C.zt_model_set(m.c, cs, (*C.float)(&src[0]), C.int64_t(len(src))))
}

// SetWeights loads every parameter from w, whose shape must match the model's.
func (m *Model) SetWeights(w *model.Weights) error {
	if w.Config != m.cfg {
		return fmt.Errorf("torch: weights are %v, model is %v", w.Config, m.cfg)
	}
	if err := w.Validate(); err != nil {
		return err
	}
	for _, n := range m.names {
		if err := m.Set(n, w.Tensors[n]); err != nil {
			return err
		}
	}
	return nil
}

// Weights copies every parameter out.
func (m *Model) Weights() (*model.Weights, error) {
	w, err := model.NewWeights(m.cfg)
	if err != nil {
		return nil, err
	}
	for _, n := range m.names {
		if err := m.Get(n, w.Tensors[n]); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// SetTrainable chooses which parameters Backward and Step update: those for
// which train(name) is true. At least one must be.
func (m *Model) SetTrainable(train func(name string) bool) error {
	any := false
	for _, n := range m.names {
		on := train(n)
		any = any || on
		cs := C.CString(n)
		err := goError(C.zt_model_set_trainable(m.c, cs, cbool(on)))
		C.free(unsafe.Pointer(cs))
		if err != nil {
			return err
		}
	}
	if !any {
		return errors.New("torch: no trainable parameter selected")
	}
	return nil
}

func checkBatch(in, tgt []byte, batch, steps int) error {
	if batch < 1 || steps < 1 || len(in) != batch*steps || len(tgt) != len(in) {
		return fmt.Errorf("torch: batch %d×%d does not match %d inputs and %d targets", batch, steps, len(in), len(tgt))
	}
	return nil
}

// Loss is the mean cross-entropy in nats per byte of predicting tgt from in,
// both batch rows of steps bytes, each row starting from a zero state.
func (m *Model) Loss(in, tgt []byte, batch, steps int) (float64, error) {
	return m.loss(in, tgt, batch, steps, false)
}

// Backward computes the loss like Loss and accumulates its gradients.
func (m *Model) Backward(in, tgt []byte, batch, steps int) (float64, error) {
	return m.loss(in, tgt, batch, steps, true)
}

func (m *Model) loss(in, tgt []byte, batch, steps int, backward bool) (float64, error) {
	if err := checkBatch(in, tgt, batch, steps); err != nil {
		return 0, err
	}
	var l C.double
	err := goError(C.zt_model_loss(m.c, (*C.uint8_t)(&in[0]), (*C.uint8_t)(&tgt[0]),
		C.int(batch), C.int(steps), cbool(backward), &l))
	return float64(l), err
}

// SetAdam sets the optimizer's settings (the moments are kept).
func (m *Model) SetAdam(a Adam) {
	C.zt_model_set_adam(m.c, C.double(a.LR), C.double(a.Beta1), C.double(a.Beta2), C.double(a.Eps))
}

// SetLR changes the learning rate.
func (m *Model) SetLR(lr float64) { C.zt_model_set_lr(m.c, C.double(lr)) }

// Step clips the gradients' global norm to clip (clip ≤ 0: no clipping),
// applies one Adam step and clears the gradients. It returns the norm before
// clipping; a non-finite gradient is an error and leaves the weights alone.
func (m *Model) Step(clip float64) (gradNorm float64, err error) {
	var n C.double
	err = goError(C.zt_model_step(m.c, C.double(clip), &n))
	return float64(n), err
}

// AdamState copies out the optimizer's step count and moments (shaped like the weights).
func (m *Model) AdamState() (steps int64, mom, vel *model.Weights, err error) {
	if mom, err = model.NewWeights(m.cfg); err != nil {
		return
	}
	vel, _ = model.NewWeights(m.cfg)
	for _, n := range m.names {
		a, b := mom.Tensors[n], vel.Tensors[n]
		cs := C.CString(n)
		err = goError(C.zt_model_get_adam(m.c, cs, (*C.float)(&a[0]), (*C.float)(&b[0]), C.int64_t(len(a))))
		C.free(unsafe.Pointer(cs))
		if err != nil {
			return
		}
	}
	return int64(C.zt_model_adam_steps(m.c)), mom, vel, nil
}

// SetAdamState restores what AdamState returned.
func (m *Model) SetAdamState(steps int64, mom, vel *model.Weights) error {
	if mom.Config != m.cfg || vel.Config != m.cfg {
		return fmt.Errorf("torch: optimizer state is %v/%v, model is %v", mom.Config, vel.Config, m.cfg)
	}
	for _, n := range m.names {
		a, b := mom.Tensors[n], vel.Tensors[n]
		if len(a) == 0 || len(a) != len(b) {
			return fmt.Errorf("torch: optimizer state for %s is missing or malformed", n)
		}
		cs := C.CString(n)
		err := goError(C.zt_model_set_adam_state(m.c, cs, (*C.float)(&a[0]), (*C.float)(&b[0]), C.int64_t(len(a))))
		C.free(unsafe.Pointer(cs))
		if err != nil {
			return err
		}
	}
	C.zt_model_set_adam_steps(m.c, C.int64_t(steps))
	return nil
}
