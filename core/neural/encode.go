package neural

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"

	"zpng/codec"
	"zpng/codec/cm"
	"zpng/core/catalog"
	"zpng/core/engine"
	"zpng/core/model"
)

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

// encoder holds one file's encoding as it goes through the stages of Encode.
type encoder struct {
	s      Settings
	policy Policy
	r      Reporter
	f      engine.Factory
	eo     engine.Options
	src    []byte
	n      int64
	B      int // streams
	meta   Meta
	notes  []string
}

// Encode codes src with the method s.Method. It returns an error wrapping
// ErrNotCompetitive when s.Bar is set and out of reach.
func Encode(ctx context.Context, src []byte, s Settings, r Reporter) (*Encoded, error) {
	f, eo, err := engineFor(&s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	s.Catalog = s.catalog()
	e := &encoder{s: s, policy: s.policy(), r: r, f: f, eo: eo, src: src, n: int64(len(src))}
	pick, err := e.chooseModel()
	if err != nil {
		return nil, err
	}
	e.B = streamCount(e.n, e.segmentBytes(pick.file))
	if err := e.compete(ctx, pick); err != nil {
		return nil, err
	}
	e.meta = Meta{Model: pick.file.Name, Config: pick.file.Meta.Config.String(), Streams: e.B}
	if pick.file.Source != catalog.Shipped && !s.SelfContained {
		e.notes = append(e.notes, fmt.Sprintf("model %s is not shipped with zpng: decompressing needs it in %s (or compress with --self-contained)", pick.file.Label(), s.Catalog.Dir()))
	}
	tuned, trained, err := e.fineTune(ctx, pick)
	if err != nil {
		return nil, err
	}
	cands, err := buildCandidates(pick.q, tuned, trained, s.SelfContained)
	if err != nil {
		return nil, err
	}
	best, err := e.code(ctx, cands, tuned != nil, len(trained))
	if err != nil {
		return nil, err
	}
	return e.assemble(pick.file, best)
}

// segmentBytes is the shortest stream for coding with model m.
func (e *encoder) segmentBytes(m *catalog.Model) int64 {
	p := e.policy
	if p.SmallSegmentBytes <= 0 || m.Meta.Preset != "small" || e.s.Method != codec.MethodHybrid {
		if e.s.ShortSegments && p.ShortSegmentBytes > 0 {
			// Up to shortStreams streams of at least ShortSegmentBytes.
			return max(min(p.ShortSegmentBytes, p.MinSegmentBytes), min(p.MinSegmentBytes, e.n/shortStreams))
		}
		return p.MinSegmentBytes
	}
	// As long as SmallSegmentBytes allows, but never fewer than
	// smallGroupStreams streams in each of the groups the file would get.
	groups := int64(groupCount(e.n, maxStreams, e.groupBytes()))
	return max(p.MinSegmentBytes, min(p.SmallSegmentBytes, e.n/(smallGroupStreams*groups)))
}

// shortStreams is the number of streams that Settings.ShortSegments gives
// a file as long as its segments keep Policy.ShortSegmentBytes.
const shortStreams = 4

// smallGroupStreams is the fewest streams a group of the small model gets
// (segmentBytes): on one thread its network steps 8 streams at about 250
// kB/s, one stream at 130 kB/s, against the cm half's 150-200 kB/s.
const smallGroupStreams = 8

// modelChoice is the model a job codes with.
type modelChoice struct {
	file  *catalog.Model
	q     *model.Quantized
	w     *model.Weights
	bytes float64 // its estimated size of the file from sample windows; < 0: not estimated
}

func load(m *catalog.Model) (*modelChoice, error) {
	w, err := m.Weights()
	if err != nil {
		return nil, err
	}
	q, err := quantize(m, w)
	return &modelChoice{file: m, q: q, w: w, bytes: -1}, err
}

// chooseModel resolves Settings.Model: a name or a file, or for auto the
// newest model of the preferred preset (the level's choice), else the
// largest model. The choice depends on the catalog alone, never on the
// machine.
func (e *encoder) chooseModel() (*modelChoice, error) {
	if spec := e.s.Model; spec != "" && spec != "auto" {
		m, err := e.s.Catalog.ByName(spec)
		if err != nil {
			return nil, err
		}
		return load(m)
	}
	ms := catalog.Unique(e.s.Catalog.Models())
	if len(ms) == 0 {
		return nil, fmt.Errorf("%w: no model: this zpng ships none and %s holds none", catalog.ErrMissing, e.s.Catalog.Dir())
	}
	pick := ms[0]
	for _, m := range ms[1:] {
		if m.Meta.Config.ParamCount() > pick.Meta.Config.ParamCount() {
			pick = m
		}
	}
	why := "the largest model"
	if e.s.Prefer != "" {
		if m, err := e.s.Catalog.ByName(e.s.Prefer); err == nil {
			pick, why = m, "the level's choice for this size"
		}
	}
	e.notes = append(e.notes, fmt.Sprintf("model %s (%s)", pick.Name, why))
	return load(pick)
}

func joinNotes(s []string) string { return strings.Join(s, "; ") }

// compete decides, when there is a classical size to beat, whether the
// method can beat it: a quick estimate on a sample, before minutes go into
// fine-tuning and coding the whole file.
func (e *encoder) compete(ctx context.Context, pick *modelChoice) error {
	if e.s.Bar <= 0 {
		return nil
	}
	if e.s.Method != codec.MethodNeural {
		return e.competeHybrid(ctx, pick)
	}
	est := pick.bytes
	if est < 0 {
		var err error
		if est, err = estimateBytes(e.f, e.eo, pick.q, e.src); err != nil {
			return err
		}
	}
	if est > float64(e.s.Bar)*e.policy.CompetitiveMargin {
		return fmt.Errorf("%s %w: model %s estimates %.3f bpb on a sample, the best classical method has %.3f",
			e.s.Method, ErrNotCompetitive, pick.file.Name, 8*est/float64(e.n), 8*float64(e.s.Bar)/float64(e.n))
	}
	return nil
}

// competeHybrid estimates the hybrid's size as a fraction of the classical
// size to beat from one sample coded twice, by the hybrid coder and by cm
// alone, and returns ErrNotCompetitive when that fraction is above
// Policy.HybridMargin.
//
// The sample ratio r = hybrid/cm says what the network adds where both see
// the same few kilobytes. On the whole file the cm models also find what
// repeats far apart, which the network does not add to, so the gain 1 − r
// shrinks as the file's classical size falls below cm's size on the
// sample: with c = (bar bits per byte) / (cm's on the sample), at most 1,
// the estimate is 1 − (1 − r)·c³. Fitted on three texts (sample r, c →
// whole-file hybrid/cm at the default level): alice29.txt large 0.80, 0.89
// → 0.854; 2.8 MB of books and HTML small 0.80, 0.62 → 0.958; 4 MB of
// man-page sources small 0.83, 0.45 → 1.08 (four groups, each without the
// others' repeats). Binary files such as kennedy.xls and ptt5 have r > 1.
func (e *encoder) competeHybrid(ctx context.Context, pick *modelChoice) error {
	// 16 windows of 4 KiB, smaller for files under 256 KiB, so that the
	// sample costs at most a quarter of coding the file.
	win := int(min(max(e.n/64, 1<<10), sampleWindow))
	parts := sample(e.src, sampleWindows/2, win)
	joined := bytes.Join(parts, nil)
	ps, err := openAhead(e.f, pick.q, len(parts), e.eo)
	if err != nil {
		return err
	}
	defer closeAll(ps)
	gm, flags := groupCoding(e.s.Method, joined)
	payload, _, err := encodeStreams(ctx, ps, joined, gm, flags, nil)
	if err != nil {
		return err
	}
	alone, err := cmBytes(joined)
	if err != nil {
		return err
	}
	r := float64(len(payload)) / float64(max(alone, 1))
	c := min((float64(e.s.Bar)/float64(e.n))/(float64(alone)/float64(len(joined))), 1)
	est := 1 - (1-r)*c*c*c
	if est > e.policy.HybridMargin {
		return fmt.Errorf("%s %w: model %s: the hybrid is estimated at %.1f%% of the best classical size (%.1f%% of cm alone on a sample); it runs from %.1f%%",
			e.s.Method, ErrNotCompetitive, pick.file.Name, 100*est, 100*r, 100*e.policy.HybridMargin)
	}
	return nil
}

// cmBytes is the size of src coded by method cm alone.
func cmBytes(src []byte) (int, error) {
	var buf bytes.Buffer
	w, err := cm.NewCompressor(codec.MethodCM, &buf, int64(len(src)))
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(src); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return buf.Len(), nil
}

// estimateBytes is the base model's code length for src, in bytes, from 16
// windows of 2 KiB spread over the file (all of it when it is that small).
func estimateBytes(f engine.Factory, eo engine.Options, q *model.Quantized, src []byte) (float64, error) {
	parts := sample(src, 16, 2048)
	p, err := f.NewPredictor(q, len(parts), eo)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	bits, err := engine.CodeCost(p, parts)
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

// fineTune trains the base model on the file itself when that can pay. It
// returns the tuned integer model and the tensors that changed, or nil when
// there is none.
func (e *encoder) fineTune(ctx context.Context, pick *modelChoice) (*model.Quantized, []string, error) {
	steps := e.s.FinetuneSteps
	minTune := minTuneBytes(pick.w, e.policy.TuneBytesPerParam)
	switch {
	case steps <= 0:
		e.notes = append(e.notes, "no fine-tune (0 steps: levels 8 and 9 fine-tune, or --finetune-steps N)")
		return nil, nil, nil
	case e.n < minTune:
		e.notes = append(e.notes, fmt.Sprintf("no fine-tune: %d bytes are too few for a delta of model %s to pay (from %d bytes)",
			e.n, pick.file.Name, minTune))
		return nil, nil, nil
	}
	if err := TrainerReady(); err != nil {
		e.notes = append(e.notes, "no fine-tune: "+err.Error())
		return nil, nil, nil
	}
	e.r.Phase("fine-tune", int64(steps), 0, 0.3)
	s := tuneSettings{Steps: steps, Device: e.eo.Device, Threads: e.eo.Threads, Train: tuneSubset.train,
		LR: tuneLR, Batch: tuneBatch, Window: tuneWindow, Seed: uint64(e.n)}
	tw, err := trainer(ctx, pick.w, e.src, s, func(step int, loss float64) {
		e.r.Update(int64(step), loss/math.Ln2)
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		e.notes = append(e.notes, fmt.Sprintf("fine-tune failed, coding with the base model: %v", err))
		return nil, nil, nil
	}
	snapBiases(pick.w, tw, tuneSubset.train)
	tuned, err := model.Quantize(tw)
	if err != nil {
		e.notes = append(e.notes, fmt.Sprintf("fine-tuned model does not quantize, coding with the base model: %v", err))
		return nil, nil, nil
	}
	e.meta.FinetuneSteps = steps
	trained := changedTensors(pick.q, tuned)
	if len(trained) == 0 {
		return nil, nil, nil
	}
	return tuned, trained, nil
}

// candidate is one way to code the file: a model and what the decoder
// needs to rebuild it.
type candidate struct {
	kind    uint16
	q       *model.Quantized
	weights []byte // the WGHT section
	tuned   bool
	// filled by code:
	bits    float64 // payload bits, exact or estimated
	payload []byte  // when coded exactly
	table   []byte
}

// total is the bytes the candidate costs: weights plus payload.
func (c *candidate) total() float64 { return float64(len(c.weights)) + c.bits/8 }

// buildCandidates lists the ways to code: the base model as shipped and the
// tuned one as a delta, or with selfContained each as full weights.
func buildCandidates(base, tuned *model.Quantized, trained []string, selfContained bool) ([]*candidate, error) {
	var cs []*candidate
	for _, q := range []*model.Quantized{base, tuned} {
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
			c.weights, err = model.Delta(base, tuned, trained)
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

// code measures the candidates, takes the cheapest and codes the file with
// it unless measuring did so already. tuned says whether a fine-tuned
// candidate is among them, trained how many tensors it changed.
func (e *encoder) code(ctx context.Context, cands []*candidate, tuned bool, trained int) (*candidate, error) {
	dev, err := e.measure(ctx, cands)
	if err != nil {
		return nil, err
	}
	e.notes = append(e.notes, fmt.Sprintf("engine %s on %s", e.f.Name(), dev))
	best := cands[0]
	for _, c := range cands[1:] {
		if c.total() < best.total() {
			best = c
		}
	}
	var tunedC *candidate
	for _, c := range cands {
		if c.tuned {
			tunedC = c
		}
		if e.n == 0 {
			continue
		}
		if c.tuned {
			e.meta.BPBTuned = c.bits / float64(e.n)
		} else {
			e.meta.BPBBase = c.bits / float64(e.n)
		}
	}
	if tuned {
		e.meta.Trained = fmt.Sprintf("%s (%d tensors)", tuneSubset.name, trained)
		verdict := "does not pay"
		if best.tuned {
			verdict = "pays"
		}
		var weights []byte
		var kind uint16 = weightsNone
		if tunedC != nil {
			weights, kind = tunedC.weights, tunedC.kind
		}
		e.notes = append(e.notes, fmt.Sprintf("fine-tune (%d steps, %s): %.3f -> %.3f bpb; the %d-byte %s %s",
			e.s.FinetuneSteps, tuneSubset.name, e.meta.BPBBase, e.meta.BPBTuned, len(weights), weightsKinds[kind], verdict))
	}
	if best.payload == nil && e.n > 0 {
		e.r.Phase("encode", e.n, 0.4, 1)
		if best.payload, best.table, _, err = e.encodeWith(ctx, best.q); err != nil {
			return nil, err
		}
	}
	if best.table == nil { // an empty file: one empty stream
		best.payload, best.table = emptyStreams(e.s.Method)
	}
	return best, nil
}

// measure finds what each candidate's payload costs. One candidate, a
// small file, or Settings.ExactTune: exactly, by coding the file with each.
// Otherwise on a sample of windows spread over the file, so that the file
// is coded once, with the winner. A sample measures the network alone; in
// a hybrid payload only the policy's HybridTuneShare of a fine-tune's gain
// survives, because the cm model learns much of the same from the file. It
// returns the device the engine ran on.
func (e *encoder) measure(ctx context.Context, cs []*candidate) (string, error) {
	dev := "cpu"
	if e.n <= exactLimit || len(cs) == 1 || e.s.ExactTune {
		for i, c := range cs {
			if e.n == 0 {
				continue
			}
			step := 0.6 / float64(len(cs))
			e.r.Phase("encode", e.n, 0.4+step*float64(i), 0.4+step*float64(i+1))
			var err error
			if c.payload, c.table, dev, err = e.encodeWith(ctx, c.q); err != nil {
				return "", err
			}
			c.bits = 8 * float64(len(c.payload))
		}
		return dev, nil
	}
	parts := sample(e.src, sampleWindows, sampleWindow)
	var sampled int
	for _, p := range parts {
		sampled += len(p)
	}
	e.r.Phase("estimate", int64(sampled*len(cs)), 0.3, 0.4)
	var baseBits float64
	for i, c := range cs {
		p, err := e.f.NewPredictor(c.q, len(parts), e.eo)
		if err != nil {
			return "", err
		}
		dev = deviceOf(p)
		bits, err := engine.CodeCost(p, parts)
		p.Close()
		if err != nil {
			return "", err
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
		c.bits = bits * float64(e.n) / float64(sampled)
		if !c.tuned {
			baseBits = c.bits
		} else if e.s.Method != codec.MethodNeural && baseBits > 0 {
			c.bits = baseBits - e.policy.HybridTuneShare*(baseBits-c.bits)
		}
		e.r.Update(int64(sampled*(i+1)), 0)
	}
	return dev, nil
}

// assemble builds the image's sections from the winning candidate.
func (e *encoder) assemble(base *catalog.Model, best *candidate) (*Encoded, error) {
	e.meta.Embedded, e.meta.EmbeddedBytes = weightsKinds[best.kind], len(best.weights)
	size := len(best.weights) + len(best.table) + len(best.payload)
	if e.n > 0 {
		e.meta.BPB = float64(size) * 8 / float64(e.n)
	}
	// Every byte of META is in the image: 4 decimals are all that is shown.
	e.meta.BPBBase, e.meta.BPBTuned, e.meta.BPB = round4(e.meta.BPBBase), round4(e.meta.BPBTuned), round4(e.meta.BPB)
	mj, err := json.Marshal(e.meta)
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
	desc := base.Name
	if best.kind != weightsNone {
		desc += fmt.Sprintf(", %s %d B", e.meta.Embedded, e.meta.EmbeddedBytes)
	}
	return &Encoded{Flags: best.kind, ModelID: base.ID, Sections: sections, Model: desc, Notes: e.notes, File: base}, nil
}

// changedTensors lists the integer tensors in which tuned differs from base.
func changedTensors(base, tuned *model.Quantized) []string {
	var names []string
	bt, tt := tensorsOf(base), tensorsOf(tuned)
	for _, name := range model.QuantizedTensorNames(base.Config) {
		if !bt[name].equal(tt[name]) {
			names = append(names, name)
		}
	}
	return names
}

// intTensor is one array of a model.Quantized, of either element type.
type intTensor struct {
	i8  []int8
	i32 []int32
}

func (a intTensor) equal(b intTensor) bool {
	return slices.Equal(a.i8, b.i8) && slices.Equal(a.i32, b.i32)
}

// tensorsOf maps model.QuantizedTensorNames to the arrays of m.
func tensorsOf(m *model.Quantized) map[string]intTensor {
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
func checkDelta(base, tuned *model.Quantized, delta []byte) error {
	got, err := model.ApplyDelta(base, delta)
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

func marshalFull(q *model.Quantized) ([]byte, error) {
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

func unmarshalFull(data []byte) (*model.Quantized, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxFullWeights), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	raw, err := dec.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: embedded weights: %v", codec.ErrCorrupt, err)
	}
	q := &model.Quantized{}
	if err := q.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("%w: embedded weights: %v", codec.ErrCorrupt, err)
	}
	return q, nil
}
