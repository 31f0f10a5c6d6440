package codec

import (
	"fmt"
	"math"
)

// Method hybrid codes B streams side by side, like method neural, but bit
// by bit: the cm model (cm_model.go) mixes each bit's probability under the
// outside model's byte frequency table with its own contexts, and the
// binary coder of method cm codes the bit. The streams share the cm model's
// counters, mixers and APMs, one history of the whole file (each stream
// writes its bytes where they belong) and a match table over it, so that
// what one segment teaches serves all; each keeps its own contexts and its
// own match table. FORMAT.md section 12 is the exact contract.
//
// Method hybrid1 (id 5) runs revision 1 of the cm model and one final
// mixer; method hybrid (7) runs revision 2 and the richer final stage of
// predictHybrid2. zpng makes only the latter and decodes both.

// mixState is what the streams share beyond cm's own tables and the
// history: which bytes of the history are coded yet, how many, the match
// table over the whole history, and the parts method cm lacks.
type mixState struct {
	known     []uint64 // bit q: byte q of the file is coded
	total     int
	matchTab  []uint32 // positions in the whole history, by the hash of 10.4
	matchMask uint32

	// hybrid1: an APM on the outside P by order 1 and a final mixer, 256
	// sets (by c0) × 3.
	apm3 *cmAPM
	w3   []int32

	// hybrid: APMs on the outside P by order 1, hashed order 2 and the
	// match state; two final mixers (hybrid2Inputs weights a set), and APMs
	// on their result by order 1, hashed orders 2 and 3.
	q1, q2, qm *countAPM
	m1, m2     []int32
	f1, f2, f3 *countAPM
}

// finalStep is what a final mixer remembers between predicting a bit and
// learning it: its weight set and its output.
type finalStep struct {
	sel int
	pr  int32
}

const (
	hybrid2Inputs = 9
	hybrid2Sets1  = 4096 // c0 × conf × match state
	hybrid2Sets2  = 1024 // c1 × conf
	finalShift    = 13   // the final mixers' rate, 2^-13
)

// hybrid2Init is the final mixers' starting weights, ×2^-16: the mean of
// the three first-layer mixers (as their second layer starts), and cm's
// APMs and the APMs on the outside P as revision 1 weighed them.
var hybrid2Init = [hybrid2Inputs]int32{5461, 5461, 5461, 1 << 13, 1 << 13, 1 << 14, 0, 1 << 14, 0}

// mixOwnMatchBits bounds the size of a stream's own match table.
const mixOwnMatchBits = 16

func (s *mixState) has(q int) bool { return s.known[q>>6]>>(q&63)&1 != 0 }

// newMixModels returns one cm model per stream, of revision 2 if v2;
// sizes are the streams' lengths. The shared tables are sized by their
// total.
func newMixModels(sizes []int64, v2 bool) []*cmModel {
	var n int64
	for _, s := range sizes {
		n += s
	}
	shared := newCMTables(n, v2)
	mix := &mixState{known: make([]uint64, (n+63)/64), matchTab: shared.matchTab, matchMask: shared.matchMask}
	if v2 {
		hb := shared.hb
		mix.q1, mix.q2, mix.qm = newCountAPM(1<<16), newCountAPM(1<<(hb+8)), newCountAPM(1<<14)
		mix.f1, mix.f2, mix.f3 = newCountAPM(1<<16), newCountAPM(1<<(hb+8)), newCountAPM(1<<(hb+8))
		mix.m1 = repeatWeights(hybrid2Init[:], hybrid2Sets1)
		mix.m2 = repeatWeights(hybrid2Init[:], hybrid2Sets2)
		shared.w[0] = repeatWeights(shared.w[0][:cmInputs], 4*cmMixerSets[0]) // by c0 and conf
	} else {
		// The final mixer starts as the mean of the cm model's result and
		// the APM on the outside model, in the logistic domain.
		mix.apm3 = newCMAPM(1 << 16)
		mix.w3 = repeatWeights([]int32{1 << 15, 1 << 15, 0}, 256)
	}
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
	ms := make([]*cmModel, len(sizes))
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
	return ms
}

