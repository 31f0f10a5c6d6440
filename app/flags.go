package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"zpng/core"
)

// newFlags returns a flag set for a subcommand whose errors and -h go to
// stderr with the command's usage line.
func newFlags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: zpng %s %s\n\nflags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args with flags allowed before and after the positional
// arguments ("--" ends the flags). It returns the positional arguments, or
// an exit code when parsing ended the command (-h or a bad flag).
func parse(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil && !isBool(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := fs.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitOK, false
		}
		return nil, exitUsage, false
	}
	return pos, 0, true
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// engineFlags are the options every command that runs a model accepts.
type engineFlags struct {
	device, engine, modelsDir string
	threads                   int
}

func (e *engineFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&e.device, "device", "auto", "where the model runs: auto, cpu or cuda")
	fs.StringVar(&e.engine, "engine", "", "model engine: torch, native or go (default: the best available)")
	fs.IntVar(&e.threads, "threads", 0, "CPU threads for the model (0: every core, fewer where its steps are too small to share)")
	fs.StringVar(&e.modelsDir, "models-dir", "", "folder of model files besides the shipped ones (default: $ZPNG_MODELS, else zpng/models in the user config folder)")
}

func (e *engineFlags) apply(o *core.Options) {
	o.Device, o.Engine, o.Threads, o.ModelsDir = e.device, e.engine, e.threads, e.modelsDir
}

// addLevel adds --level N and its short forms -1 … -9.
func addLevel(fs *flag.FlagSet, level *int) {
	*level = core.DefaultLevel
	fs.Var(levelValue{level}, "level", fmt.Sprintf("%d (fastest) to %d (smallest)", core.MinLevel, core.MaxLevel))
	for l := core.MinLevel; l <= core.MaxLevel; l++ {
		fs.Var(levelFlag{level, l}, strconv.Itoa(l), fmt.Sprintf("level %d", l))
	}
}

// levelValue is --level: a number from core.MinLevel to core.MaxLevel.
type levelValue struct{ level *int }

func (v levelValue) String() string {
	if v.level == nil {
		return ""
	}
	return strconv.Itoa(*v.level)
}

func (v levelValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < core.MinLevel || n > core.MaxLevel {
		return fmt.Errorf("want %d (fastest) to %d (smallest)", core.MinLevel, core.MaxLevel)
	}
	*v.level = n
	return nil
}

// levelFlag is one of -1 … -9: a boolean flag that sets the level.
type levelFlag struct {
	level *int
	value int
}

func (f levelFlag) String() string   { return "" }
func (f levelFlag) IsBoolFlag() bool { return true }
func (f levelFlag) Set(s string) error {
	if s != "true" {
		return fmt.Errorf("-%d takes no value", f.value)
	}
	*f.level = f.value
	return nil
}

// checkOptions reports options no job can honour; the command then exits
// with exitUsage before any work.
func checkOptions(name string, o *core.Options) bool {
	if err := o.Check(); err != nil {
		fmt.Fprintf(stderr, "zpng %s: %v\n", name, err)
		return false
	}
	return true
}
