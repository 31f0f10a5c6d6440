package cm

import (
	"fmt"
	"math"
	"sync"

	"zpng/codec"
	"zpng/codec/entropy"
)

// Method hybrid2 codes B streams side by side, like method neural, but bit
// by bit: the cm model (model.go) mixes each bit's probability under the
// outside model's byte frequency table with its own contexts, and the
// binary coder of method cm codes the bit. The streams share the cm model's
// counters, mixers and APMs, one history of the whole file (each stream
// writes its bytes where they belong) and a match table over it, so that
// what one segment teaches serves all; each keeps its own contexts and its
// own match table. FORMAT.md section 12 is the exact contract.
//
// Method hybrid2 (id 7) runs revision 2 of the cm model and hybridStage;
// method hybrid1 (5) runs revision 1 and hybrid1Stage (revision1.go).
// zpng decodes both but makes neither: method hybrid (8) codes groups of
// streams, each group as a file of method hybrid2 (FORMAT.md section 13,
// package core/neural).

// mixState is what the streams share beyond cm's own tables, the stage and
// the history: which bytes of the history are coded yet, how many, and the
// match table over the whole history.
type mixState struct {
	known     []uint64 // bit q: byte q of the file is coded
	total     int
	matchTab  []uint32 // positions in the whole history, by the hash of 10.4
	matchMask uint32
}

// hybridStage is the last step of method hybrid2 (see refine): cm's APMs on
// p by order 0 and 1; APMs on the outside P by order 1, hashed order 2 and
// the match state; two final mixers (hybridInputs weights a set), and APMs
// on their result by order 1, hashed orders 2 and 3.
type hybridStage struct {
	a1, a2     *countAPM
	q1, q2, qm *countAPM
	m1, m2     []int32
	f1, f2, f3 *countAPM
	x          [hybridInputs]int32 // the final mixers' inputs
	final      [2]finalStep
}

// finalStep is what a final mixer remembers between predicting a bit and
// learning it: its weight set and its output.
type finalStep struct {
	sel int
	pr  int32
}

const (
	hybridInputs = 9
	hybridSets1  = 4096 // c0 × conf × match state
	hybridSets2  = 1024 // c1 × conf
	finalShift   = 13   // the final mixers' rate, 2^-13
)

// hybridInit is the final mixers' starting weights, ×2^-16: the mean of
// the three first-layer mixers (as their second layer starts), and cm's
// APMs and the APMs on the outside P as revision 1 weighed them.
var hybridInit = [hybridInputs]int32{5461, 5461, 5461, 1 << 13, 1 << 13, 1 << 14, 0, 1 << 14, 0}

// mixOwnMatchBits bounds the size of a stream's own match table.
const mixOwnMatchBits = 16

// has says whether byte q of the history is coded; q may be one past its end.
func (s *mixState) has(q int) bool { return q>>6 < len(s.known) && s.known[q>>6]>>(q&63)&1 != 0 }

func newHybridStage(hb uint) *hybridStage {
	return &hybridStage{
		a1: newCountAPM(256), a2: newCountAPM(1 << 16),
		q1: newCountAPM(1 << 16), q2: newCountAPM(1 << (hb + 8)), qm: newCountAPM(1 << 14),
		m1: repeatWeights(hybridInit[:], hybridSets1),
		m2: repeatWeights(hybridInit[:], hybridSets2),
		f1: newCountAPM(1 << 16), f2: newCountAPM(1 << (hb + 8)), f3: newCountAPM(1 << (hb + 8)),
	}
}

