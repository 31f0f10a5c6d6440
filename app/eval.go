//go:build !notorch

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"zpng/core/train"
)

func init() {
	register(command{
		name:    "eval",
		usage:   "--model FILE [--device auto|cpu|cuda] [--engine torch|native|go] FILE...",
		summary: "bits per byte of a model on files, float and integer inference, and method hybrid's payload (no fine-tune): the model-card table",
		run:     runEval,
	})
}

func runEval(args []string) int {
	fs := newFlags("eval", commands["eval"].usage)
	path := fs.String("model", "", "model file (safetensors)")
	device := fs.String("device", "auto", "auto, cpu or cuda")
	eng := fs.String("engine", "torch", "integer engine: torch or go")
	threads := fs.Int("threads", 0, "CPU threads (0: default)")
	segment := fs.Int("segment", 64<<10, "bytes per stream (files are cut into streams of at least this many bytes)")
	files, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if *path == "" || len(files) == 0 {
		fs.Usage()
		return exitUsage
	}
	if err := train.Ready(); err != nil { // the float model runs on libtorch
		return trainUsage("eval", err)
	}
	ev, err := train.NewEvaluator(*path, train.EvalOptions{Device: *device, Engine: *eng, Threads: *threads, Segment: *segment})
	if err != nil {
		return fail("eval", err)
	}
	defer ev.Close()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\tbytes\tstreams\tfloat bpb\tinteger bpb\tloss\thybrid bpb\t")
	var sumBytes, sumFloat, sumInt, sumHybrid float64
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return fail("eval", err)
		}
		if len(data) == 0 {
			continue
		}
		r, err := ev.Eval(context.Background(), data)
		if err != nil {
			return fail("eval", err)
		}
		n := float64(len(data))
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%+.2f%%\t%.3f\t\n", filepath.Base(name), r.Bytes, r.Streams,
			r.FloatBits/n, r.IntBits/n, 100*(r.IntBits/r.FloatBits-1), r.HybridBits/n)
		sumBytes, sumFloat, sumInt, sumHybrid = sumBytes+n, sumFloat+r.FloatBits, sumInt+r.IntBits, sumHybrid+r.HybridBits
	}
	fmt.Fprintf(tw, "total\t%.0f\t\t%.3f\t%.3f\t%+.2f%%\t%.3f\t\n", sumBytes, sumFloat/sumBytes, sumInt/sumBytes, 100*(sumInt/sumFloat-1), sumHybrid/sumBytes)
	tw.Flush()
	return exitOK
}
