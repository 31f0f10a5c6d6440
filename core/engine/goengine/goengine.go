// Package goengine is the pure-Go engine ("go"): it runs the integer model
// (model.Quantized) of docs/ENGINE.md on the CPU, in batches of streams split
// across goroutines.
package goengine

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"zpng/core/engine"
	"zpng/core/model"
)

func init() { engine.Register(goFactory{}) }

// goFactory is the pure-Go engine, registered as "go".
type goFactory struct{}

func (goFactory) Name() string              { return "go" }
func (goFactory) Available() (string, bool) { return "cpu", true }
func (goFactory) NewPredictor(m *model.Quantized, batch int, opt engine.Options) (engine.Predictor, error) {
	switch opt.Device {
	case "", "auto", "cpu":
	default:
		return nil, fmt.Errorf("goengine: engine go runs on the cpu only, not %q", opt.Device)
	}
	return NewPredictor(m, batch, opt.Threads)
}

// packed is a weight matrix stored as triples of rows, one int64 per column
// with the three int8 weights in 21-bit lanes:
// p[t*k+j] = W[a][j] + W[b][j]<<21 + W[c][j]<<42 for the rows (a, b, c) of
// triple t. One 64-bit multiply then does three multiply-adds; 64 products
// of int8 values stay below 2^20 in magnitude, so the lanes are separated
// every 64 columns (dot3). For the GRU matrices triple t is (t, H+t, 2H+t),
// the r, z and n rows of unit t.
type packed struct {
	k int
	p []int64
}

// packRows packs rows of k columns; the packed rows are padded with zero
// columns to a multiple of 4 (padK).
func packRows(w []int8, k int, triples int, rows func(t int) [3]int, nrows int) packed {
	kp := padK(k)
	pk := packed{k: kp, p: make([]int64, triples*kp)}
	for t := range triples {
		r := rows(t)
		for j := range k {
			var v int64
			for lane, row := range r {
				if row < nrows {
					v += int64(w[row*k+j]) << (21 * lane)
				}
			}
			pk.p[t*kp+j] = v
		}
	}
	return pk
}

func padK(k int) int { return (k + 3) &^ 3 }

func packGate(w []int8, h int) packed {
	return packRows(w, h, h, func(t int) [3]int { return [3]int{t, h + t, 2*h + t} }, 3*h)
}

// packHead packs the 256 head rows like a gate matrix of 86 units; the last
// two rows of the third lane are zero padding.
func packHead(w []int8, h int) packed {
	T := headTriples
	return packRows(w, h, T, func(t int) [3]int { return [3]int{t, T + t, 2*T + t} }, 256)
}

const headTriples = (256 + 2) / 3

// dot3 returns the three dot products of a packed triple with x. len(x) is
// a multiple of 4 and len(p) ≥ len(x).
func dot3(p []int64, x []int8) (s0, s1, s2 int64) {
	for len(x) > 0 {
		n := min(len(x), 64)
		var acc int64
		for i := 0; i < n; i += 4 {
			q := (*[4]int64)(p[i : i+4])
			y := (*[4]int8)(x[i : i+4])
			acc += q[0]*int64(y[0]) + q[1]*int64(y[1]) + q[2]*int64(y[2]) + q[3]*int64(y[3])
		}
		lo := acc << 43 >> 43
		acc = (acc - lo) >> 21
		mid := acc << 43 >> 43
		s0 += lo
		s1 += mid
		s2 += (acc - mid) >> 21
		p, x = p[n:], x[n:]
	}
	return
}

// dot3x2 is dot3 for two inputs at once, loading each packed weight once.
func dot3x2(p []int64, x, y []int8) (a, b [3]int64) {
	y = y[:len(x)]
	for len(x) > 0 {
		n := min(len(x), 64)
		var ax, ay int64
		for i := 0; i < n; i += 4 {
			q := (*[4]int64)(p[i : i+4])
			u := (*[4]int8)(x[i : i+4])
			v := (*[4]int8)(y[i : i+4])
			ax += q[0]*int64(u[0]) + q[1]*int64(u[1]) + q[2]*int64(u[2]) + q[3]*int64(u[3])
			ay += q[0]*int64(v[0]) + q[1]*int64(v[1]) + q[2]*int64(v[2]) + q[3]*int64(v[3])
		}
		addLanes(&a, ax)
		addLanes(&b, ay)
		p, x, y = p[n:], x[n:], y[n:]
	}
	return
}

