//go:build !notorch

package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"text/tabwriter"

	"zpng/codec"
	"zpng/core"
	"zpng/core/engine"
	"zpng/core/model"
	"zpng/core/quant"
	"zpng/core/torch"
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
	w, _, err := model.Load(*path)
	if err != nil {
		return fail("eval", err)
	}
	q, err := quant.Quantize(w)
	if err != nil {
		return fail("eval", err)
	}
	if *threads > 0 {
		torch.SetThreads(*threads)
	}
	fm, err := torch.NewModel(w.Config, *device, 1)
	if err != nil {
		return fail("eval", err)
	}
	defer fm.Close()
	if err := fm.SetWeights(w); err != nil {
		return fail("eval", err)
	}
	f, err := engine.Lookup(*eng)
	if err != nil {
		return fail("eval", err)
	}
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
		segs := segments(data, *segment)
		fbits, err := floatBits(fm, segs)
		if err != nil {
			return fail("eval", err)
		}
		p, err := f.NewPredictor(q, len(segs), engine.Options{Device: *device, Threads: *threads})
		if err != nil {
			return fail("eval", err)
		}
		ibits, err := quant.CodeCost(p, segs)
		if err != nil {
			p.Close()
			return fail("eval", err)
		}
		hbytes, err := core.CodedBytes(context.Background(), p, data, codec.MethodHybrid)
		p.Close()
		if err != nil {
			return fail("eval", err)
		}
		n := float64(len(data))
		hbits := 8 * float64(hbytes)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%+.2f%%\t%.3f\t\n", filepath.Base(name), len(data), len(segs),
			fbits/n, ibits/n, 100*(ibits/fbits-1), hbits/n)
		sumBytes, sumFloat, sumInt, sumHybrid = sumBytes+n, sumFloat+fbits, sumInt+ibits, sumHybrid+hbits
	}
	fmt.Fprintf(tw, "total\t%.0f\t\t%.3f\t%.3f\t%+.2f%%\t%.3f\t\n", sumBytes, sumFloat/sumBytes, sumInt/sumBytes, 100*(sumInt/sumFloat-1), sumHybrid/sumBytes)
	tw.Flush()
	return exitOK
}

func segments(data []byte, segment int) [][]byte {
	sizes := codec.SplitSizes(int64(len(data)), max(len(data)/max(segment, 1), 1))
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
