package neural

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"zpng/codec"
	"zpng/codec/cm"
	"zpng/codec/entropy"
	"zpng/core/engine"
	"zpng/core/model"
)

// Stream policy. Each stream starts from the model's zero state, so every
// extra stream costs its warm-up plus 16 bytes of stream table; but the
// engines step all streams at once, so more streams run much faster.
// Measured with a small model on 128 KiB of HTML: B = 1, 4, 16, 64 gave
// 2.3764, 2.3771, 2.3814, 2.3957 bpb, i.e. about 5 bytes of warm-up per
// stream, while the torch engine on CPU ran 2-3 times faster at B = 64 than
// at B = 1-16. Segments of at least 16 KiB (DefaultPolicy's MinSegmentBytes)
// keep the whole cost (warm-up and table, ~21 bytes a stream) near 0.4% of
// the output.
const maxStreams = 1024

// streamCount is the number of streams B for n bytes: as few as keep every
// segment at least minSegment bytes long, at most maxStreams.
func streamCount(n, minSegment int64) int {
	return int(min(max(n/minSegment, 1), maxStreams))
}

// checkEvery is how many steps pass between progress reports and checks of
// the context.
const checkEvery = 64

// stepEncoder codes one byte of each active stream per step: a
// entropy.StreamEncoder (method neural) or cm.MixEncoder (methods hybrid2
// and hybrid1, and each group of method hybrid).
type stepEncoder interface {
	EncodeStep(freqs []uint16, syms []byte) error
	Finish(symbols []int64) (payload, table []byte, err error)
}

// stepDecoder is the decoding side of stepEncoder.
type stepDecoder interface {
	DecodeStep(freqs []uint16, out []byte) error
}

// encodeStreams codes src as B streams (entropy.SplitSizes) under the
// predictors ps (openAhead), whose batches add up to B, with the range
// coder (method neural) or the coder of a hybrid method (MethodHybrid: of
// one group, whose flags are flags). It returns the payload and the STRM
// section. done, if not nil, is called now and then with the number of
// bytes coded.
func encodeStreams(ctx context.Context, ps []engine.Predictor, src []byte, method codec.Method, flags uint16, done func(int64)) (payload, table []byte, err error) {
	B := 0
	for _, p := range ps {
		B += p.Batch()
	}
	sizes := entropy.SplitSizes(int64(len(src)), B)
	offs := offsets(sizes)
	var enc stepEncoder = entropy.NewStreamEncoder(B)
	if method != codec.MethodNeural {
		if enc, err = cm.NewMixEncoder(method, sizes, flags); err != nil {
			return nil, nil, err
		}
	}
	ahead := runAhead(ctx, ps, src, sizes, offs)
	defer ahead.stop()
	syms := make([]byte, B)
	active := B
	for t := int64(0); t < sizes[0]; t++ {
		if t%checkEvery == 0 && done != nil {
			done(t * int64(B))
		}
		for active > 0 && sizes[active-1] <= t {
			active--
		}
		freqs, err := ahead.next()
		if err != nil {
			return nil, nil, err
		}
		for b := range active {
			syms[b] = src[offs[b]+t]
		}
		if err := enc.EncodeStep(freqs, syms[:active]); err != nil {
			return nil, nil, err
		}
	}
	return enc.Finish(sizes)
}

// decodeStreams decodes the streams of a STRM section and payload under p
// (batch = number of streams) with method (MethodHybrid: one group, whose
// flags are flags) and writes the n original bytes to w. The
// streams grow as they are decoded rather than being allocated up front, so
// that a forged original size costs no memory before it costs time (an
// all-zero file can code to an empty payload, so the payload's length does
// not bound the original size).
func decodeStreams(ctx context.Context, p engine.Predictor, table, payload []byte, n int64, method codec.Method, flags uint16, w io.Writer, done func(int64)) error {
	var dec stepDecoder
	var streams []entropy.Stream
	if method != codec.MethodNeural {
		d, err := cm.NewMixDecoder(method, table, payload, n, flags)
		if err != nil {
			return err
		}
		dec, streams = d, d.Streams
	} else {
		d, err := entropy.NewStreamDecoder(table, payload, n)
		if err != nil {
			return err
		}
		dec, streams = d, d.Streams
	}
	B := len(streams)
	if p.Batch() != B {
		return fmt.Errorf("neural: predictor for %d streams, image has %d", p.Batch(), B)
	}
	sizes := entropy.SplitSizes(n, B)
	for i, s := range streams {
		if s.Symbols != sizes[i] {
			return fmt.Errorf("%w: stream %d holds %d bytes, want %d", codec.ErrCorrupt, i, s.Symbols, sizes[i])
		}
	}
	outs := make([][]byte, B)
	for b := range outs {
		outs[b] = make([]byte, 0, min(sizes[b], 1<<20))
	}
	in, syms := make([]byte, B), make([]byte, B)
	freqs := make([]uint16, 256*B)
	p.Reset()
	active := B
	for t := int64(0); t < sizes[0]; t++ {
		if t%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if done != nil {
				done(t * int64(B))
			}
		}
		for active > 0 && sizes[active-1] <= t {
			active--
		}
		if err := p.Step(in, freqs); err != nil {
			return err
		}
		if err := dec.DecodeStep(freqs, syms[:active]); err != nil {
			return fmt.Errorf("%w: %v", codec.ErrCorrupt, err)
		}
		for b := range active {
			outs[b] = append(outs[b], syms[b])
		}
		copy(in, syms[:active])
	}
	for b := range outs {
		if _, err := w.Write(outs[b]); err != nil {
			return err
		}
		outs[b] = nil
	}
	return nil
}