// repeatWeights returns sets copies of one set of weights.
func repeatWeights(set []int32, sets int) []int32 {
	w := make([]int32, len(set)*sets)
	for i := 0; i < len(w); i += len(set) {
		copy(w[i:], set)
	}
	return w
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

// predictHybrid1 is hybrid1's last step: a mixer of p (the cm model's
// result), an APM on the outside P by order 1 (o1 = c0 + 256·c1), and the
// outside P itself.
// Averaging in the logistic domain lets a confident outside model pull the
// result further than a linear average would.
func (m *cmModel) predictHybrid1(p int32, o1 int) int32 {
	c0 := m.c0
	a3 := m.mix.apm3.refine(m.outsideP, o1)
	x := m.fx[:3]
	x[0], x[1], x[2] = stretch(min(max(p, 1), 4095)), stretch(a3), stretch(m.outsideP)
	f := &m.final[0]
	f.sel = int(c0&255) * 3
	f.pr = squash(dot(x, m.mix.w3[f.sel:f.sel+3]))
	return f.pr
}

// predictHybrid2 is hybrid's last steps; o1 is the order-1 context, c0 + 256·c1. Two final mixers, one with weight
// sets by c0, conf and match state, one by c1 and conf, weigh the three
// first-layer mixers, cm's APMs a1 and a2, the outside P and APMs on it by
// order 1, order 2 and the match state; their mean, in the logistic domain,
// is refined by APMs of orders 1 to 3 and averaged with them. Added one at
// a time on the nine Canterbury texts (large-v3, 2 streams): the APMs on
// the outside P by order 2 and match state −0.4%, the APMs after the
// mixers −0.4%, all APMs counting their updates −1.7%, the second final
// mixer −0.3%.
func (m *cmModel) predictHybrid2(a1, a2 int32, o1, ml int) int32 {
	mx, c0, q := m.mix, int(m.c0), m.outsideP
	o2, o3 := c0|m.apmO2, c0|m.apmO3
	ms := 0 // match state: expected bit and length
	if m.matchBit >= 0 {
		ms = (1+m.matchBit)<<4 | min(m.matchLen>>2, 15)
	}
	m.fx = [hybrid2Inputs]int32{m.dots[0], m.dots[1], m.dots[2], stretch(a1), stretch(a2),
		stretch(mx.q1.refine(q, o1)), stretch(q), stretch(mx.q2.refine(q, o2)), stretch(mx.qm.refine(q, c0|ms<<8))}
	f1, f2 := &m.final[0], &m.final[1]
	f1.sel = (c0<<2 | m.conf | ml<<10) * hybrid2Inputs
	f2.sel = (int(m.c4&0xFF)<<2 | m.conf) * hybrid2Inputs
	d1 := dot(m.fx[:], mx.m1[f1.sel:f1.sel+hybrid2Inputs])
	d2 := dot(m.fx[:], mx.m2[f2.sel:f2.sel+hybrid2Inputs])
	f1.pr, f2.pr = squash(d1), squash(d2)
	p := min(max(squash((d1+d2)>>1), 1), 4095)
	return (p + mx.f1.refine(p, o1) + mx.f2.refine(p, o2) + mx.f3.refine(p, o3) + 2) >> 2
}

// dot is Σ x_i·w_i ×2^-16, clamped to the stretched domain.
func dot(x, w []int32) int32 {
	var d int64
	for i := range x {
		d += int64(x[i]) * int64(w[i])
	}
	return int32(min(max(d>>16, -2047), 2047))
}

// update learns the hybrid's own parts from the coded bit.
func (mx *mixState) update(m *cmModel, bit int) {
	if !m.v2 {
		mx.apm3.update(bit, 7)
		// A slow rate: on alice29.txt a faster one (2^-10) did worse than
		// fixed weights; 2^-13 did 1% better.
		learnFinal(m.fx[:3], mx.w3[m.final[0].sel:], m.final[0].pr, bit)
		return
	}
	for _, a := range [...]*countAPM{mx.q1, mx.q2, mx.qm, mx.f1, mx.f2, mx.f3} {
		a.update(bit)
	}
	learnFinal(m.fx[:], mx.m1[m.final[0].sel:], m.final[0].pr, bit)
	learnFinal(m.fx[:], mx.m2[m.final[1].sel:], m.final[1].pr, bit)
}

// learnFinal takes a gradient step of a final mixer whose output was pr.
func learnFinal(x, w []int32, pr int32, bit int) {
	err := int32(bit)<<12 - pr
	for i := range x {
		w[i] = min(max(w[i]+(x[i]*err+1<<(finalShift-1))>>finalShift, -cmMaxWeight), cmMaxWeight)
	}
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

// MixEncoder codes B streams with method hybrid.
type MixEncoder struct {
	models []*cmModel
	enc    []binEncoder
	cum    [257]uint32
}

// NewMixEncoder returns an encoder of method m (MethodHybrid or
// MethodHybrid1) for streams of the given lengths (SplitSizes).
func NewMixEncoder(m Method, sizes []int64) (*MixEncoder, error) {
	v2, err := hybridRevision(m)
	if err != nil {
		return nil, err
	}
	e := &MixEncoder{models: newMixModels(sizes, v2), enc: make([]binEncoder, len(sizes))}
	for i := range e.enc {
		e.enc[i] = *newBinEncoder()
	}
	return e, nil
}

// hybridRevision says whether method m runs revision 2 of the cm model.
func hybridRevision(m Method) (v2 bool, err error) {
	switch m {
	case MethodHybrid:
		return true, nil
	case MethodHybrid1:
		return false, nil
	}
	return false, fmt.Errorf("%w: %s is not a hybrid method", ErrUnsupportedMethod, m)
}

// EncodeStep codes syms[i] in stream i, the outside model's table for it
// being freqs[i*256:(i+1)*256], for i < len(syms) (the active streams).
func (e *MixEncoder) EncodeStep(freqs []uint16, syms []byte) error {
	if len(syms) > len(e.models) || len(freqs) < 256*len(syms) {
		return fmt.Errorf("%w: %d symbols, %d streams, %d table entries", ErrBadTable, len(syms), len(e.models), len(freqs))
	}
	for i, c := range syms {
		runningSums(&e.cum, freqs[i*256:(i+1)*256])
		m, enc := e.models[i], &e.enc[i]
		m.findSlots()
		for k := uint(0); k < 8; k++ {
			bit := int(c>>(7-k)) & 1
			m.outsideP = bitP(&e.cum, m.c0, k)
			m.predict()
			enc.encode(bit, m.pr)
			m.update(bit)
		}
	}
	return nil
}

// Finish ends every stream and returns the payload (the streams' bytes in
// order) and the STRM section; symbols[i] is the number of bytes coded in
// stream i.
func (e *MixEncoder) Finish(symbols []int64) (payload, table []byte, err error) {
	if len(symbols) != len(e.enc) {
		return nil, nil, fmt.Errorf("codec: %d symbol counts for %d streams", len(symbols), len(e.enc))
	}
	streams := make([]Stream, len(e.enc))
	for i := range e.enc {
		if symbols[i] > 0 {
			e.enc[i].finish()
		}
		payload = append(payload, e.enc[i].out...)
		streams[i] = Stream{Symbols: symbols[i], Bytes: int64(len(e.enc[i].out))}
	}
	e.models = nil
	return payload, AppendStreamTable(nil, streams), nil
}

// MixDecoder decodes the streams of method hybrid.
type MixDecoder struct {
	Streams []Stream
	models  []*cmModel
	dec     []*binDecoder
	cum     [257]uint32
}

// NewMixDecoder parses the STRM section of method m (MethodHybrid or
// MethodHybrid1), checks that every stream's payload can hold its bytes
// (which bounds the decoder's work by the payload), and splits the payload
// into streams.
func NewMixDecoder(m Method, table, payload []byte, originalSize int64) (*MixDecoder, error) {
	v2, err := hybridRevision(m)
	if err != nil {
		return nil, err
	}
	streams, err := ParseStreamTable(table, originalSize, int64(len(payload)))
	if err != nil {
		return nil, err
	}
	sizes := make([]int64, len(streams))
	for i, s := range streams {
		// A coded stream ends with at least one byte (binEncoder.finish).
		if (s.Symbols == 0) != (s.Bytes == 0) || !cmSizeFits(int(s.Bytes), s.Symbols) {
			return nil, fmt.Errorf("%w: stream %d: %d payload bytes cannot hold %d bytes", ErrCorrupt, i, s.Bytes, s.Symbols)
		}
		sizes[i] = s.Symbols
	}
	d := &MixDecoder{Streams: streams, models: newMixModels(sizes, v2), dec: make([]*binDecoder, len(streams))}
	off := int64(0)
	for i, s := range streams {
		d.dec[i] = newBinDecoder(payload[off : off+s.Bytes : off+s.Bytes])
		off += s.Bytes
	}
	return d, nil
}

// DecodeStep decodes one byte of stream i into out[i], the outside model's
// table for it being freqs[i*256:(i+1)*256], for i < len(out).
func (d *MixDecoder) DecodeStep(freqs []uint16, out []byte) error {
	if len(out) > len(d.models) || len(freqs) < 256*len(out) {
		return fmt.Errorf("%w: %d symbols, %d streams, %d table entries", ErrBadTable, len(out), len(d.models), len(freqs))
	}
	for i := range out {
		m, dec := d.models[i], d.dec[i]
		if int64(m.pos) == d.Streams[i].Symbols {
			return fmt.Errorf("%w: stream %d: more than its %d bytes asked for", ErrCorrupt, i, d.Streams[i].Symbols)
		}
		runningSums(&d.cum, freqs[i*256:(i+1)*256])
		m.findSlots()
		for k := uint(0); k < 8; k++ {
			m.outsideP = bitP(&d.cum, m.c0, k)
			m.predict()
			m.update(dec.decode(m.pr))
		}
		out[i] = byte(m.at(1))
		// The encoder's last byte is read as the decoder's fourth-last.
		if int64(m.pos) == d.Streams[i].Symbols && dec.pos != len(dec.in)+3 {
			return fmt.Errorf("%w: stream %d has %d payload bytes, its data used %d", ErrCorrupt, i, len(dec.in), dec.pos-3)
		}
	}
	return nil
}
