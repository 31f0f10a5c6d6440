package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/klauspost/compress/zstd"

	"zpng/codec"
	"zpng/codec/entropy"
	"zpng/core/engine"
	"zpng/core/model"
	"zpng/core/quant"
)

// The neural method: a byte model predicts every next byte and a range
// coder codes it, in B streams side by side. The header's ModelID names the
// base model (the SHA-256 of its file); the flags say what else the decoder
// needs, carried in the WGHT section:
const (
	weightsNone  = 0 // the base model as shipped
	weightsDelta = 1 // quant.Delta of the fine-tuned model against the base
	weightsFull  = 2 // the whole integer model, quant.MarshalBinary, zstd
)

var weightsKinds = map[uint16]string{weightsNone: "none", weightsDelta: "delta", weightsFull: "full"}

// NeuralMeta is the META section of a neural image (JSON): display facts
// only; the decoder needs none of it except the model's name for messages.
type NeuralMeta struct {
	Model         string  `json:"model"`              // preset name or file name
	ModelID       string  `json:"model_id,omitempty"` // older images only; the header holds the identity
	Config        string  `json:"config"`             // e.g. "2x256"
	Engine        string  `json:"engine"`
	Device        string  `json:"device"`
	FinetuneSteps int     `json:"finetune_steps"`
	Trained       string  `json:"trained,omitempty"` // the tensors the fine-tune changed
	BPBBase       float64 `json:"bpb_base"`          // payload under the base model (estimate for large files)
	BPBTuned      float64 `json:"bpb_tuned,omitempty"`
	Embedded      string  `json:"embedded"` // none, delta or full
	EmbeddedBytes int     `json:"embedded_bytes"`
	Streams       int     `json:"streams"`
	BPB           float64 `json:"bpb"` // weights + stream table + payload, bits per original byte
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// ParseNeuralMeta decodes the META section of a neural image (Info.Meta).
func ParseNeuralMeta(meta []byte) (*NeuralMeta, error) {
	var m NeuralMeta
	if err := json.Unmarshal(meta, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// autoBudget is the time --model auto allows for coding and checking a file:
// it takes the largest model expected to finish within it. Two minutes let
// the large model spend 2 m 10 s on a 6.7 kB README on a busy 2-core CPU
// (0.17 kB/s at one stream); half a minute keeps small files quick.
var autoBudget = 30 * time.Second

// exactLimit: files up to this size are coded with every candidate model
// to pick the smallest; larger ones are estimated on a sample.
const exactLimit = 64 << 10

// Sample for estimating larger files: windows spread over the file.
const (
	sampleWindows = 32
	sampleWindow  = 4 << 10
)

// maxFullWeights bounds a decompressed WGHT section of full weights.
const maxFullWeights = 256 << 20

// neural is method neural (the model's byte tables drive a range coder) or
// a hybrid method (package codec/cm: the model's prediction of each bit is
// mixed with the cm model's and coded bit by bit): hybrid, or hybrid1, which
// only decodes older images. All share everything else: the model choice,
// the fine-tune, the sections. Auto tries hybrid, which codes alice29.txt
// about 30% smaller than neural (large-v3, no fine-tune: 1.694 against
// 2.208 bpb) for the cost of the cm model.
type neural struct{ method codec.Method }

func init() {
	registerMethod(neural{codec.MethodNeural}, useByName)
	registerMethod(neural{codec.MethodHybrid}, useAuto)
	registerMethod(neural{codec.MethodHybrid1}, useDecodeOnly)
}

func (m neural) name() string     { return m.method.String() }
func (m neural) id() codec.Method { return m.method }

// mix reports whether the method codes bit by bit with the cm model.
func (m neural) mix() bool { return m.method != codec.MethodNeural }

// isNeural reports whether id is a method that runs a model.
func isNeural(id codec.Method) bool {
	return id == codec.MethodNeural || id == codec.MethodHybrid || id == codec.MethodHybrid1
}

// RunsModel reports whether the method named (as Info.Method gives it) codes
// with a model, so that its META is a NeuralMeta.
func RunsModel(method string) bool {
	id, ok := codec.ParseMethod(method)
	return ok && isNeural(id)
}

func (neural) available(opt *Options) error {
	if _, _, err := engineFor(opt); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if (opt.Model == "" || opt.Model == "auto") && len(catalog()) == 0 {
		return fmt.Errorf("%w: no model: this zpng ships none and %s holds none (use --model FILE)", ErrUnavailable, ModelsDir())
	}
	return nil
}

// engineFor returns the engine the options ask for: --engine, else torch
// when it is built in, else go.
func engineFor(opt *Options) (engine.Factory, engine.Options, error) {
	name := opt.Engine
	if name == "" {
		name = "go"
		if _, err := engine.Lookup("torch"); err == nil {
			name = "torch"
		}
	}
	dev := opt.Device
	if dev == "" {
		dev = "auto"
	}
	f, err := engine.Lookup(name)
	return f, engine.Options{Device: dev, Threads: opt.Threads}, err
}

func deviceOf(p engine.Predictor) string {
	if d, ok := p.(interface{ Device() string }); ok {
		return d.Device()
	}
	return "cpu"
}

// candidate is one way to code the file: a model and what the decoder
// needs to rebuild it.
type candidate struct {
	kind    uint16
	q       *quant.Model
	weights []byte // the WGHT section
	tuned   bool
	// filled by the choice:
	bits    float64 // payload bits, exact or estimated
	payload []byte  // when coded exactly
	table   []byte
}

// total is the bytes the candidate costs: weights plus payload.
func (c *candidate) total() float64 { return float64(len(c.weights)) + c.bits/8 }

func (nm neural) encode(ctx context.Context, j *job, src []byte) (*encoded, error) {
	f, eo, err := engineFor(&j.opt)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	n := int64(len(src))
	B := streamCount(n)
	j.progress.begin(nm.name(), n) // this method's share of the job
	slot := j.progress.slot()
	var notes []string

	pick, err := chooseModel(ctx, j, f, eo, B, src)
	if err != nil {
		return nil, err
	}
	mf, base, baseW := pick.file, pick.q, pick.w
	if pick.note != "" {
		notes = append(notes, pick.note)
	}
	if j.bar > 0 {
		// auto: a quick estimate on a sample decides whether the neural
		// method can beat the best classical result before minutes go into
		// fine-tuning and coding the whole file.
		est := pick.bytes
		if est < 0 {
			if est, err = estimateBytes(f, eo, base, src); err != nil {
				return nil, err
			}
		}
		margin := competitiveMargin
		if nm.mix() {
			margin = hybridMargin
		}
		if est > float64(j.bar)*margin {
			return nil, fmt.Errorf("%w: model %s estimates %.3f bpb on a sample, the best classical method has %.3f",
				errNotCompetitive, mf.name, 8*est/float64(n), 8*float64(j.bar)/float64(n))
		}
	}
	meta := NeuralMeta{Model: mf.name, Config: mf.meta.Config.String(), Engine: f.Name(), Streams: B}
	if mf.source != "shipped" && !j.opt.SelfContained {
		notes = append(notes, fmt.Sprintf("model %s is not shipped with zpng: decompressing needs it in %s (or compress with --self-contained)", mf.label(), ModelsDir()))
	}

	// Fine-tune on the file itself.
	var tuned *quant.Model
	var trained []string
	minTune := minTuneBytes(baseW)
	switch {
	case j.opt.FinetuneSteps <= 0:
		notes = append(notes, "no fine-tune (--finetune-steps 0)")
	case trainer == nil:
		notes = append(notes, "no fine-tune: this zpng is built without libtorch, which the trainer needs")
	case f.Name() != "torch":
		notes = append(notes, fmt.Sprintf("no fine-tune with --engine %s: the trainer runs in libtorch", f.Name()))
	case n < minTune:
		notes = append(notes, fmt.Sprintf("no fine-tune: %d bytes are too few for a delta of model %s to pay (from %d bytes)",
			n, mf.name, minTune))
	default:
		j.progress.within(slot, "fine-tune", int64(j.opt.FinetuneSteps), 0, 0.3)
		s := tuneSettings{Steps: j.opt.FinetuneSteps, Device: eo.Device, Threads: eo.Threads, Train: tuneSubset.train,
			LR: tuneLR, Batch: tuneBatch, Window: tuneWindow, Seed: uint64(n)}
		tw, err := trainer(ctx, baseW, src, s, func(step int, loss float64) {
			j.progress.update(int64(step), loss/math.Ln2, false)
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			notes = append(notes, fmt.Sprintf("fine-tune failed, coding with the base model: %v", err))
			break
		}
		snapBiases(baseW, tw, tuneSubset.train)
		if tuned, err = quant.Quantize(tw); err != nil {
			notes = append(notes, fmt.Sprintf("fine-tuned model does not quantize, coding with the base model: %v", err))
			tuned = nil
			break
		}
		meta.FinetuneSteps = j.opt.FinetuneSteps
		if trained = changedTensors(base, tuned); len(trained) == 0 {
			tuned = nil
		}
	}

	cands, err := candidates4(base, tuned, trained, j.opt.SelfContained)
	if err != nil {
		return nil, err
	}
	dev, err := chooseCandidate(ctx, j, slot, f, eo, cands, src, nm.method)
	if err != nil {
		return nil, err
	}
	meta.Device = dev
	best := cands[0]
	for _, c := range cands[1:] {
		if c.total() < best.total() {
			best = c
		}
	}
	for _, c := range cands {
		if n == 0 {
			break
		}
		if c.tuned {
			meta.BPBTuned = c.bits / float64(n)
		} else {
			meta.BPBBase = c.bits / float64(n)
		}
	}
	if tuned != nil {
		meta.Trained = fmt.Sprintf("%s (%d tensors)", tuneSubset.name, len(trained))
		verdict := "does not pay"
		if best.tuned {
			verdict = "pays"
		}
		notes = append(notes, fmt.Sprintf("fine-tune (%d steps, %s): %.3f -> %.3f bpb; the %d-byte %s %s",
			j.opt.FinetuneSteps, tuneSubset.name, meta.BPBBase, meta.BPBTuned, len(bestTunedWeights(cands)), weightsKinds[bestTunedKind(cands)], verdict))
	}

	// Code the file with the winner unless that was done already.
	if best.payload == nil && n > 0 {
		j.progress.within(slot, "encode", n, 0.4, 1)
		p, err := f.NewPredictor(best.q, B, eo)
		if err != nil {
			return nil, err
		}
		best.payload, best.table, err = encodeStreams(ctx, p, src, nm.method, func(d int64) { j.progress.update(d, 0, false) })
		p.Close()
		if err != nil {
			return nil, err
		}
	}
	if best.table == nil { // an empty file: one empty stream
		best.payload, best.table, _ = entropy.NewStreamEncoder(1).Finish([]int64{0})
	}
	meta.Embedded, meta.EmbeddedBytes = weightsKinds[best.kind], len(best.weights)
	size := len(best.weights) + len(best.table) + len(best.payload)
	meta.BPB = bitsPerByte(int64(size), n)
	// Every byte of META is in the image: 4 decimals are all that is shown.
	meta.BPBBase, meta.BPBTuned, meta.BPB = round4(meta.BPBBase), round4(meta.BPBTuned), round4(meta.BPB)
	mj, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	sections := []codec.Section{{Type: codec.SectionMeta, Data: mj}}
	if best.kind != weightsNone {
		sections = append(sections, codec.Section{Type: codec.SectionWeights, Data: best.weights})
	}
	sections = append(sections,
		codec.Section{Type: codec.SectionStreams, Data: best.table},
		codec.Section{Type: codec.SectionPayload, Data: best.payload})
	modelDesc := mf.name
	if best.kind != weightsNone {
		modelDesc += fmt.Sprintf(", %s %d B", meta.Embedded, meta.EmbeddedBytes)
	}
	e := &encoded{flags: best.kind, modelID: mf.id, sections: sections, model: modelDesc, notes: notes}
	if neuralTestHook != nil {
		neuralTestHook(e)
	}
	return e, nil
}

// neuralTestHook, when set by a test, sees every neural encoding before the
// pipeline writes it.
var neuralTestHook func(*encoded)

func bestTunedWeights(cs []*candidate) []byte {
	for _, c := range cs {
		if c.tuned {
			return c.weights
		}
	}
	return nil
}

func bestTunedKind(cs []*candidate) uint16 {
	for _, c := range cs {
		if c.tuned {
			return c.kind
		}
	}
	return weightsNone
}

// candidates4 lists the ways to code: the base model as shipped and the
// tuned one as a delta, or with selfContained each as full weights.
func candidates4(base, tuned *quant.Model, trained []string, selfContained bool) ([]*candidate, error) {
	var cs []*candidate
	for _, q := range []*quant.Model{base, tuned} {
		if q == nil {
			continue
		}
		c := &candidate{q: q, tuned: q == tuned}
		var err error
		switch {
		case selfContained:
			c.kind = weightsFull
			c.weights, err = marshalFull(q)
		case c.tuned:
			c.kind = weightsDelta
			c.weights, err = quant.Delta(base, tuned, trained)
			if err == nil {
				err = checkDelta(base, tuned, c.weights)
			}
		}
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// chooseCandidate measures what each candidate's payload costs: exactly, by
// coding the file, when it is small, when there is only one candidate, or
// for method hybrid; else on a sample of windows spread over the file. A
// sample cannot judge hybrid: its cm model learns much of what the
// fine-tune teaches (alice29.txt, small: the fine-tune saves 4,087 B of
// neural payload but 637 B of hybrid payload, less than its 2,615-byte
// delta). It returns the device the engine ran on.
func chooseCandidate(ctx context.Context, j *job, slot progressSlot, f engine.Factory, eo engine.Options, cs []*candidate, src []byte, method codec.Method) (string, error) {
	n := int64(len(src))
	B := streamCount(n)
	dev := "cpu"
	if n <= exactLimit || len(cs) == 1 || method != codec.MethodNeural {
		for i, c := range cs {
			if n == 0 {
				continue
			}
			step := 0.6 / float64(len(cs))
			j.progress.within(slot, "encode", n, 0.4+step*float64(i), 0.4+step*float64(i+1))
			p, err := f.NewPredictor(c.q, B, eo)
			if err != nil {
				return "", err
			}
			dev = deviceOf(p)
			c.payload, c.table, err = encodeStreams(ctx, p, src, method, func(d int64) { j.progress.update(d, 0, false) })
			p.Close()
			if err != nil {
				return "", err
			}
			c.bits = 8 * float64(len(c.payload))
		}
		return dev, nil
	}
	parts := sample(src, sampleWindows, sampleWindow)
	var sampled int
	for _, p := range parts {
		sampled += len(p)
	}
	j.progress.within(slot, "estimate", int64(sampled*len(cs)), 0.3, 0.4)
	for i, c := range cs {
		p, err := f.NewPredictor(c.q, len(parts), eo)
		if err != nil {
			return "", err
		}
		dev = deviceOf(p)
		bits, err := quant.CodeCost(p, parts)
		p.Close()
		if err != nil {
			return "", err
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
		c.bits = bits * float64(n) / float64(sampled)
		j.progress.update(int64(sampled*(i+1)), 0, true)
	}
	return dev, nil
}

// competitiveMargin: auto codes the whole file neurally only when the base
// model's sample estimate is within this factor of the best classical size;
// the fine-tune has gained up to about 10% (core/finetune.go). A variable so
// that tests can make auto try a random model.
var competitiveMargin = 1.12

// hybridMargin is competitiveMargin for method hybrid, whose cm model makes
// up for much of what the network misses: on Canterbury (small-v5) hybrid
// beat every classical method where the network alone was up to 1.41 times
// the best classical size (fields.c) and lost from 1.66 (grammar.lsp, ptt5,
// sum, kennedy.xls).
var hybridMargin = 1.5

// errNotCompetitive marks a neural attempt that auto skipped.
var errNotCompetitive = errors.New("neural skipped")

// estimateBytes is the base model's code length for src, in bytes, from 16
// windows of 2 KiB spread over the file (all of it when it is that small).
func estimateBytes(f engine.Factory, eo engine.Options, q *quant.Model, src []byte) (float64, error) {
	parts := sample(src, 16, 2048)
	p, err := f.NewPredictor(q, len(parts), eo)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	bits, err := quant.CodeCost(p, parts)
	if err != nil {
		return 0, err
	}
	return bits / 8 * float64(len(src)) / float64(len(parts)*len(parts[0])), nil
}

// sample cuts up to windows windows of size bytes (all of src when it is
// shorter), evenly spread, from src.
func sample(src []byte, windows, size int) [][]byte {
	k := min(windows, max(len(src)/size, 1))
	w := min(size, len(src))
	parts := make([][]byte, k)
	for i := range parts {
		off := (len(src) - w) * i / max(k-1, 1)
		parts[i] = src[off : off+w]
	}
	return parts
}

// modelChoice is the model a job codes with.
type modelChoice struct {
	file  *modelFile
	q     *quant.Model
	w     *model.Weights
	bytes float64 // its estimated size of the file from sample windows; < 0: not estimated
	note  string  // why auto chose it
}

// chooseModel resolves --model. For auto it considers every known model
// whose coding (encode and verify) is expected to fit autoBudget, measured
// with a short probe on this engine and device, and takes the one with the
// smallest estimated size on a sample of src: a bigger model is not always a
// better one (a stand-in large model loses to a well-trained small one).
// When none fits, it takes the smallest model.
func chooseModel(ctx context.Context, j *job, f engine.Factory, eo engine.Options, B int, src []byte) (*modelChoice, error) {
	load := func(m *modelFile) (*quant.Model, *model.Weights, error) {
		w, err := m.weights()
		if err != nil {
			return nil, nil, err
		}
		q, err := quant.Quantize(w)
		return q, w, err
	}
	spec := j.opt.Model
	if spec != "" && spec != "auto" {
		m, err := modelByName(spec)
		if err != nil {
			return nil, err
		}
		j.models = append(j.models, m) // so that the self-check finds a model given by path
		q, w, err := load(m)
		if err != nil {
			return nil, err
		}
		return &modelChoice{file: m, q: q, w: w, bytes: -1}, nil
	}
	ms := uniqueModels(catalog())
	if len(ms) == 0 {
		return nil, fmt.Errorf("%w: no model: this zpng ships none and %s holds none", ErrModelMissing, ModelsDir())
	}
	sort.SliceStable(ms, func(a, b int) bool { return ms[a].meta.Config.ParamCount() > ms[b].meta.Config.ParamCount() })
	var fits []*modelChoice
	var described []string // what auto learnt of each model in fits
	var passed []string
	n := int64(len(src))
	for i, m := range ms {
		q, w, err := load(m)
		if err != nil {
			passed = append(passed, fmt.Sprintf("%s: %v", m.name, err))
			continue
		}
		if len(ms) == 1 || (i == len(ms)-1 && len(fits) == 0) {
			why := "the only model"
			if len(ms) > 1 {
				why = "the smallest model"
			}
			if len(passed) > 0 {
				why += "; " + joinNotes(passed)
			}
			return &modelChoice{file: m, q: q, w: w, bytes: -1, note: fmt.Sprintf("model auto: %s (%s)", m.name, why)}, nil
		}
		speed, err := probe(ctx, f, eo, q, B)
		if err != nil {
			return nil, err
		}
		est := time.Duration(2 * float64(n) / speed * float64(time.Second))
		if est > autoBudget {
			passed = append(passed, fmt.Sprintf("%s would take about %v at %.3g kB/s, over the %v budget",
				m.name, est.Round(time.Second), speed/1000, autoBudget))
			continue
		}
		size := 0.0
		if n > 0 {
			if size, err = estimateBytes(f, eo, q, src); err != nil {
				return nil, err
			}
		}
		fits = append(fits, &modelChoice{file: m, q: q, w: w, bytes: size})
		described = append(described, fmt.Sprintf("%s: est. %v to code and check at %.3g kB/s, %.3f bpb on a sample",
			m.name, est.Round(time.Second), speed/1000, 8*size/float64(max(n, 1))))
	}
	if len(fits) == 0 {
		return nil, fmt.Errorf("%w: no usable model: %s", ErrModelMissing, joinNotes(passed))
	}
	best := fits[0]
	for _, c := range fits {
		if c.bytes < best.bytes {
			best = c
		}
	}
	why := "within the " + autoBudget.String() + " budget: " + joinNotes(described)
	if len(fits) > 1 {
		why = "the smallest estimate " + why
	}
	if len(passed) > 0 {
		why += "; " + joinNotes(passed)
	}
	best.note = fmt.Sprintf("model auto: %s (%s)", best.file.name, why)
	return best, nil
}

func joinNotes(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(x)
	}
	return b.String()
}

// uniqueModels drops models whose identity came earlier (a shipped model
// also copied into the models folder).
func uniqueModels(ms []*modelFile) []*modelFile {
	seen := map[[32]byte]bool{}
	var out []*modelFile
	for _, m := range ms {
		if !seen[m.id] {
			seen[m.id] = true
			out = append(out, m)
		}
	}
	return out
}

// probe measures the engine's speed in bytes per second for q with B
// streams: a few steps after a warm-up one.
func probe(ctx context.Context, f engine.Factory, eo engine.Options, q *quant.Model, B int) (float64, error) {
	p, err := f.NewPredictor(q, B, eo)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	in := make([]byte, B)
	freqs := make([]uint16, 256*B)
	if err := p.Step(in, freqs); err != nil {
		return 0, err
	}
	start := time.Now()
	steps := 0
	for steps < 64 && (steps < 4 || time.Since(start) < 200*time.Millisecond) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		for b := range in {
			in[b] = byte(steps*31 + b)
		}
		if err := p.Step(in, freqs); err != nil {
			return 0, err
		}
		steps++
	}
	return float64(steps*B) / max(time.Since(start).Seconds(), 1e-9), nil
}

// changedTensors lists the integer tensors in which tuned differs from base.
func changedTensors(base, tuned *quant.Model) []string {
	var names []string
	bt, tt := tensorsOf(base), tensorsOf(tuned)
	for _, name := range quant.TensorNames(base.Config) {
		if !bt[name].equal(tt[name]) {
			names = append(names, name)
		}
	}
	return names
}

// intTensor is one array of a quant.Model, of either element type.
type intTensor struct {
	i8  []int8
	i32 []int32
}

func (a intTensor) equal(b intTensor) bool {
	return slices.Equal(a.i8, b.i8) && slices.Equal(a.i32, b.i32)
}

// tensorsOf maps quant.TensorNames to the arrays of m.
func tensorsOf(m *quant.Model) map[string]intTensor {
	t := map[string]intTensor{"t0": {i32: m.T0}, "out.w": {i8: m.Wout}, "out.m": {i32: m.Mout}, "out.b": {i32: m.Bout}}
	for k, l := range m.Layers {
		p := fmt.Sprintf("l%d.", k)
		if k > 0 {
			t[p+"wih"], t[p+"mih"], t[p+"bih"] = intTensor{i8: l.Wih}, intTensor{i32: l.Mih}, intTensor{i32: l.Bih}
		}
		t[p+"whh"], t[p+"mhh"], t[p+"bhh"] = intTensor{i8: l.Whh}, intTensor{i32: l.Mhh}, intTensor{i32: l.Bhh}
	}
	return t
}

// checkDelta makes sure the decoder will rebuild exactly the tuned model.
func checkDelta(base, tuned *quant.Model, delta []byte) error {
	got, err := quant.ApplyDelta(base, delta)
	if err != nil {
		return err
	}
	a, err := got.MarshalBinary()
	if err != nil {
		return err
	}
	b, err := tuned.MarshalBinary()
	if err != nil {
		return err
	}
	if !bytes.Equal(a, b) {
		return errors.New("neural: the delta does not rebuild the fine-tuned model")
	}
	return nil
}

func marshalFull(q *quant.Model) ([]byte, error) {
	raw, err := q.MarshalBinary()
	if err != nil {
		return nil, err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	return enc.EncodeAll(raw, nil), nil
}

func unmarshalFull(data []byte) (*quant.Model, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxFullWeights), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	raw, err := dec.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: embedded weights: %v", codec.ErrCorrupt, err)
	}
	q := &quant.Model{}
	if err := q.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("%w: embedded weights: %v", codec.ErrCorrupt, err)
	}
	return q, nil
}

func (nm neural) decode(ctx context.Context, j *job, c *codec.Container, w io.Writer) error {
	kind, ok := weightsKinds[c.Flags]
	if !ok {
		return fmt.Errorf("%w: flags %#x for method %s", codec.ErrCorrupt, c.Flags, nm.name())
	}
	var meta NeuralMeta
	if m, ok := c.Section(codec.SectionMeta); ok {
		json.Unmarshal(m, &meta) // display facts only; a bad one costs the name in messages
	}
	wsec, hasW := c.Section(codec.SectionWeights)
	if hasW != (c.Flags != weightsNone) {
		return fmt.Errorf("%w: %s weights but WGHT section present: %v", codec.ErrCorrupt, kind, hasW)
	}
	table, ok1 := c.Section(codec.SectionStreams)
	payload, ok2 := c.Section(codec.SectionPayload)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: a %s image needs STRM and DATA sections", codec.ErrCorrupt, nm.name())
	}
	streams, err := entropy.ParseStreamTable(table, c.OriginalSize, int64(len(payload)))
	if err != nil {
		return err
	}
	if len(streams) > maxStreams {
		return fmt.Errorf("%w: %d streams (at most %d)", codec.ErrCorrupt, len(streams), maxStreams)
	}

	var q *quant.Model
	if c.Flags == weightsFull {
		if q, err = unmarshalFull(wsec); err != nil {
			return err
		}
	} else {
		mf, err := modelByID(c.ModelID, meta.Model, j.models)
		if err != nil {
			return err
		}
		bw, err := mf.weights()
		if err != nil {
			return err
		}
		if q, err = quant.Quantize(bw); err != nil {
			return err
		}
		if c.Flags == weightsDelta {
			if q, err = quant.ApplyDelta(q, wsec); err != nil {
				return fmt.Errorf("%w: %v", codec.ErrCorrupt, err)
			}
		}
	}
	f, eo, err := engineFor(&j.opt)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	p, err := f.NewPredictor(q, len(streams), eo)
	if err != nil {
		return err
	}
	defer p.Close()
	return decodeStreams(ctx, p, table, payload, c.OriginalSize, nm.method, w, func(d int64) { j.progress.update(d, 0, false) })
}

// progressSlot is the share of the job's progress that the current phase
// was given; the neural method divides it among its own phases.
type progressSlot struct{ base, span float64 }

func (p *progress) slot() progressSlot { return progressSlot{p.base, p.span} }

// within starts a phase of total units that runs over the part [from, to]
// of slot.
func (p *progress) within(s progressSlot, phase string, total int64, from, to float64) {
	p.phase, p.total, p.phaseStart = phase, total, time.Now()
	p.base, p.span = s.base+s.span*from, s.span*(to-from)
	p.last = time.Time{}
	p.update(0, 0, true)
}
