//go:build !notorch

package train

import (
	"context"
	"math"

	"zpng/codec"
	"zpng/codec/entropy"
	"zpng/core/engine"
	"zpng/core/engine/torch"
	"zpng/core/model"
	"zpng/core/neural"
)

// EvalOptions say how to measure a model on files.
type EvalOptions struct {
	Device  string // auto, cpu or cuda
	Engine  string // the integer engine: torch or go
	Threads int    // CPU threads (0: the default)
	Segment int    // bytes per stream: files are cut into streams of at least this many bytes
}

// EvalRow is what a model codes one file in, as the model cards tabulate it.
type EvalRow struct {
	Bytes, Streams int
	// Code lengths in bits: the float model, the integer model on the
	// engine, and method hybrid's payload (no fine-tune).
	FloatBits, IntBits, HybridBits float64
}

// An Evaluator measures one model on files.
type Evaluator struct {
	opt   EvalOptions
	q     *model.Quantized
	float *torch.Model
	f     engine.Factory
}

// NewEvaluator loads the model file at path for Eval. Close releases it.
func NewEvaluator(path string, opt EvalOptions) (*Evaluator, error) {
	w, _, err := model.Load(path)
	if err != nil {
		return nil, err
	}
	q, err := model.Quantize(w)
	if err != nil {
		return nil, err
	}
	if opt.Threads > 0 {
		torch.SetThreads(opt.Threads)
	}
	f, err := engine.Lookup(opt.Engine)
	if err != nil {
		return nil, err
	}
	fm, err := torch.NewModel(w.Config, opt.Device, 1)
	if err != nil {
		return nil, err
	}
	if err := fm.SetWeights(w); err != nil {
		fm.Close()
		return nil, err
	}
	return &Evaluator{opt: opt, q: q, float: fm, f: f}, nil
}

// Close releases the float model.
func (e *Evaluator) Close() error { return e.float.Close() }

// Eval measures the model on data, which must not be empty.
func (e *Evaluator) Eval(ctx context.Context, data []byte) (*EvalRow, error) {
	segs := segments(data, e.opt.Segment)
	fbits, err := floatBits(e.float, segs)
	if err != nil {
		return nil, err
	}
	p, err := e.f.NewPredictor(e.q, len(segs), engine.Options{Device: e.opt.Device, Threads: e.opt.Threads})
	if err != nil {
		return nil, err
	}
	defer p.Close()
	ibits, err := engine.CodeCost(p, segs)
	if err != nil {
		return nil, err
	}
	hbytes, err := neural.CodedBytes(ctx, p, data, codec.MethodHybrid)
	if err != nil {
		return nil, err
	}
	return &EvalRow{Bytes: len(data), Streams: len(segs), FloatBits: fbits, IntBits: ibits, HybridBits: 8 * float64(hbytes)}, nil
}

// segments cuts data into streams of at least segment bytes.
func segments(data []byte, segment int) [][]byte {
	sizes := entropy.SplitSizes(int64(len(data)), max(len(data)/max(segment, 1), 1))
	segs := make([][]byte, len(sizes))
	off := int64(0)
	for i, s := range sizes {
		segs[i] = data[off : off+s]
		off += s
	}
	return segs
}

// floatBits is the float model's code length in bits over the streams, each
// starting from a zero state with input byte 0 as the integer engines do.
func floatBits(m *torch.Model, segs [][]byte) (float64, error) {
	var bits float64
	for _, s := range segs {
		in := make([]byte, len(s))
		copy(in[1:], s[:len(s)-1])
		nats, err := m.Loss(in, s, 1, len(s))
		if err != nil {
			return 0, err
		}
		bits += nats * float64(len(s)) / math.Ln2
	}
	return bits, nil
}