// addLanes adds the three signed 21-bit lanes of acc to s.
func addLanes(s *[3]int64, acc int64) {
	lo := acc << 43 >> 43
	acc = (acc - lo) >> 21
	mid := acc << 43 >> 43
	s[0] += lo
	s[1] += mid
	s[2] += (acc - mid) >> 21
}

func rescale(acc int64, m int32) int64 { return (acc*int64(m) + 1<<19) >> 20 }

// sigTable and tanhTable are model.Tables' activation tables.
var sigTable, tanhTable = func() (*[8192]int16, *[8192]int16) {
	sig, tanh, _ := model.Tables()
	return (*[8192]int16)(sig), (*[8192]int16)(tanh)
}()

func act(lut *[8192]int16, x int64) int64 {
	return int64(lut[(min(max(x, -32768), 32767)+32768)>>3])
}

// Predictor is the pure-Go engine: B streams split across goroutines. Its
// tables do not depend on the number of threads.
type Predictor struct {
	m       *model.Quantized
	batch   int
	hh, ih  []packed // per layer; ih[0] unused
	head    packed
	mout    []int32 // Mout, Bout padded to 3·headTriples rows
	bout    []int32
	workers []*worker
	wg      sync.WaitGroup
	in      []byte
	freqs   []uint16
	closed  bool
}

// worker steps streams [lo, hi). Its state is per stream, flat.
type worker struct {
	p      *Predictor
	lo, hi int
	h      []int64 // [stream][layer][H], Q15
	h8     []int8  // [stream][layer][padK(H)], zero padded
	gi, gh []int64 // [stream][3H]
	out    []int64 // [stream][3·headTriples]
	logits [256]int32
	start  chan struct{}
}

