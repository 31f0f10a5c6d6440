package model

//go:generate go run ./internal/gentables tables.go

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Quantized is the integer model that the engines run. Every array is flat
// and row-major, so an engine can take pointers to it directly. H is
// Config.Hidden; gate rows are in the order
// r, z, n (torch.nn.GRU): row i of a [3H] block is gate i/H, unit i%H.
type Quantized struct {
	Config Config
	// T0 is layer 0's input side, a table by input byte: T0[v*3H+i] in Q12.
	T0     []int32
	Layers []QuantizedLayer
	// Head: Wout [256][H] int8, Mout [256] multipliers, Bout [256] Q12 biases.
	Wout []int8
	Mout []int32
	Bout []int32
}

// QuantizedLayer holds one GRU layer. Wih/Mih/Bih are nil for layer 0 (see T0).
type QuantizedLayer struct {
	Wih []int8  // [3H][H]
	Mih []int32 // [3H]
	Bih []int32 // [3H], Q12
	Whh []int8  // [3H][H]
	Mhh []int32 // [3H]
	Bhh []int32 // [3H], Q12
}

// maxPreact bounds |rescale(acc, M) + B| and |T0| for every row and every
// possible input, so that every gi, gh and logit fits int32 and gi+gh
// cannot overflow int32 either. Real models are many orders below it.
const maxPreact = 1 << 30

// Quantize computes the integer model from float weights exactly as
// docs/ENGINE.md says, in float64 with explicit conversions so that no
// platform fuses a multiply-add: every machine gets the same integers.
func Quantize(w *Weights) (*Quantized, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	cfg := w.Config
	H := cfg.Hidden
	m := &Quantized{Config: cfg, Layers: make([]QuantizedLayer, cfg.Layers)}
	var err error
	m.T0, err = inputTable(w.Tensors["embed.weight"], w.Tensors["gru.weight_ih_l0"], w.Tensors["gru.bias_ih_l0"], 3*H, cfg.Embed)
	if err != nil {
		return nil, err
	}
	// The matrices are independent: they are shared among the cores, each
	// quantized exactly as on one.
	var jobs []func() error
	matrix := func(name string, rows int, q *[]int8, mul *[]int32) {
		jobs = append(jobs, func() (err error) {
			if *q, *mul, err = quantizeMatrix(w.Tensors[name], rows, H); err != nil {
				return fmt.Errorf("quantize: %s: %w", name, err)
			}
			return nil
		})
	}
	bias := func(name string, b *[]int32) {
		jobs = append(jobs, func() (err error) {
			if *b, err = quantizeBias(w.Tensors[name]); err != nil {
				return fmt.Errorf("quantize: %s: %w", name, err)
			}
			return nil
		})
	}
	for k := range m.Layers {
		l := &m.Layers[k]
		name := func(s string) string { return fmt.Sprintf("gru.%s_l%d", s, k) }
		if k > 0 {
			matrix(name("weight_ih"), 3*H, &l.Wih, &l.Mih)
			bias(name("bias_ih"), &l.Bih)
		}
		matrix(name("weight_hh"), 3*H, &l.Whh, &l.Mhh)
		bias(name("bias_hh"), &l.Bhh)
	}
	matrix("head.weight", 256, &m.Wout, &m.Mout)
	bias("head.bias", &m.Bout)
	if err := runAll(jobs); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// runAll runs the jobs on as many goroutines as Go has cores and returns
// the error of the first job in order that failed: the one a single core
// would have met first.
func runAll(jobs []func() error) error {
	errs := make([]error, len(jobs))
	next := make(chan int, len(jobs))
	for i := range jobs {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = jobs[i]()
			}
		}()
	}
	wg.Wait()
	return firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// quantizeMatrix quantizes W [rows][k] per row to int8 with a multiplier.
