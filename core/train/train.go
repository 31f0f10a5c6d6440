//go:build !notorch

// Package train trains the float byte model with libtorch (core/torch):
// truncated backpropagation over random windows of bytes, Adam with
// gradient clipping and a warm-up + cosine learning-rate schedule, on CUDA
// or the CPU. Pretrain runs a long job over a corpus with checkpoints and
// validation; FineTune adapts a model to one file for a few steps.
package train

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"zpng/core/model"
	"zpng/core/torch"
)

// Schedule is the learning rate over a run: linear warm-up to Peak over
// Warmup steps, then a cosine decay to Peak·Final at the last step.
type Schedule struct {
	Peak   float64
	Warmup int
	Final  float64 // fraction of Peak at the end
	Steps  int
}

// LR is the learning rate of step (0-based).
func (s Schedule) LR(step int) float64 {
	if step < s.Warmup {
		return s.Peak * float64(step+1) / float64(s.Warmup)
	}
	span := s.Steps - s.Warmup
	if span <= 1 {
		return s.Peak
	}
	p := math.Min(1, float64(step-s.Warmup)/float64(span-1))
	return s.Peak * (s.Final + (1-s.Final)*0.5*(1+math.Cos(math.Pi*p)))
}

// Windows draws training batches: batch windows of seq bytes from a buffer
// of concatenated files. A window at offset o has inputs x[o−1 … o+seq−2] and
// targets x[o … o+seq−1]; at the start of a file the first input is 0, as
// in inference (docs/ENGINE.md). Every StartEvery-th window begins at a
// file start, so the model learns how files begin.
//
// A CRLF share of the windows that look like LF text is rewritten with CRLF
// line endings: corpora from Debian and npm have almost none, while text
// written on Windows (and three of the Canterbury texts) has them, and a
// model that never saw "\r\n" pays many bits for every line end.
type Windows struct {
	Data   []byte
	Starts []int // sorted file starts; nil means one file at 0
	Batch  int
	Seq    int
	CRLF   float64 // share of eligible windows given CRLF line endings
	in     []byte
	tgt    []byte
	crlf   []byte
}

// StartEvery is how often a window is placed at a file start.
const StartEvery = 16

// Next fills one batch from rng and returns inputs and targets ([Batch][Seq]).
func (w *Windows) Next(rng *rand.Rand) (in, tgt []byte) {
	n := w.Batch * w.Seq
	if len(w.in) != n {
		w.in, w.tgt = make([]byte, n), make([]byte, n)
	}
	last := len(w.Data) - w.Seq // windows start in [0, last]
	for b := range w.Batch {
		var o int
		if b%StartEvery == 0 && len(w.Starts) > 0 {
			o = w.Starts[rng.IntN(len(w.Starts))]
		} else if b%StartEvery == 0 {
			o = 0
		} else {
			o = rng.IntN(last + 1)
		}
		o = min(o, last)
		w.fill(b, o)
		if w.CRLF > 0 && rng.Float64() < w.CRLF {
			w.toCRLF(b, o)
		}
	}
	return w.in, w.tgt
}

// toCRLF rewrites window b (filled from offset o) with "\r\n" for every
// "\n", when the source is LF text: it has a line feed, no carriage return
// and no NUL byte (a cheap test that keeps binary data as it is).
func (w *Windows) toCRLF(b, o int) {
	src := w.Data[o:min(len(w.Data), o+w.Seq)]
	if bytes.IndexByte(src, '\n') < 0 || bytes.IndexByte(src, '\r') >= 0 || bytes.IndexByte(src, 0) >= 0 {
		return
	}
	in := w.in[b*w.Seq : (b+1)*w.Seq]
	// The expanded sequence is in[0] followed by the CRLF text; inputs and
	// targets are that sequence shifted by one.
	seq := append(w.crlf[:0], in[0])
	for _, c := range src {
		if len(seq) > w.Seq {
			break
		}
		if c == '\n' {
			seq = append(seq, '\r')
		}
		seq = append(seq, c)
	}
	w.crlf = seq
	copy(in, seq[:w.Seq])
	copy(w.tgt[b*w.Seq:(b+1)*w.Seq], seq[1:w.Seq+1])
}