// NewPredictor opens the pure-Go engine for m with batch streams on
// threads goroutines (0: runtime.GOMAXPROCS(0)).
func NewPredictor(m *model.Quantized, batch, threads int) (*Predictor, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if batch < 1 {
		return nil, fmt.Errorf("goengine: batch %d, want ≥ 1", batch)
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	threads = min(threads, batch)
	H, L := m.Config.Hidden, m.Config.Layers
	p := &Predictor{m: m, batch: batch, hh: make([]packed, L), ih: make([]packed, L)}
	for l, layer := range m.Layers {
		p.hh[l] = packGate(layer.Whh, H)
		if l > 0 {
			p.ih[l] = packGate(layer.Wih, H)
		}
	}
	p.head = packHead(m.Wout, H)
	p.mout = append(append([]int32(nil), m.Mout...), make([]int32, 3*headTriples-256)...)
	p.bout = append(append([]int32(nil), m.Bout...), make([]int32, 3*headTriples-256)...)
	for t := range threads {
		lo, hi := batch*t/threads, batch*(t+1)/threads
		n := hi - lo
		w := &worker{p: p, lo: lo, hi: hi,
			h: make([]int64, n*L*H), h8: make([]int8, n*L*padK(H)),
			gi: make([]int64, n*3*H), gh: make([]int64, n*3*H),
			out: make([]int64, n*3*headTriples),
		}
		if t > 0 {
			w.start = make(chan struct{})
			go w.loop()
		}
		p.workers = append(p.workers, w)
	}
	return p, nil
}

func (p *Predictor) Batch() int { return p.batch }

// Step implements engine.Predictor.
func (p *Predictor) Step(in []byte, freqs []uint16) error {
	if p.closed {
		return errors.New("goengine: predictor is closed")
	}
	if len(in) != p.batch || len(freqs) < p.batch*256 {
		return fmt.Errorf("goengine: Step with %d inputs and %d table entries for %d streams", len(in), len(freqs), p.batch)
	}
	p.in, p.freqs = in, freqs
	p.wg.Add(len(p.workers) - 1)
	for _, w := range p.workers[1:] {
		w.start <- struct{}{}
	}
	p.workers[0].step()
	p.wg.Wait()
	p.in, p.freqs = nil, nil
	return nil
}

// Reset returns every stream to the zero state.
func (p *Predictor) Reset() {
	for _, w := range p.workers {
		clear(w.h)
		clear(w.h8)
	}
}

// Close stops the worker goroutines.
func (p *Predictor) Close() error {
	if !p.closed {
		p.closed = true
		for _, w := range p.workers[1:] {
			close(w.start)
		}
	}
	return nil
}

func (w *worker) loop() {
	for range w.start {
		w.step()
		w.p.wg.Done()
	}
}

// step advances streams lo..hi by one byte (docs/ENGINE.md, "Fixed-point step").
func (w *worker) step() {
	p := w.p
	m := p.m
	H, L := m.Config.Hidden, m.Config.Layers
	K := padK(H)
	n := w.hi - w.lo
	for l := range L {
		layer := &m.Layers[l]
		// Hidden side for every stream, triple by triple so that a
		// packed row is reused from cache across the streams.
		matvec(p.hh[l], layer.Mhh, layer.Bhh, n, w.h8[l*K:], L*K, w.gh, 3*H)
		if l > 0 {
			matvec(p.ih[l], layer.Mih, layer.Bih, n, w.h8[(l-1)*K:], L*K, w.gi, 3*H)
		}
		for s := range n {
			gi := w.gi[s*3*H : (s+1)*3*H]
			if l == 0 {
				for i, v := range m.T0[int(p.in[w.lo+s])*3*H:][:3*H] {
					gi[i] = int64(v)
				}
			}
			gru(gi, w.gh[s*3*H:(s+1)*3*H], w.h[(s*L+l)*H:][:H], w.h8[(s*L+l)*K:][:H])
		}
	}
	matvec(p.head, p.mout, p.bout, n, w.h8[(L-1)*K:], L*K, w.out, 3*headTriples)
	for s := range n {
		for k, v := range w.out[s*3*headTriples:][:256] {
			w.logits[k] = int32(v) // bounded by Validate
		}
		b := w.lo + s
		model.Softmax(w.logits[:], p.freqs[b*256:(b+1)*256])
	}
}

// gru applies the gates of one layer to one stream's state.
func gru(gi, gh, h []int64, h8 []int8) {
	H := len(h)
	gi, gh = gi[:3*H], gh[:3*H]
	h8 = h8[:H]
	for j := range h {
		r := act(sigTable, gi[j]+gh[j])
		z := act(sigTable, gi[H+j]+gh[H+j])
		n := act(tanhTable, gi[2*H+j]+(r*gh[2*H+j]+1<<14)>>15)
		v := n + (z*(h[j]-n)+1<<14)>>15
		h[j] = v
		h8[j] = int8((v*127 + 1<<14) >> 15)
	}
}

// matvec computes rescale(W·x, M) + B for n streams whose inputs are
// x[s*stride:][:k]; row i of stream s goes to out[s*ostride+i]. Triple t
// holds rows t, T+t and 2T+t, T the number of triples.
func matvec(pk packed, mul, bias []int32, n int, x []int8, stride int, out []int64, ostride int) {
	k := pk.k
	T := len(pk.p) / k
	for t := range T {
		prow := pk.p[t*k : (t+1)*k]
		m0, m1, m2 := mul[t], mul[T+t], mul[2*T+t]
		b0, b1, b2 := int64(bias[t]), int64(bias[T+t]), int64(bias[2*T+t])
		s := 0
		for ; s+2 <= n; s += 2 {
			a, b := dot3x2(prow, x[s*stride:][:k], x[(s+1)*stride:][:k])
			o := out[s*ostride:]
			o[t] = rescale(a[0], m0) + b0
			o[T+t] = rescale(a[1], m1) + b1
			o[2*T+t] = rescale(a[2], m2) + b2
			o = out[(s+1)*ostride:]
			o[t] = rescale(b[0], m0) + b0
			o[T+t] = rescale(b[1], m1) + b1
			o[2*T+t] = rescale(b[2], m2) + b2
		}
		if s < n {
			s0, s1, s2 := dot3(prow, x[s*stride:][:k])
			o := out[s*ostride:]
			o[t] = rescale(s0, m0) + b0
			o[T+t] = rescale(s1, m1) + b1
			o[2*T+t] = rescale(s2, m2) + b2
		}
	}
}