// aheadSteps bounds how many steps the encoder's network runs ahead of its
// coder.
const aheadSteps = 16

// openAhead opens the predictors of an encoder's network for B streams
// under q. The encoder knows every byte, so its streams need not wait for
// one another: with more than one thread (eo.Threads, 0: every core) on an
// engine of the CPU, the streams are cut into one run of consecutive
// streams per thread, each stepped by a predictor of its own on one
// thread, with no step shared between threads. A stream's tables do not
// depend on the streams beside it (docs/ENGINE.md), so they are the ones
// the decoder computes with all B in one predictor.
func openAhead(f engine.Factory, q *model.Quantized, B int, eo engine.Options) ([]engine.Predictor, error) {
	threads := eo.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	if k := min(threads, B); k > 1 && (f.Name() == "native" || f.Name() == "go") {
		one := eo
		one.Threads = 1
		var ps []engine.Predictor
		for _, n := range entropy.SplitSizes(int64(B), k) {
			p, err := f.NewPredictor(q, int(n), one)
			if err != nil {
				closeAll(ps)
				return nil, err
			}
			ps = append(ps, p)
		}
		return ps, nil
	}
	p, err := f.NewPredictor(q, B, eo)
	if err != nil {
		return nil, err
	}
	return []engine.Predictor{p}, nil
}

func closeAll(ps []engine.Predictor) {
	for _, p := range ps {
		p.Close()
	}
}

// predictions runs the predictors of an encoder over streams whose every
// byte is known, each in a goroutine of its own, so that the network
// computes the next steps' tables while the coder codes this one. The
// tables are the ones the decoder computes step by step: stream b's input
// at step t is its byte t−1 while it lasts, and keeps its last byte after
// it ends.
type predictions struct {
	parts []aheadPart
	table []uint16   // the step's tables of all streams, as next returns them
	errc  chan error // the goroutines' errors
	quit  chan struct{}
	wg    sync.WaitGroup
}

// aheadPart is one predictor's streams, first … first+n−1.
type aheadPart struct {
	first, n int
	ready    chan []uint16 // tables in step order
	free     chan []uint16 // tables the coder is done with
}

func runAhead(ctx context.Context, ps []engine.Predictor, src []byte, sizes, offs []int64) *predictions {
	a := &predictions{
		table: make([]uint16, 256*len(sizes)),
		errc:  make(chan error, len(ps)),
		quit:  make(chan struct{}),
	}
	first := 0
	for _, p := range ps {
		pt := aheadPart{first: first, n: p.Batch(), ready: make(chan []uint16, aheadSteps), free: make(chan []uint16, aheadSteps+1)}
		for range aheadSteps + 1 {
			pt.free <- make([]uint16, 256*pt.n)
		}
		a.parts = append(a.parts, pt)
		first += pt.n
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer close(pt.ready)
			if err := a.step(ctx, p, pt, src, sizes, offs); err != nil {
				a.errc <- err
			}
		}()
	}
	return a
}

// step runs predictor p over the streams of pt for every step of the
// longest stream; nil when done or stopped.
func (a *predictions) step(ctx context.Context, p engine.Predictor, pt aheadPart, src []byte, sizes, offs []int64) error {
	in := make([]byte, pt.n)
	p.Reset()
	for t := int64(0); t < sizes[0]; t++ {
		if t%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var freqs []uint16
		select {
		case freqs = <-pt.free:
		case <-a.quit:
			return nil
		}
		if t > 0 {
			for i := 0; i < pt.n && sizes[pt.first+i] > t-1; i++ {
				in[i] = src[offs[pt.first+i]+t-1]
			}
		}
		if err := p.Step(in, freqs); err != nil {
			return err
		}
		select {
		case pt.ready <- freqs:
		case <-a.quit:
			return nil
		}
	}
	return nil
}

// next returns the next step's tables, valid until the next call.
func (a *predictions) next() ([]uint16, error) {
	for _, pt := range a.parts {
		f, ok := <-pt.ready
		if !ok {
			select {
			case err := <-a.errc:
				return nil, err
			default:
				return nil, errors.New("neural: the network stopped early")
			}
		}
		copy(a.table[256*pt.first:], f)
		pt.free <- f
	}
	return a.table, nil
}

// stop ends the goroutines and waits for them, so that the predictors are
// free.
func (a *predictions) stop() {
	close(a.quit)
	a.wg.Wait()
}

func offsets(sizes []int64) []int64 {
	offs := make([]int64, len(sizes))
	for i := 1; i < len(sizes); i++ {
		offs[i] = offs[i-1] + sizes[i-1]
	}
	return offs
}

// CodedBytes is the size of the payload that codes src in p.Batch() streams
// under p with method (neural or a hybrid; methods hybrid and hybrid3 in
// one group). zpng eval reports it.
func CodedBytes(ctx context.Context, p engine.Predictor, src []byte, method codec.Method) (int, error) {
	method, flags := groupCoding(method, src)
	payload, _, err := encodeStreams(ctx, []engine.Predictor{p}, src, method, flags, nil)
	return len(payload), err
}