// newMixModels returns one cm model per stream of method m (MethodHybrid2
// or MethodHybrid1); sizes are the streams' lengths. The shared tables are
// sized by their total.
func newMixModels(m codec.Method, sizes []int64) ([]*model, error) {
	var n int64
	for _, s := range sizes {
		n += s
	}
	if err := checkHybrid(m); err != nil {
		return nil, err
	}
	var shared *model
	if m == codec.MethodHybrid2 {
		shared = newTables(n, &rates2)
		shared.stage = newHybridStage(shared.hb)
		shared.byConf = true
		w0 := shared.w[0]
		shared.w[0] = repeatWeights(w0[:cmInputs], 4*cmMixerSets[0]) // by c0 and conf
		releaseWeights(w0)
	} else {
		shared = newTables(n, &rates1)
		shared.stage = newHybrid1Stage()
	}
	mix := &mixState{known: make([]uint64, (n+63)/64), matchTab: shared.matchTab, matchMask: shared.matchMask}
	// The outside model starts with weight 1 in every mixer set (the cm
	// inputs with 1/4): a trained model is worth trusting from the first bit.
	for _, w := range shared.w {
		for i := cmOutside; i < len(w); i += cmInputs {
			w[i] = 1 << 16
		}
	}
	shared.hist = make([]byte, n)
	shared.histMask = math.MaxInt // no ring: the whole file
	shared.mix = mix
	ms := make([]*model, len(sizes))
	var off int64
	for i, s := range sizes {
		m := *shared // the tables are slices and pointers: shared
		m.base = int(off)
		off += s
		// A stream's own match table finds the nearest repeat in its own
		// segment first: on kennedy.xls the shared one alone did worse. At
		// most 2^16 entries: 1,024 streams then hold 256 MiB of them.
		mb := min(max(ceilLog2(s), 8), mixOwnMatchBits)
		m.matchTab = make([]uint32, 1<<mb)
		m.matchMask = 1<<mb - 1
		ms[i] = &m
	}
	return ms, nil
}

// repeatWeights returns sets copies of one set of weights, in a slice from
// weightPools if one of that length has been released there.
func repeatWeights(set []int32, sets int) []int32 {
	n := len(set) * sets
	var w []int32
	if p, ok := weightPools.Load(n); ok {
		if v, ok := p.(*sync.Pool).Get().(*[]int32); ok {
			w = *v
		}
	}
	if w == nil {
		w = make([]int32, n)
	}
	copy(w, set)
	for i := len(set); i < len(w); i *= 2 { // doubling: few long copies
		copy(w[i:], w[:i])
	}
	return w
}

// weightPools hold the released weights of hybrid stages by length, as
// table.go's pools hold tables: *[]int32 in a *sync.Pool.
var weightPools sync.Map

// releaseWeights returns weights to their pool; the caller must not use
// them again.
func releaseWeights(w []int32) {
	p, _ := weightPools.LoadOrStore(len(w), new(sync.Pool))
	p.(*sync.Pool).Put(&w)
}

// outsideConf grades how sure the outside model is of the next bit by its
// stretched P, x: 0 (|x| < 256, P within 27% … 73%) to 3 (|x| ≥ 1536, P
// beyond 0.25% … 99.75%).
func outsideConf(x int32) int {
	x = max(x, -x)
	switch {
	case x >= 1536:
		return 3
	case x >= 768:
		return 2
	case x >= 256:
		return 1
	}
	return 0
}

// refine is hybrid2's last steps. Two final mixers, one with weight sets by
// c0, conf and match state, one by c1 and conf, weigh the three first-layer
// mixers, cm's APMs on p by orders 0 and 1, the outside P and APMs on it by
// order 1, order 2 and the match state; their mean, in the logistic domain,
// is refined by APMs of orders 1 to 3 and averaged with them. Added one at
// a time on the nine Canterbury texts (large-v3, 2 streams): the APMs on
// the outside P by order 2 and match state −0.4%, the APMs after the
// mixers −0.4%, all APMs counting their updates −1.7%, the second final
// mixer −0.3%.
func (s *hybridStage) refine(m *model, p int32) int32 {
	b := hybridBit{c0: int(m.c0), o1: m.order1(), o2: int(m.c0) | m.apmO2, o3: int(m.c0) | m.apmO3,
		c1: int(m.c4 & 0xFF), q: m.outsideP, conf: m.conf, ml: m.ml, dots: m.dots}
	if m.matchBit >= 0 {
		b.ms = (1+m.matchBit)<<4 | min(m.matchLen>>2, 15)
	}
	return s.refineBit(&b, p)
}

