//go:build !notorch

package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"zpng/core/train"
)

func init() {
	register(command{
		name: "train",
		usage: "--corpus DIR (--preset small|large | --init MODEL) --out FILE [--steps N] [--batch B] [--seq T]\n" +
			"       [--lr X] [--crlf SHARE]\n" +
			"       [--device auto|cpu|cuda] [--threads N] [--resume CKPT] [--time-limit DUR] [--force]",
		summary: "pretrain a byte model on every file under DIR (libtorch, CUDA when available)",
		run:     runTrain,
	})
}

func runTrain(args []string) int {
	fs := newFlags("train", commands["train"].usage)
	var (
		corpus, preset, out, resume, dtype, init string
		o                                        train.PretrainOptions
		force                                    bool
		logEvery                                 int
		seed                                     uint64
	)
	fs.StringVar(&corpus, "corpus", "", "directory of training files (read recursively)")
	fs.StringVar(&preset, "preset", "", "model shape: "+strings.Join(train.PresetNames(), " or "))
	fs.StringVar(&init, "init", "", "model file to start from (its shape; fresh optimizer), e.g. to train a shipped model further")
	fs.Float64Var(&o.CRLF, "crlf", 0.125, "share of LF-text windows rewritten with CRLF line endings (0 to 1)")
	fs.StringVar(&out, "out", "", "model file to write (safetensors); checkpoints go to OUT.ckpt/")
	fs.IntVar(&o.Steps, "steps", 0, "training steps (default 20000; with --resume: the run's own)")
	fs.IntVar(&o.Batch, "batch", 0, "windows per step (default 128)")
	fs.IntVar(&o.Seq, "seq", 0, "bytes per window (default 256)")
	fs.Float64Var(&o.LR, "lr", 0, "peak learning rate (default 0.002; warm-up, then cosine decay to a tenth)")
	fs.IntVar(&o.Warmup, "warmup", 0, "warm-up steps (default min(500, steps/20))")
	fs.Float64Var(&o.Clip, "clip", 0, "gradient norm clip (default 1)")
	fs.Uint64Var(&seed, "seed", 1, "seed of the initial weights and the window sampling")
	fs.StringVar(&o.Device, "device", "auto", "auto, cpu or cuda")
	fs.IntVar(&o.Threads, "threads", 0, "CPU threads for libtorch (0: its default)")
	fs.StringVar(&resume, "resume", "", "checkpoint directory (OUT.ckpt) to continue from")
	fs.DurationVar(&o.TimeLimit, "time-limit", 0, "stop after this long (e.g. 2h30m), saving a checkpoint and the model")
	fs.IntVar(&o.CheckpointEvery, "checkpoint-every", 1000, "steps between checkpoints")
	fs.IntVar(&o.ValEvery, "val-every", 500, "steps between validations")
	fs.IntVar(&o.ValEvery, "valid-every", 500, "same as --val-every")
	fs.IntVar(&logEvery, "log-every", 10, "steps between progress lines")
	fs.StringVar(&dtype, "dtype", "F32", "element type of the model file: F32, F16 or BF16")
	fs.BoolVar(&force, "force", false, "overwrite OUT and its checkpoint directory")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "zpng train: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	if corpus == "" || out == "" || (preset == "" && resume == "" && init == "") {
		fmt.Fprintln(stderr, "zpng train: --corpus, --out and --preset (or --init, or --resume) are required")
		fs.Usage()
		return exitUsage
	}
	if preset != "" {
		cfg, err := train.Preset(preset)
		if err != nil {
			return trainUsage("train", err)
		}
		if resume != "" {
			fmt.Fprintln(stderr, "zpng train: --preset is ignored with --resume (the checkpoint fixes the model)")
		}
		o.Preset, o.Config = preset, cfg
	}
	if init != "" {
		if resume != "" {
			return trainUsage("train", errors.New("--init and --resume exclude each other"))
		}
		w, meta, desc, err := train.ReadModelFile(init)
		if err != nil {
			return fail("train", err)
		}
		if preset != "" && o.Config != w.Config {
			return trainUsage("train", fmt.Errorf("--preset %s is %s, but %s is %s", preset, o.Config, init, w.Config))
		}
		if preset == "" {
			o.Preset = meta.Preset
		}
		o.Config, o.Init = w.Config, w
		o.InitDesc = desc
	}
	dt, err := train.ParseDType(dtype)
	if err != nil {
		return trainUsage("train", err)
	}
	o.DType = dt
	if o.Steps < 0 || o.Batch < 0 || o.Seq < 0 || o.LR < 0 || o.Threads < 0 || logEvery < 1 || o.CRLF < 0 || o.CRLF > 1 {
		return trainUsage("train", errors.New("numeric flags must not be negative (and --crlf at most 1)"))
	}
	if _, err := train.ResolveDevice(o.Device); err != nil {
		return trainUsage("train", err)
	}
	if !force {
		if _, err := os.Stat(out); err == nil {
			return fail("train", fmt.Errorf("%s exists (use --force to overwrite it)", out))
		}
		ckpt := train.CheckpointDir(out)
		if _, err := os.Stat(ckpt); err == nil && !sameDir(ckpt, resume) {
			return fail("train", fmt.Errorf("%s holds an earlier run: --resume %s, or --force to start over", ckpt, ckpt))
		}
	}
	o.Out, o.Resume, o.Seed = out, resume, seed

	c, err := train.LoadCorpus(corpus)
	if err != nil {
		return fail("train", err)
	}
	fmt.Fprintf(stdout, "corpus %s\n", c.Desc)
	o.Progress = func(p train.Progress) {
		if p.Step%logEvery != 0 && p.ValBPB == 0 && p.Step != p.Steps {
			return
		}
		eta := "?"
		if p.BytesPerSec > 0 {
			eta = roundSec(p.ETA).String()
		}
		line := fmt.Sprintf("step %d/%d  loss %.4f bpb  lr %.3g  %.1f kB/s  elapsed %s  eta %s",
			p.Step, p.Steps, p.BPB, p.LR, p.BytesPerSec/1e3, roundSec(p.Elapsed), eta)
		if p.ValBPB != 0 {
			line += fmt.Sprintf("  val %.4f bpb", p.ValBPB)
		}
		if p.Checkpoint != "" {
			line += "  (checkpoint)"
		}
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintln(stdout, train.Runtime(o.Device, o.Threads))
	res, err := train.Pretrain(c, o)
	if err != nil {
		return fail("train", err)
	}
	state := "done"
	if res.Stopped {
		state = "stopped by --time-limit; continue with --resume " + train.CheckpointDir(out)
	}
	fmt.Fprintf(stdout, "%s: %d steps on %s in %s, validation %.4f bpb; wrote %s\n",
		state, res.Steps, res.Device, roundSec(time.Duration(res.Seconds*float64(time.Second))), res.ValBPB, out)
	return exitOK
}

func trainUsage(name string, err error) int {
	fmt.Fprintf(stderr, "zpng %s: %v\n", name, err)
	return exitUsage
}

func roundSec(d time.Duration) time.Duration { return d.Round(time.Second) }

// sameDir reports whether paths a and b name the same existing file.
func sameDir(a, b string) bool {
	if b == "" {
		return false
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
