//go:build !notorch

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"zpng/core/train"
)

func init() {
	register(command{
		name:    "average",
		usage:   "--out FILE [--corpus DIR] [--val-bytes N] [--device auto|cpu|cuda] [--force] MODEL MODEL...",
		summary: "average models trained on from one start (a model soup); --corpus compares their validation bpb",
		run:     runAverage,
	})
}

func runAverage(args []string) int {
	fs := newFlags("average", commands["average"].usage)
	var (
		out, corpus, device, dtype string
		valBytes, threads          int
		force                      bool
	)
	fs.StringVar(&out, "out", "", "model file to write (safetensors)")
	fs.StringVar(&corpus, "corpus", "", "training corpus whose held-out part measures each model and the average")
	fs.IntVar(&valBytes, "val-bytes", 1<<20, "held-out bytes to measure on")
	fs.StringVar(&device, "device", "auto", "auto, cpu or cuda (for --corpus)")
	fs.IntVar(&threads, "threads", 0, "CPU threads for libtorch (0: its default)")
	fs.StringVar(&dtype, "dtype", "F32", "element type of the model file: F32, F16 or BF16")
	fs.BoolVar(&force, "force", false, "overwrite OUT")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if out == "" || len(pos) < 2 {
		fmt.Fprintln(stderr, "zpng average: --out and at least two models are required")
		fs.Usage()
		return exitUsage
	}
	if valBytes < 1 || threads < 0 {
		return trainUsage("average", errors.New("--val-bytes must be positive and --threads not negative"))
	}
	dt, err := train.ParseDType(dtype)
	if err != nil {
		return trainUsage("average", err)
	}
	if corpus != "" { // the validation runs on libtorch; the mean itself does not
		if _, err := train.ResolveDevice(device); err != nil {
			return trainUsage("average", err)
		}
	}
	if _, err := os.Stat(out); err == nil && !force {
		return fail("average", fmt.Errorf("%s exists (use --force to overwrite it)", out))
	}

	a, err := train.Average(pos, train.AverageOptions{Corpus: corpus, ValBytes: valBytes, Device: device, Threads: threads})
	if err != nil {
		return fail("average", err)
	}
	if corpus != "" {
		fmt.Fprintf(stdout, "corpus %s; validation on up to %d held-out bytes\n", a.Corpus, valBytes)
		best := -1.0
		for i, v := range a.InputBPB {
			fmt.Fprintf(stdout, "%-40s %.4f bpb\n", filepath.Base(pos[i]), v)
			if best < 0 || v < best {
				best = v
			}
		}
		fmt.Fprintf(stdout, "%-40s %.4f bpb (%+.2f%% against the best input)\n", "average", a.BPB, 100*(a.BPB/best-1))
	}
	if err := a.Save(out, dt); err != nil {
		return fail("average", err)
	}
	fmt.Fprintf(stdout, "wrote %s: the mean of %d %v models\n", out, len(pos), a.Weights.Config)
	return exitOK
}
