package quant

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"zpng/core/engine"
	"zpng/core/model"
)

// odd has a hidden size that is not a multiple of 64 or 3, so every tail
// path of the packed kernel runs.
var odd = model.Config{Layers: 3, Hidden: 70, Embed: 70}

func randomModel(t testing.TB, cfg model.Config, seed uint64) (*model.Weights, *Model) {
	t.Helper()
	w, err := model.RandomWeights(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	// Sharpen the head so that predictions are far from uniform.
	for i := range w.Tensors["head.weight"] {
		w.Tensors["head.weight"][i] *= 8
	}
	m, err := Quantize(w)
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

func TestTables(t *testing.T) {
	for i := range 8192 {
		c := float64(8*i-32768+4) / 4096
		if want := int16(math.Round(32767 / (1 + math.Exp(-c)))); sigTable[i] != want {
			t.Fatalf("SIG[%d] = %d, want %d", i, sigTable[i], want)
		}
		if want := int16(math.Round(32767 * math.Tanh(c))); tanhTable[i] != want {
			t.Fatalf("TANH[%d] = %d, want %d", i, tanhTable[i], want)
		}
		if want := int32(math.Round(65536 * math.Exp(-float64(i)/512))); expTable[i] != want {
			t.Fatalf("EXP[%d] = %d, want %d", i, expTable[i], want)
		}
		if sigTable[i] < 0 || tanhTable[i] < -32767 || expTable[i] < 0 || expTable[i] > 65536 {
			t.Fatalf("entry %d out of range", i)
		}
		if i > 0 && (sigTable[i] < sigTable[i-1] || tanhTable[i] < tanhTable[i-1] || expTable[i] > expTable[i-1]) {
			t.Fatalf("tables not monotone at %d", i)
		}
	}
	if expTable[0] != 65536 || sigTable[4096] != 16391 || tanhTable[4095] != -32 || tanhTable[4096] != 32 {
		t.Errorf("EXP[0]=%d SIG[4096]=%d TANH[4095..4096]=%d,%d", expTable[0], sigTable[4096], tanhTable[4095], tanhTable[4096])
	}
	sig, tanh, exp := Tables()
	sig[0] = 99 // a copy: the engine's tables are untouched
	if len(sig) != 8192 || len(tanh) != 8192 || len(exp) != 8192 || sigTable[0] == 99 {
		t.Error("Tables() does not return copies of 8192 entries")
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
		Softmax(logits, f)
		checkTable(t, name, logits, f)
		refSoftmax(logits, g)
		if !slices.Equal(f, g) {
			t.Fatalf("%s: differs from the reference", name)
		}
	}
	// All equal is exactly uniform; one far ahead takes 65281.
	f := make([]uint16, 256)
	Softmax(make([]int32, 256), f)
	if f[0] != 256 || f[255] != 256 {
		t.Errorf("uniform: %d %d", f[0], f[255])
	}
	l := make([]int32, 256)
	l[42] = 1 << 20
	Softmax(l, f)
	if f[42] != 65281 || f[0] != 1 {
		t.Errorf("peaked: f[42]=%d f[0]=%d", f[42], f[0])
	}
	// Seven equal maxima far ahead: 1 + 65280/7 = 9326 each, and the
	// first one takes the remainder 65536 − 7·9326 − 249 = 5.
	clear(l)
	for k := 10; k <= 70; k += 10 {
		l[k] = 1 << 20
	}
	Softmax(l, f)
	if f[10] != 9331 || f[20] != 9326 || f[70] != 9326 || f[0] != 1 {
		t.Errorf("tie: f[10]=%d f[20]=%d f[70]=%d", f[10], f[20], f[70])
	}
}

func TestQuantizeRules(t *testing.T) {
	cfg := model.Config{Layers: 2, Hidden: 2, Embed: 2}
	w, _ := model.NewWeights(cfg)
	// Layer 1 input row 0 = [0.5, -0.25]: s = 0.5/127, Wq = [127, -64 (−63.5 rounds away)].
	copy(w.Tensors["gru.weight_ih_l1"], []float32{0.5, -0.25})
	copy(w.Tensors["gru.bias_ih_l1"], []float32{0.125, -1.0 / 8192}) // Q12: 512, round(-0.5) = -1
	copy(w.Tensors["embed.weight"][2*65:], []float32{1, 2})          // byte 65
	copy(w.Tensors["gru.weight_ih_l0"], []float32{0.25, 0.5})
	w.Tensors["gru.bias_ih_l0"][0] = 0.0625
	m, err := Quantize(w)
	if err != nil {
		t.Fatal(err)
	}
	l1 := m.Layers[1]
	if l1.Wih[0] != 127 || l1.Wih[1] != -64 {
		t.Errorf("Wq row 0 = %v", l1.Wih[:2])
	}
	if want := int32(math.Round(0.5 / 127 * 4096 * (1 << 20) / 127)); l1.Mih[0] != want {
		t.Errorf("M = %d, want %d", l1.Mih[0], want)
	}
	if l1.Mih[1] != int32(math.Round(float64(1<<32)/127)) || l1.Wih[2] != 0 {
		t.Errorf("zero row: M = %d", l1.Mih[1])
	}
	if l1.Bih[0] != 512 || l1.Bih[1] != -1 {
		t.Errorf("biases %v", l1.Bih[:2])
	}
	// T0[65][0] = round((1·0.25 + 2·0.5 + 0.0625) · 4096) = 5376
	if got := m.T0[65*6]; got != 5376 {
		t.Errorf("T0[65][0] = %d", got)
	}
	if m.Layers[0].Wih != nil {
		t.Error("layer 0 has Wih")
	}

	w.Tensors["head.bias"][0] = 1e6
	if _, err := Quantize(w); err == nil {
		t.Error("huge bias accepted")
	}
	w.Tensors["head.bias"][0] = 0
	w.Tensors["head.weight"][0] = 1e5
	if _, err := Quantize(w); err == nil {
		t.Error("huge weight accepted")
	}
	w.Tensors["head.weight"][0] = float32(math.Inf(1))
	if _, err := Quantize(w); err == nil {
		t.Error("inf accepted")
	}
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
	f, err := engine.Lookup("go")
	if err != nil {
		t.Fatal(err)
	}
	if dev, ok := f.Available(); !ok || dev != "cpu" {
		t.Errorf("Available() = %q, %v", dev, ok)
	}
	_, m := randomModel(t, odd, 3)
	p, err := f.NewPredictor(m, 2, engine.Options{Device: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Batch() != 2 {
		t.Error("batch")
	}
	if err := p.Step([]byte{1}, make([]uint16, 512)); err == nil {
		t.Error("short input accepted")
	}
	p.Close()
	if err := p.Step([]byte{1, 2}, make([]uint16, 512)); err == nil {
		t.Error("step after close accepted")
	}
	if _, err := f.NewPredictor("model", 1, engine.Options{}); err == nil {
		t.Error("wrong model type accepted")
	}
	if _, err := f.NewPredictor(m, 1, engine.Options{Device: "cuda"}); err == nil {
		t.Error("cuda accepted")
	}
	if _, err := f.NewPredictor(m, 0, engine.Options{}); err == nil {
		t.Error("batch 0 accepted")
	}
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
	var got Model
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
		if (&Model{}).UnmarshalBinary(bad) == nil {
			t.Errorf("bad input of %d bytes accepted", len(bad))
		}
	}
	for _, at := range []int{4, 5, 9, len(data) / 2, len(data) - 1} {
		c := slices.Clone(data)
		c[at] ^= 1
		if (&Model{}).UnmarshalBinary(c) == nil {
			t.Errorf("flipped byte %d accepted", at)
		}
	}
}

func TestDelta(t *testing.T) {
	w, base := randomModel(t, odd, 6)
	w2 := w.Clone()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"gru.weight_hh_l1", "head.bias"} {
		for i := range w2.Tensors[name] {
			w2.Tensors[name][i] += float32(rng.NormFloat64() * 0.01)
		}
	}
	tuned, err := Quantize(w2)
	if err != nil {
		t.Fatal(err)
	}
	full, err := Delta(base, tuned, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ApplyDelta(base, full)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := got.MarshalBinary()
	b, _ := tuned.MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Fatal("base + delta != tuned")
	}
	// Only the chosen tensors change.
	part, err := Delta(base, tuned, []string{"out.b"})
	if err != nil {
		t.Fatal(err)
	}
	got, err = ApplyDelta(base, part)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Bout, tuned.Bout) || !slices.Equal(got.Layers[1].Whh, base.Layers[1].Whh) {
		t.Error("partial delta applied wrongly")
	}
	if len(part) >= len(full) || len(full) > len(b)/2 {
		t.Errorf("delta sizes: part %d, full %d, model %d", len(part), len(full), len(b))
	}
	t.Logf("delta sizes: out.b %d bytes, all %d bytes; model %d bytes", len(part), len(full), len(b))
	// Errors: unknown tensor, other base, corruption.
	if _, err := Delta(base, tuned, []string{"nope"}); err == nil {
		t.Error("unknown tensor accepted")
	}
	if _, err := ApplyDelta(tuned, full); err == nil {
		t.Error("delta applied to the wrong base")
	}
	for _, bad := range [][]byte{nil, full[:len(full)/2], {1, 2, 3}} {
		if _, err := ApplyDelta(base, bad); err == nil {
			t.Errorf("bad delta of %d bytes accepted", len(bad))
		}
	}
	_, other := randomModel(t, model.Config{Layers: 1, Hidden: 8, Embed: 8}, 1)
	if _, err := Delta(base, other, nil); err == nil {
		t.Error("delta across configs accepted")
	}
}

func TestCodeCost(t *testing.T) {
	_, m := randomModel(t, odd, 7)
	data := [][]byte{randomBytes(1, 50), randomBytes(2, 20), randomBytes(3, 35)}
	p, _ := NewPredictor(m, 4, 2) // one stream left idle
	defer p.Close()
	together, err := CodeCost(p, data)
	if err != nil {
		t.Fatal(err)
	}
	alone := 0.0
	one, _ := NewPredictor(m, 1, 1)
	defer one.Close()
	for _, d := range data {
		bits, _ := CodeCost(one, [][]byte{d})
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
	first, _ := CodeCost(one, data[:1])
	if math.Abs(first-want) > 1e-9*want {
		t.Errorf("cost %v, reference %v", first, want)
	}
	if _, err := CodeCost(one, data); err == nil {
		t.Error("more streams than the batch accepted")
	}
}

func TestIntegerVsFloat(t *testing.T) {
	cfg := model.Config{Layers: 2, Hidden: 64, Embed: 64}
	w, m := randomModel(t, cfg, 8)
	data := randomBytes(4, 400)
	fb, err := FloatBPB(w, data)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := NewPredictor(m, 1, 1)
	defer p.Close()
	ib, err := BPB(p, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("float %.4f bpb, integer %.4f bpb (%+.2f%%)", fb, ib, 100*(ib-fb)/fb)
	if math.Abs(ib-fb) > 0.05*fb {
		t.Errorf("integer %.4f bpb vs float %.4f bpb", ib, fb)
	}
}
