package neural

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"

	"zpng/core/model"
)

// tuneSettings say how to fine-tune a model on one file.
type tuneSettings struct {
	Steps         int
	Device        string // auto, cpu or cuda
	Threads       int
	Train         func(name string) bool // which float tensors change
	LR            float64
	Batch, Window int // windows per step and bytes per window
	Seed          uint64
}

// tuneFunc fine-tunes w on data and returns the new weights; report is
// called after every step with the step's training loss in nats per byte.
type tuneFunc func(ctx context.Context, w *model.Weights, data []byte, s tuneSettings,
	report func(step int, loss float64)) (*model.Weights, error)

// trainer is the float trainer and loadTrainer loads the library it runs
// on; both nil in builds without libtorch (finetune_torch.go sets them).
var (
	trainer     tuneFunc
	loadTrainer func() error
)

// TrainerReady returns nil when the fine-tune can run here, else why not:
// a build without libtorch, or libtorch's part of zpng missing. It loads
// that part, and with it libtorch, so ask only when a fine-tune is wanted.
func TrainerReady() error {
	if trainer == nil {
		return errors.New("this zpng is built without libtorch, which the fine-tune needs")
	}
	return loadTrainer()
}

// A subset is what the fine-tune may change, and so what a delta carries.
// Layer 0's input bias is left alone in every subset: the integer model
// folds it into the 256×3H input table, so changing it would change every
// entry of that table and make the delta large.
type subset struct {
	name  string
	train func(name string) bool
}

var (
	subsetBiases = subset{"biases", func(n string) bool {
		return n == "head.bias" || strings.HasPrefix(n, "gru.bias_hh_l") ||
			strings.HasPrefix(n, "gru.bias_ih_l") && n != "gru.bias_ih_l0"
	}}
	subsetBiasesHead = subset{"biases+head", func(n string) bool {
		return subsetBiases.train(n) || n == "head.weight"
	}}
)

// tuneSubset is what the fine-tune trains. BenchmarkPolicy
// (bench_test.go) measured, with a small model on 128 KiB of HTML,
// 50 steps: biases alone 2.377 -> 2.136 bpb for a 4.0 kB delta (2.245 at
// lr 3e-3); biases and head 2.377 -> 1.878 bpb but a 50 kB delta, since
// every int8 head weight and row scale moves. Snapping biases to biasStep
// cut the biases' delta to 2.6 kB at the same gain (net +1.3 kB on 128 KiB,
// B = 8). Biases pay from about 100 KiB up; the head would pay only for files of about a megabyte and more.
var tuneSubset = subsetBiases

// Fine-tune hyperparameters: a few thousand bytes per step; lr 1e-2 gained
// twice what 3e-3 did in 50 steps (see above).
const (
	tuneBatch  = 16
	tuneWindow = 256
	tuneLR     = 1e-2
)

// minTuneBytes is the smallest file whose fine-tune of w can pay:
// perParam bytes for every parameter the fine-tune trains (Policy's
// TuneBytesPerParam). The snapped bias delta costs about a byte per trained
// bias (2.6 kB for the 2×256 small model's 2,560, 10.6 kB for the 4×512
// large model's 11,008) and the fine-tune gains up to ~10% of the payload
// (~0.03 bytes per input byte of text), so a model breaks even near 38 bytes
// per trained bias: 96 KiB for the small model, 418 kB for the large.
// Measured: GPL-3 (35 kB) with the small model gained 530 B against a 2.6 kB
// delta, and alice29.txt (152 kB) with large-v2 5.3 kB against 10.6 kB after
// an 80 s fine-tune: both wasted. A better model gains less: lcet10.txt
// (427 kB) with large-v2 gained 1.779 -> 1.703 bpb, 4.1 kB against a 10.0 kB
// delta, so for the large model this bound is still low (about 1 MB would be
// right there); the candidates' exact sizes still decide, only time is lost.
func minTuneBytes(w *model.Weights, perParam int64) int64 {
	var params int64
	for name, t := range w.Tensors {
		if tuneSubset.train(name) {
			params += int64(len(t))
		}
	}
	return perParam * params
}

// windows fills in and tgt with batch windows of data at random positions:
// tgt is a window of window bytes and in is the same window shifted by one
// (the byte before it, 0 at the start of the file), as the coder sees it.
func windows(rng *rand.Rand, data []byte, batch, window int, in, tgt []byte) {
	for b := range batch {
		s := rng.IntN(len(data) - window + 1)
		copy(tgt[b*window:(b+1)*window], data[s:s+window])
		row := in[b*window : (b+1)*window]
		if s == 0 {
			row[0] = 0
		} else {
			row[0] = data[s-1]
		}
		copy(row[1:], data[s:s+window-1])
	}
}

// biasStep is the grid that fine-tuned biases move on: 16 steps of the
// integer model's Q12 biases. The integer delta of a bias is then exactly
// 16·k, whose zigzag varints zstd codes in far fewer bits than arbitrary
// Q12 values, while a step of 1/256 is fine next to the ~0.05 a bias moves.
const biasStep = 16.0 / 4096

// snapBiases moves every bias of tuned that the subset trained to base's
// value plus a whole number of biasStep.
func snapBiases(base, tuned *model.Weights, train func(string) bool) {
	for name, t := range tuned.Tensors {
		if !train(name) || !strings.Contains(name, "bias") {
			continue
		}
		b := base.Tensors[name]
		for i := range t {
			k := math.Round(float64(t[i]-b[i]) / biasStep)
			t[i] = float32(float64(b[i]) + k*biasStep)
		}
	}
}