// hybridBit is what hybridStage knows of the bit it refines.
type hybridBit struct {
	c0, o1, o2, o3 int // c0, then c0 + 256·c1, and c0 + the hashed orders 2 and 3 (<<8)
	c1             int
	q              int32 // the outside P
	ms             int   // match state: expected bit and length, 0 for none
	conf, ml       int
	dots           [cmMixers]int32 // the first-layer mixers' outputs
}

// refineBit is refine for any model that fills a hybridBit.
func (s *hybridStage) refineBit(b *hybridBit, p int32) int32 {
	c0, q, o1, o2, o3 := b.c0, b.q, b.o1, b.o2, b.o3
	a1, a2 := s.a1.refine(p, c0), s.a2.refine(p, o1)
	s.x = [hybridInputs]int32{b.dots[0], b.dots[1], b.dots[2], stretch(a1), stretch(a2),
		stretch(s.q1.refine(q, o1)), stretch(q), stretch(s.q2.refine(q, o2)), stretch(s.qm.refine(q, c0|b.ms<<8))}
	f1, f2 := &s.final[0], &s.final[1]
	f1.sel = (c0<<2 | b.conf | b.ml<<10) * hybridInputs
	f2.sel = (b.c1<<2 | b.conf) * hybridInputs
	d1 := dot(s.x[:], s.m1[f1.sel:f1.sel+hybridInputs])
	d2 := dot(s.x[:], s.m2[f2.sel:f2.sel+hybridInputs])
	f1.pr, f2.pr = squash(d1), squash(d2)
	p = min(max(squash((d1+d2)>>1), 1), 4095)
	return (p + s.f1.refine(p, o1) + s.f2.refine(p, o2) + s.f3.refine(p, o3) + 2) >> 2
}

// checkHybrid refuses a method other than hybrid2, hybrid1 and hybrid.
func checkHybrid(m codec.Method) error {
	if m != codec.MethodHybrid2 && m != codec.MethodHybrid1 && m != codec.MethodHybrid {
		return fmt.Errorf("%w: %s is not a hybrid method", codec.ErrUnsupportedMethod, m)
	}
	return nil
}

// dot is Σ x_i·w_i ×2^-16, clamped to the stretched domain.
func dot(x, w []int32) int32 {
	return int32(min(max(dotProduct(x, w)>>16, -2047), 2047))
}

func (s *hybridStage) update(_ *model, bit int) {
	for _, a := range [...]*countAPM{s.a1, s.a2, s.q1, s.q2, s.qm, s.f1, s.f2, s.f3} {
		a.update(bit)
	}
	learnFinal(s.x[:], s.m1[s.final[0].sel:], s.final[0].pr, bit)
	learnFinal(s.x[:], s.m2[s.final[1].sel:], s.final[1].pr, bit)
}

func (s *hybridStage) release() {
	for _, a := range [...]*countAPM{s.a1, s.a2, s.q1, s.q2, s.qm, s.f1, s.f2, s.f3} {
		a.release()
	}
	releaseWeights(s.m1)
	releaseWeights(s.m2)
}

// learnFinal takes a gradient step of a final mixer whose output was pr.
func learnFinal(x, w []int32, pr int32, bit int) {
	trainWeights(x, w, int32(bit)<<12-pr, finalShift)
}

// bitP is the probability, 12-bit, that the next bit of a byte whose bits so
// far are c0 (below a leading 1, k of them) is 1, under the frequency table
// whose running sums are cum (cum[s] = freqs[0] + … + freqs[s-1]).
func bitP(cum *[257]uint32, c0 uint32, k uint) int32 {
	lo := (c0 ^ 1<<k) << (8 - k)
	half := uint32(1) << (7 - k)
	n0 := cum[lo+half] - cum[lo]
	n1 := cum[lo+2*half] - cum[lo+half]
	if n0+n1 == 0 {
		return 2048
	}
	p := (n1<<12 + (n0+n1)>>1) / (n0 + n1)
	return int32(min(max(p, 1), 4095))
}

func runningSums(cum *[257]uint32, freqs []uint16) {
	for s, f := range freqs[:256] {
		cum[s+1] = cum[s] + uint32(f)
	}
}