func quantizeMatrix(w []float32, rows, k int) ([]int8, []int32, error) {
	q := make([]int8, rows*k)
	mul := make([]int32, rows)
	for i := range rows {
		row := w[i*k : (i+1)*k]
		mx := 0.0 // the largest |v|; the values are finite (Validate)
		for _, v := range row {
			if a := math.Abs(float64(v)); a > mx {
				mx = a
			}
		}
		s := float64(1)
		if mx != 0 {
			s = mx / 127
		}
		for j, v := range row {
			r := math.Round(float64(v) / s)
			if r > 127 {
				r = 127
			} else if r < -127 {
				r = -127
			}
			q[i*k+j] = int8(r)
		}
		mv := math.Round(float64(s*4096) * 1048576 / 127)
		if mv > math.MaxInt32 {
			return nil, nil, fmt.Errorf("row %d: weights up to %g are too large", i, mx)
		}
		mul[i] = int32(mv)
	}
	return q, mul, nil
}

// quantizeBias converts biases to Q12.
func quantizeBias(b []float32) ([]int32, error) {
	out := make([]int32, len(b))
	for i, v := range b {
		r := math.Round(float64(v) * 4096)
		if math.Abs(r) >= maxPreact {
			return nil, fmt.Errorf("bias %d = %g is too large", i, v)
		}
		out[i] = int32(r)
	}
	return out, nil
}

// inputTable folds the embedding into layer 0's input weights:
// T0[v][i] = round((Σ_j embed[v][j]·W[i][j] + b[i]) · 4096), summed in
// index order.
func inputTable(embed, w, b []float32, rows, e int) ([]int32, error) {
	t := make([]int32, 256*rows)
	// Byte values are independent: they are shared among the cores, each
	// entry computed exactly as on one.
	jobs := make([]func() error, 256)
	for v := range jobs {
		jobs[v] = func() error { return inputRow(t[v*rows:(v+1)*rows], v, embed[v*e:(v+1)*e], w, b) }
	}
	if err := runAll(jobs); err != nil {
		return nil, err
	}
	return t, nil
}

// inputRow fills t with layer 0's input pre-activations for byte v, whose
// embedding is x. Each entry is one sum in index order; four rows go
// side by side, so that their additions overlap in time.
func inputRow(t []int32, v int, x, w, b []float32) error {
	e := len(x)
	i := 0
	for ; i+4 <= len(t); i += 4 {
		w0, w1, w2, w3 := w[i*e:(i+1)*e], w[(i+1)*e:(i+2)*e], w[(i+2)*e:(i+3)*e], w[(i+3)*e:(i+4)*e]
		w0, w1, w2, w3 = w0[:len(x)], w1[:len(x)], w2[:len(x)], w3[:len(x)] // no bounds checks below
		var s0, s1, s2, s3 float64
		for j, xj := range x {
			xv := float64(xj)
			// The conversions forbid fusing the multiply into the add.
			s0 += float64(xv * float64(w0[j]))
			s1 += float64(xv * float64(w1[j]))
			s2 += float64(xv * float64(w2[j]))
			s3 += float64(xv * float64(w3[j]))
		}
		for k, sum := range [4]float64{s0, s1, s2, s3} {
			if err := inputEntry(t, v, i+k, sum, b); err != nil {
				return err
			}
		}
	}
	for ; i < len(t); i++ {
		wr := w[i*e : (i+1)*e]
		sum := float64(0)
		for j := range x {
			sum += float64(float64(x[j]) * float64(wr[j]))
		}
		if err := inputEntry(t, v, i, sum, b); err != nil {
			return err
		}
	}
	return nil
}

// inputEntry sets t[i] from row i's sum of products.
func inputEntry(t []int32, v, i int, sum float64, b []float32) error {
	sum += float64(b[i])
	r := math.Round(sum * 4096)
	if math.Abs(r) >= maxPreact {
		return fmt.Errorf("quantize: layer 0 input for byte %d row %d is too large (%g)", v, i, sum)
	}
	t[i] = int32(r)
	return nil
}

