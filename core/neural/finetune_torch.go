//go:build !notorch

package neural

import (
	"context"
	"fmt"
	"math/rand/v2"

	"zpng/core/engine/torch"
	"zpng/core/model"
)

func init() { trainer, loadTrainer = torchFinetune, torch.Load }

// torchFinetune trains the chosen tensors of w with Adam in libtorch.
func torchFinetune(ctx context.Context, w *model.Weights, data []byte, s tuneSettings,
	report func(step int, loss float64)) (*model.Weights, error) {
	window := min(s.Window, len(data))
	if window < 2 || s.Batch < 1 {
		return nil, fmt.Errorf("fine-tune: %d bytes are too few", len(data))
	}
	dev, err := torch.ResolveDevice(s.Device)
	if err != nil {
		return nil, err
	}
	// On the CPU the fine-tune runs on one thread: its products (16 windows)
	// are too small to share, and more threads only wait on each other. On
	// a 2-core machine busy with other work, alice29.txt's 50 steps take 1 to
	// 2 minutes with 2 threads and 16 s with one.
	if dev == "cpu" {
		torch.SetThreads(1)
		defer torch.ResetThreads()
	} else if s.Threads > 0 {
		torch.SetThreads(s.Threads)
	}
	m, err := torch.NewModel(w.Config, s.Device, s.Seed)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if err := m.SetWeights(w); err != nil {
		return nil, err
	}
	if err := m.SetTrainable(s.Train); err != nil {
		return nil, err
	}
	a := torch.DefaultAdam
	a.LR = s.LR
	m.SetAdam(a)
	rng := rand.New(rand.NewPCG(s.Seed, 0x66696e65))
	in, tgt := make([]byte, s.Batch*window), make([]byte, s.Batch*window)
	for step := range s.Steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		windows(rng, data, s.Batch, window, in, tgt)
		loss, err := m.Backward(in, tgt, s.Batch, window)
		if err != nil {
			return nil, err
		}
		if _, err := m.Step(1); err != nil {
			return nil, err
		}
		report(step+1, loss)
	}
	return m.Weights()
}