// A mixModel is one stream's model in a hybrid method: begin starts a
// byte (finds its first slots), predictBit predicts the next bit given the
// outside model's P of it, update learns the coded bit.
type mixModel interface {
	begin()
	predictBit(q int32) int32
	update(bit int)
	coded() int // bytes coded
	last() byte // the last byte coded
	release()   // returns the tables the streams share to their pools
}

func (m *model) begin() { m.findSlots() }

func (m *model) predictBit(q int32) int32 {
	m.outsideP = q
	m.predict()
	return m.pr
}

func (m *model) coded() int { return m.pos }
func (m *model) last() byte { return byte(m.at(1)) }

// newMixStreams returns the stream models of hybrid method m with header
// flags (method hybrid: its group's profile) for streams of the given
// lengths.
func newMixStreams(m codec.Method, sizes []int64, flags uint16) ([]mixModel, error) {
	if m == codec.MethodHybrid {
		if flags&^flagProfile != 0 {
			return nil, fmt.Errorf("%w: flags %#x for a group of method %s", codec.ErrCorrupt, flags, m)
		}
		return newMix3Models(sizes, profile(flags&flagProfile)), nil
	}
	if flags != 0 {
		return nil, fmt.Errorf("%w: flags %#x for method %s", codec.ErrCorrupt, flags, m)
	}
	ms, err := newMixModels(m, sizes)
	if err != nil {
		return nil, err
	}
	out := make([]mixModel, len(ms))
	for i, s := range ms {
		out[i] = s
	}
	return out, nil
}

// MixEncoder codes B streams with method hybrid2 or hybrid1, or a group of
// method hybrid.
type MixEncoder struct {
	models []mixModel
	enc    []*entropy.BinEncoder
	cum    [257]uint32
}

// NewMixEncoder returns an encoder of method m (MethodHybrid2 or
// MethodHybrid1, or MethodHybrid for one group with its flags, HybridFlags)
// for streams of the given lengths (SplitSizes).
func NewMixEncoder(m codec.Method, sizes []int64, flags uint16) (*MixEncoder, error) {
	models, err := newMixStreams(m, sizes, flags)
	if err != nil {
		return nil, err
	}
	e := &MixEncoder{models: models, enc: make([]*entropy.BinEncoder, len(sizes))}
	for i := range e.enc {
		e.enc[i] = entropy.NewBinEncoder()
	}
	return e, nil
}

// EncodeStep codes syms[i] in stream i, the outside model's table for it
// being freqs[i*256:(i+1)*256], for i < len(syms) (the active streams).
func (e *MixEncoder) EncodeStep(freqs []uint16, syms []byte) error {
	if len(syms) > len(e.models) || len(freqs) < 256*len(syms) {
		return fmt.Errorf("%w: %d symbols, %d streams, %d table entries", entropy.ErrBadTable, len(syms), len(e.models), len(freqs))
	}
	for i, c := range syms {
		runningSums(&e.cum, freqs[i*256:(i+1)*256])
		m, enc := e.models[i], e.enc[i]
		m.begin()
		c0 := uint32(1)
		for k := uint(0); k < 8; k++ {
			bit := int(c>>(7-k)) & 1
			enc.Encode(bit, m.predictBit(bitP(&e.cum, c0, k)))
			m.update(bit)
			c0 = c0<<1 | uint32(bit)
		}
	}
	return nil
}

// Finish ends every stream and returns the payload (the streams' bytes in
// order) and the STRM section; symbols[i] is the number of bytes coded in
// stream i.
func (e *MixEncoder) Finish(symbols []int64) (payload, table []byte, err error) {
	if len(symbols) != len(e.enc) {
		return nil, nil, fmt.Errorf("cm: %d symbol counts for %d streams", len(symbols), len(e.enc))
	}
	streams := make([]entropy.Stream, len(e.enc))
	for i, enc := range e.enc {
		if symbols[i] > 0 {
			enc.Finish()
		}
		payload = append(payload, enc.Bytes()...)
		streams[i] = entropy.Stream{Symbols: symbols[i], Bytes: int64(enc.Len())}
	}
	if len(e.models) > 0 {
		e.models[0].release() // the streams share their tables and stage
	}
	e.models = nil
	return payload, entropy.AppendStreamTable(nil, streams), nil
}