// Validate checks sizes and ranges: int8 weights in [−127, 127],
// multipliers ≥ 0, and every pre-activation bounded by 2^30 for any input.
func (m *Quantized) Validate() error {
	cfg := m.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	H := cfg.Hidden
	if len(m.Layers) != cfg.Layers {
		return fmt.Errorf("quantize: %d layers, config says %d", len(m.Layers), cfg.Layers)
	}
	if len(m.T0) != 256*3*H {
		return fmt.Errorf("quantize: T0 has %d values, want %d", len(m.T0), 256*3*H)
	}
	for i, v := range m.T0 {
		if v >= maxPreact || v <= -maxPreact {
			return fmt.Errorf("quantize: T0[%d] = %d out of range", i, v)
		}
	}
	for k, l := range m.Layers {
		if k == 0 {
			if l.Wih != nil || l.Mih != nil || l.Bih != nil {
				return errors.New("quantize: layer 0 has input weights (they belong in T0)")
			}
		} else if err := checkLinear(l.Wih, l.Mih, l.Bih, 3*H, H); err != nil {
			return fmt.Errorf("quantize: layer %d input: %w", k, err)
		}
		if err := checkLinear(l.Whh, l.Mhh, l.Bhh, 3*H, H); err != nil {
			return fmt.Errorf("quantize: layer %d hidden: %w", k, err)
		}
	}
	if err := checkLinear(m.Wout, m.Mout, m.Bout, 256, H); err != nil {
		return fmt.Errorf("quantize: head: %w", err)
	}
	return nil
}

func checkLinear(w []int8, mul, b []int32, rows, k int) error {
	if len(w) != rows*k || len(mul) != rows || len(b) != rows {
		return fmt.Errorf("sizes %d, %d, %d; want %d, %d, %d", len(w), len(mul), len(b), rows*k, rows, rows)
	}
	for i := range rows {
		if mul[i] < 0 {
			return fmt.Errorf("row %d: negative multiplier %d", i, mul[i])
		}
		var abs, most int32 // Σ|w| and max |w| of the row, at most 128·k
		for _, v := range w[i*k : (i+1)*k] {
			a := int32(v)
			if a < 0 {
				a = -a
			}
			abs += a
			most = max(most, a)
		}
		if most > 127 {
			return fmt.Errorf("row %d: weight -128 (want -127..127)", i)
		}
		// Worst case over every int8 input: |acc| ≤ 127·Σ|w|.
		worst := (int64(abs)*127*int64(mul[i])+1<<19)>>20 + max(int64(b[i]), -int64(b[i]))
		if worst >= maxPreact {
			return fmt.Errorf("row %d: pre-activation can reach %d (limit %d)", i, worst, maxPreact)
		}
	}
	return nil
}

// Tables returns copies of the lookup tables SIG, TANH (Q15) and EXP (Q16)
// of docs/ENGINE.md, 8192 entries each.
func Tables() (sig, tanh []int16, exp []int32) {
	return append([]int16(nil), sigTable[:]...), append([]int16(nil), tanhTable[:]...), append([]int32(nil), expTable[:]...)
}

// Softmax writes the frequency table of docs/ENGINE.md for 256 logits:
// every entry ≥ 1, sum 1<<16.
func Softmax(logits []int32, freqs []uint16) {
	logits, freqs = logits[:256], freqs[:256]
	m, a := logits[0], 0
	for k, v := range logits {
		if v > m {
			m, a = v, k
		}
	}
	var e [256]uint32
	var s uint32 // ≤ 256·65536
	for k, v := range logits {
		d := (int64(m) - int64(v)) >> 3
		e[k] = uint32(expTable[min(d, 8191)])
		s += e[k]
	}
	sum := 0
	for k := range freqs {
		f := 1 + e[k]*65280/s // e·65280 < 2^32
		freqs[k] = uint16(f)
		sum += int(f)
	}
	freqs[a] += uint16(65536 - sum)
}