func (w *Windows) fill(b, o int) {
	in, tgt := w.in[b*w.Seq:(b+1)*w.Seq], w.tgt[b*w.Seq:(b+1)*w.Seq]
	copy(tgt, w.Data[o:o+w.Seq])
	in[0] = 0
	if o > 0 && !w.isStart(o) {
		in[0] = w.Data[o-1]
	}
	copy(in[1:], w.Data[o:o+w.Seq-1])
}

func (w *Windows) isStart(o int) bool {
	if w.Starts == nil {
		return o == 0
	}
	i := sort.SearchInts(w.Starts, o)
	return i < len(w.Starts) && w.Starts[i] == o
}

// BitsPerByte converts a cross-entropy in nats per byte to bits per byte.
func BitsPerByte(nats float64) float64 { return nats / math.Ln2 }

// FineTuneOptions configure FineTune. Zero values take the defaults noted.
type FineTuneOptions struct {
	Steps     int     // default 50
	Batch     int     // windows per step, default 32
	Seq       int     // bytes per window, default 128 (less for short data)
	LR        float64 // peak learning rate, default 1e-3
	Clip      float64 // gradient norm clip, default 1
	Device    string  // auto, cpu or cuda
	Threads   int     // CPU threads, 0: libtorch's default
	Seed      uint64
	Trainable func(name string) bool      // parameters to train; nil: all
	Progress  func(step int, bpb float64) // after each step (1-based)
}

// FineTune trains a copy of w on data and returns the new weights with the
// training loss of every step in bits per byte. w is not modified.
func FineTune(w *model.Weights, data []byte, o FineTuneOptions) (*model.Weights, []float64, error) {
	if o.Steps == 0 {
		o.Steps = 50
	}
	if o.Batch == 0 {
		o.Batch = 32
	}
	if o.Seq == 0 {
		o.Seq = 128
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.Clip == 0 {
		o.Clip = 1
	}
	if o.Steps < 0 || o.Batch < 0 || o.Seq < 0 || o.LR < 0 {
		return nil, nil, errors.New("train: negative fine-tune option")
	}
	if len(data) < 2 {
		return nil, nil, errors.New("train: fine-tuning needs at least 2 bytes")
	}
	if err := w.Validate(); err != nil {
		return nil, nil, err
	}
	if o.Threads > 0 {
		torch.SetThreads(o.Threads)
	}
	m, err := torch.NewModel(w.Config, o.Device, o.Seed)
	if err != nil {
		return nil, nil, err
	}
	defer m.Close()
	if err := m.SetWeights(w); err != nil {
		return nil, nil, err
	}
	if o.Trainable != nil {
		if err := m.SetTrainable(o.Trainable); err != nil {
			return nil, nil, err
		}
	}
	seq := min(o.Seq, len(data))
	win := &Windows{Data: data, Batch: o.Batch, Seq: seq}
	sched := Schedule{Peak: o.LR, Warmup: 0, Final: 0.1, Steps: o.Steps}
	rng := rand.New(rand.NewPCG(o.Seed, 0x66696e65))
	curve := make([]float64, 0, o.Steps)
	for step := range o.Steps {
		m.SetLR(sched.LR(step))
		in, tgt := win.Next(rng)
		loss, err := m.Backward(in, tgt, o.Batch, seq)
		if err != nil {
			return nil, nil, err
		}
		if _, err := m.Step(o.Clip); err != nil {
			return nil, nil, fmt.Errorf("train: fine-tune step %d: %w", step+1, err)
		}
		bpb := BitsPerByte(loss)
		curve = append(curve, bpb)
		if o.Progress != nil {
			o.Progress(step+1, bpb)
		}
	}
	out, err := m.Weights()
	if err != nil {
		return nil, nil, err
	}
	return out, curve, nil
}