// MixDecoder decodes the streams of method hybrid2 or hybrid1, or of a
// group of method hybrid.
type MixDecoder struct {
	Streams []entropy.Stream
	models  []mixModel
	dec     []*entropy.BinDecoder
	cum     [257]uint32
	left    int64 // bytes yet to decode in all streams
	err     error // once set, the models are released
}

// NewMixDecoder parses the STRM section of method m (MethodHybrid2 or
// MethodHybrid1, or MethodHybrid for one group with its flags), checks that every stream's payload can hold its bytes
// (which bounds the decoder's work by the payload), and splits the payload
// into streams.
func NewMixDecoder(m codec.Method, table, payload []byte, originalSize int64, flags uint16) (*MixDecoder, error) {
	if err := checkHybrid(m); err != nil {
		return nil, err
	}
	streams, err := entropy.ParseStreamTable(table, originalSize, int64(len(payload)))
	if err != nil {
		return nil, err
	}
	sizes := make([]int64, len(streams))
	for i, s := range streams {
		// A coded stream ends with at least one byte (BinEncoder.Finish).
		if (s.Symbols == 0) != (s.Bytes == 0) || !sizeFits(int(s.Bytes), s.Symbols) {
			return nil, fmt.Errorf("%w: stream %d: %d payload bytes cannot hold %d bytes", codec.ErrCorrupt, i, s.Bytes, s.Symbols)
		}
		sizes[i] = s.Symbols
	}
	models, err := newMixStreams(m, sizes, flags)
	if err != nil {
		return nil, err
	}
	d := &MixDecoder{Streams: streams, models: models, dec: make([]*entropy.BinDecoder, len(streams)), left: originalSize}
	off := int64(0)
	for i, s := range streams {
		d.dec[i] = entropy.NewBinDecoder(payload[off : off+s.Bytes : off+s.Bytes])
		off += s.Bytes
	}
	return d, nil
}

// DecodeStep decodes one byte of stream i into out[i], the outside model's
// table for it being freqs[i*256:(i+1)*256], for i < len(out). Once every
// byte is decoded or an error is found, it decodes no more.
func (d *MixDecoder) DecodeStep(freqs []uint16, out []byte) error {
	if d.err != nil {
		return d.err
	}
	if len(out) > len(d.models) || len(freqs) < 256*len(out) {
		return fmt.Errorf("%w: %d symbols, %d streams, %d table entries", entropy.ErrBadTable, len(out), len(d.models), len(freqs))
	}
	for i := range out {
		m, dec := d.models[i], d.dec[i]
		if int64(m.coded()) == d.Streams[i].Symbols {
			return d.stop(fmt.Errorf("%w: stream %d: more than its %d bytes asked for", codec.ErrCorrupt, i, d.Streams[i].Symbols))
		}
		runningSums(&d.cum, freqs[i*256:(i+1)*256])
		m.begin()
		c0 := uint32(1)
		for k := uint(0); k < 8; k++ {
			bit := dec.Decode(m.predictBit(bitP(&d.cum, c0, k)))
			m.update(bit)
			c0 = c0<<1 | uint32(bit)
		}
		out[i] = m.last()
		d.left--
		if s := d.Streams[i]; int64(dec.Used()) > s.Bytes {
			// Read on past its end: corrupt, whatever follows (as in cm.go).
			return d.stop(fmt.Errorf("%w: stream %d of %d payload bytes ends before its data", codec.ErrCorrupt, i, s.Bytes))
		} else if int64(m.coded()) == s.Symbols && int64(dec.Used()) != s.Bytes {
			return d.stop(fmt.Errorf("%w: stream %d has %d payload bytes, its data used %d", codec.ErrCorrupt, i, s.Bytes, dec.Used()))
		}
	}
	if d.left == 0 {
		d.stop(fmt.Errorf("%w: every stream is decoded, more asked for", codec.ErrCorrupt))
	}
	return nil
}

// stop ends the decoding with err: the models are released, and every
// later step returns err.
func (d *MixDecoder) stop(err error) error {
	d.err = err
	if len(d.models) > 0 {
		d.models[0].release() // the streams share their tables and stage
	}
	d.models = nil
	return err
}
