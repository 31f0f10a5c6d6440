package main

import (
	"errors"
	"flag"
	"fmt"
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
	device, engine string
	threads        int
}

func (e *engineFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&e.device, "device", "auto", "where the model runs: auto, cpu or cuda")
	fs.StringVar(&e.engine, "engine", "", "model engine: torch, native or go (default: the best available)")
	fs.IntVar(&e.threads, "threads", 0, "CPU threads for the model (0: all)")
}

func (e *engineFlags) apply(o *core.Options) {
	o.Device, o.Engine, o.Threads = e.device, e.engine, e.threads
}
