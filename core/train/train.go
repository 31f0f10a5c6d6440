//go:build !notorch

// Package train trains the float byte model with libtorch (core/engine/torch):
// truncated backpropagation over random windows of bytes, Adam with
// gradient clipping and a warm-up + cosine learning-rate schedule, on CUDA
// or the CPU. Pretrain runs a long job over a corpus with checkpoints and
// validation; Average makes a model soup; an Evaluator measures a model on
// files as the model cards tabulate it. (The per-file fine-tune of
// compression is core/neural's own.)
package train

import (
	"bytes"
	"math"
	"math/rand/v2"
	"sort"
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
