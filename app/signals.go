package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// stopSignals end a running command: Ctrl-C, kill's default and a closed
// terminal.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// interruption is a command's context: a stop signal cancels it, so that
// the pipeline removes its temporary files before the command exits.
type interruption struct {
	ctx    context.Context
	cancel context.CancelFunc
	sigs   chan os.Signal
	mu     sync.Mutex
	sig    os.Signal // the signal that cancelled ctx, if any
}

func interruptible() *interruption {
	in := &interruption{sigs: make(chan os.Signal, 1)}
	in.ctx, in.cancel = context.WithCancel(context.Background())
	signal.Notify(in.sigs, stopSignals...)
	go func() {
		if s, ok := <-in.sigs; ok {
			in.mu.Lock()
			in.sig = s
			in.mu.Unlock()
			in.cancel()
		}
	}()
	return in
}

// stop stops listening; a later signal has its default effect again.
func (in *interruption) stop() {
	signal.Stop(in.sigs)
	close(in.sigs)
	in.cancel()
}

// signal is the stop signal received, or nil.
func (in *interruption) signal() os.Signal {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.sig
}

// fail reports the error of command name; after a stop signal it says that
// nothing was written and returns the shell's code for that signal
// (128 + its number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
func (in *interruption) fail(name string, err error) int {
	s := in.signal()
	if s == nil || !errors.Is(err, context.Canceled) {
		return fail(name, err)
	}
	fmt.Fprintf(stderr, "zpng %s: interrupted (%v); nothing was written\n", name, s)
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return exitFail
}
