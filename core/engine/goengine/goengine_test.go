package goengine

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"zpng/core/engine"
	"zpng/core/engine/enginetest"
	"zpng/core/model"
)

// odd has a hidden size that is not a multiple of 64 or 3, so every tail
// path of the packed kernel runs.
var odd = model.Config{Layers: 3, Hidden: 70, Embed: 70}

func randomModel(t testing.TB, cfg model.Config, seed uint64) (*model.Weights, *model.Quantized) {
	t.Helper()
	w, err := model.RandomWeights(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	// Sharpen the head so that predictions are far from uniform.
	for i := range w.Tensors["head.weight"] {
		w.Tensors["head.weight"][i] *= 8
	}
	m, err := model.Quantize(w)
	if err != nil {
		t.Fatal(err)
	}
	return w, m
}

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(16)) + 'a' // a small alphabet, so there is something to learn
	}
	return b
}

func TestEngineMatchesReference(t *testing.T) {
	_, m := randomModel(t, odd, 1)
	const B = 3
	p, err := NewPredictor(m, B, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	refs := []*refStream{newRef(m), newRef(m), newRef(m)}
	data := [][]byte{randomBytes(1, 60), randomBytes(2, 60), randomBytes(3, 60)}
	got, want := make([]uint16, 256*B), make([]uint16, 256)
	in := make([]byte, B)
	for step := range 60 {
		if err := p.Step(in, got); err != nil {
			t.Fatal(err)
		}
		for b := range B {
			refs[b].step(in[b], want)
			if !slices.Equal(got[b*256:(b+1)*256], want) {
				t.Fatalf("step %d stream %d differs from the reference", step, b)
			}
			checkTable(t, "engine", refs[b].logits, want)
			in[b] = data[b][step]
		}
	}
}

// run steps p over the streams and returns every table.
func run(t *testing.T, p engine.Predictor, data [][]byte) []uint16 {
	t.Helper()
	B := p.Batch()
	in := make([]byte, B)
	freqs := make([]uint16, 256*B)
	var all []uint16
	for step := range len(data[0]) {
		if err := p.Step(in, freqs); err != nil {
			t.Fatal(err)
		}
		all = append(all, freqs...)
		for b := range B {
			in[b] = data[b][step]
		}
	}
	return all
}

func TestEngineThreadsAndBatch(t *testing.T) {
	_, m := randomModel(t, odd, 2)
	const B, N = 7, 40
	data := make([][]byte, B)
	for b := range data {
		data[b] = randomBytes(uint64(10+b), N)
	}
	var tables [][]uint16
	for _, threads := range []int{1, 2, 3, 7} {
		p, err := NewPredictor(m, B, threads)
		if err != nil {
			t.Fatal(err)
		}
		tables = append(tables, run(t, p, data))
		p.Reset() // a reset predictor repeats itself
		if again := run(t, p, data); !slices.Equal(again, tables[len(tables)-1]) {
			t.Fatalf("threads=%d: different tables after Reset", threads)
		}
		p.Close()
	}
	for i := 1; i < len(tables); i++ {
		if !slices.Equal(tables[0], tables[i]) {
			t.Fatalf("tables depend on the thread count (case %d)", i)
		}
	}
	// Stream 3 stepped alone gives the same tables as inside the batch.
	p, _ := NewPredictor(m, 1, 1)
	defer p.Close()
	alone := run(t, p, data[3:4])
	for step := range N {
		if !slices.Equal(alone[step*256:(step+1)*256], tables[0][(step*B+3)*256:(step*B+4)*256]) {
			t.Fatalf("step %d: stream alone differs from stream in batch", step)
		}
	}
}

func TestEngineRegistered(t *testing.T) {
	_, m := randomModel(t, odd, 3)
	enginetest.CheckCPUFactory(t, "go", m)
}

func TestStepDoesNotAllocate(t *testing.T) {
	_, m := randomModel(t, odd, 4)
	p, _ := NewPredictor(m, 4, 2)
	defer p.Close()
	in, freqs := make([]byte, 4), make([]uint16, 1024)
	if a := testing.AllocsPerRun(20, func() { p.Step(in, freqs) }); a != 0 {
		t.Errorf("Step allocates %v times", a)
	}
}

func TestSerialization(t *testing.T) {
	_, m := randomModel(t, odd, 5)
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got model.Quantized
	if err := got.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	again, _ := got.MarshalBinary()
	if !bytes.Equal(data, again) {
		t.Fatal("round trip changes the model")
	}
	// Identical predictions from the decoded model.
	d := [][]byte{randomBytes(9, 30)}
	p1, _ := NewPredictor(m, 1, 1)
	p2, _ := NewPredictor(&got, 1, 1)
	if !slices.Equal(run(t, p1, d), run(t, p2, d)) {
		t.Error("decoded model predicts differently")
	}
	for _, bad := range [][]byte{nil, data[:10], data[:len(data)-1], append(slices.Clone(data), 0)} {
		if (&model.Quantized{}).UnmarshalBinary(bad) == nil {
			t.Errorf("bad input of %d bytes accepted", len(bad))
		}
	}
	for _, at := range []int{4, 5, 9, len(data) / 2, len(data) - 1} {
		c := slices.Clone(data)
		c[at] ^= 1
		if (&model.Quantized{}).UnmarshalBinary(c) == nil {
			t.Errorf("flipped byte %d accepted", at)
		}
	}
}

func TestCodeCost(t *testing.T) {
	_, m := randomModel(t, odd, 7)
	data := [][]byte{randomBytes(1, 50), randomBytes(2, 20), randomBytes(3, 35)}
	p, _ := NewPredictor(m, 4, 2) // one stream left idle
	defer p.Close()
	together, err := engine.CodeCost(p, data)
	if err != nil {
		t.Fatal(err)
	}
	alone := 0.0
	one, _ := NewPredictor(m, 1, 1)
	defer one.Close()
	for _, d := range data {
		bits, _ := engine.CodeCost(one, [][]byte{d})
		alone += bits
	}
	if together != alone {
		t.Errorf("batched cost %v, alone %v", together, alone)
	}
	// Against a direct sum over the reference tables.
	ref := newRef(m)
	f := make([]uint16, 256)
	want := 0.0
	x := byte(0)
	for _, c := range data[0] {
		ref.step(x, f)
		want -= math.Log2(float64(f[c]) / 65536)
		x = c
	}
	first, _ := engine.CodeCost(one, data[:1])
	if math.Abs(first-want) > 1e-9*want {
		t.Errorf("cost %v, reference %v", first, want)
	}
	if _, err := engine.CodeCost(one, data); err == nil {
		t.Error("more streams than the batch accepted")
	}
}

func TestIntegerVsFloat(t *testing.T) {
	cfg := model.Config{Layers: 2, Hidden: 64, Embed: 64}
	w, m := randomModel(t, cfg, 8)
	data := randomBytes(4, 400)
	fb, err := model.FloatBPB(w, data)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := NewPredictor(m, 1, 1)
	defer p.Close()
	ib, err := engine.BPB(p, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("float %.4f bpb, integer %.4f bpb (%+.2f%%)", fb, ib, 100*(ib-fb)/fb)
	if math.Abs(ib-fb) > 0.05*fb {
		t.Errorf("integer %.4f bpb vs float %.4f bpb", ib, fb)
	}
}

func TestSoftmax(t *testing.T) {
	cases := map[string]func(k int) int32{
		"all equal":    func(int) int32 { return 7 },
		"all zero":     func(int) int32 { return 0 },
		"one huge":     func(k int) int32 { return map[bool]int32{true: 1 << 30, false: 0}[k == 200] },
		"extremes":     func(k int) int32 { return map[bool]int32{true: math.MaxInt32, false: math.MinInt32}[k%2 == 0] },
		"two maxima":   func(k int) int32 { return map[bool]int32{true: 5000, false: -5000}[k == 3 || k == 9] },
		"ramp":         func(k int) int32 { return int32(k * 40) },
		"min int":      func(int) int32 { return math.MinInt32 },
		"near uniform": func(k int) int32 { return int32(k % 8) },
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range 200 {
		scale := int32(1) << (i % 31)
		cases["random"+string(rune('a'+i%26))+string(rune('a'+i/26))] = func(int) int32 { return rng.Int32N(scale) - scale/2 }
	}
	for name, gen := range cases {
		logits := make([]int32, 256)
		for k := range logits {
			logits[k] = gen(k)
		}
		f, g := make([]uint16, 256), make([]uint16, 256)
		model.Softmax(logits, f)
		checkTable(t, name, logits, f)
		refSoftmax(logits, g)
		if !slices.Equal(f, g) {
			t.Fatalf("%s: differs from the reference", name)
		}
	}
	// All equal is exactly uniform; one far ahead takes 65281.
	f := make([]uint16, 256)
	model.Softmax(make([]int32, 256), f)
	if f[0] != 256 || f[255] != 256 {
		t.Errorf("uniform: %d %d", f[0], f[255])
	}
	l := make([]int32, 256)
	l[42] = 1 << 20
	model.Softmax(l, f)
	if f[42] != 65281 || f[0] != 1 {
		t.Errorf("peaked: f[42]=%d f[0]=%d", f[42], f[0])
	}
	// Seven equal maxima far ahead: 1 + 65280/7 = 9326 each, and the
	// first one takes the remainder 65536 − 7·9326 − 249 = 5.
	clear(l)
	for k := 10; k <= 70; k += 10 {
		l[k] = 1 << 20
	}
	model.Softmax(l, f)
	if f[10] != 9331 || f[20] != 9326 || f[70] != 9326 || f[0] != 1 {
		t.Errorf("tie: f[10]=%d f[20]=%d f[70]=%d", f[10], f[20], f[70])
	}
}

func checkTable(t *testing.T, name string, logits []int32, f []uint16) {
	t.Helper()
	sum := 0
	best := 0
	for k, v := range f {
		if v < 1 {
			t.Fatalf("%s: f[%d] = 0", name, k)
		}
		sum += int(v)
		if logits[k] > logits[best] {
			best = k
		}
	}
	if sum != 1<<16 {
		t.Fatalf("%s: sum %d", name, sum)
	}
	for k := range f {
		if f[k] > f[best] {
			t.Fatalf("%s: f[%d]=%d above the argmax's %d", name, k, f[k], f[best])
		}
	}
}
