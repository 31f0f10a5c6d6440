package cm

import (
	"unsafe"

	"zpng/codec"
)

// The model predicts each bit of the input, most significant bit first,
// from the bytes before it. FORMAT.md section 10 is the exact contract;
// encoder and decoder run this same code. Its counters, contexts, match
// model and mixers are common to all four methods; the mixers' learning
// rates are those of the model's revision (rates), and its last step, which
// refines the mixers' prediction, is the method's own (stage): cm and
// hybrid2 run revision 2, whose APMs learn fast at first (countAPM); cm1 and
// hybrid1 run revision 1 (revision1.go), which zpng decodes but does not
// make.

const (
	cmHashed   = 8                        // hashed context models
	cmInputs   = 2 + cmHashed + 2 + 1 + 1 // direct orders 0, 1; hashed; match (2); bias; outside model
	cmOutside  = cmInputs - 1             // the outside model's input (methods hybrid2, hybrid1)
	cmMixers   = 3
	cmMinMatch = 6 // bytes hashed to find a match
	cmMaxCheck = 64

	cmMaxSlotBits  = 18 // 2^18 slots of 64 bytes: 16 MiB per hashed model
	cmMinSlotBits  = 10
	cmMaxHistBits  = 24 // 16 MiB of history
	cmMaxMatchBits = 22

	cmCounterInit = 0 // a counter of value 0 holds p = 1/2, n = 0
)

// A counter is a probability and a count in a uint32: bits 31…10 hold
// p22 XOR 2^21, where p22 = P(1)·2^22, and bits 9…0 the count n, so that
// zeroed memory holds fresh counters (p = 1/2, n = 0).

// cmRate[n] = floor(2^17 / (2n + 3)): a counter moves by 1/(n + 1.5) of
// its error, so it first averages and then, at its limit, follows.
var cmRate = func() (t [1024]int64) {
	for n := range t {
		t[n] = (1 << 17) / int64(2*n+3)
	}
	return t
}()

func counterP(c uint32) int32 { return int32((c>>10)^(1<<21)) >> 10 }

func counterUpdate(c *uint32, bit int, limit uint32) {
	v := *c
	n := v & 1023
	p := int64((v >> 10) ^ (1 << 21))
	target := int64(bit) * (1<<22 - 1)
	p += (target - p) * cmRate[n] >> 16
	if n < limit {
		n++
	}
	*c = (uint32(p)^(1<<21))<<10 | n
}

// A slot holds one nibble's counters of one hashed context: word 0 is a
// 16-bit check (high half) and a use count (low half), words 1…15 the
// counters of the nibble's bit tree (1, then 2–3, 4–7, 8–15).
type slot [16]uint32

// A countAPM (adaptive probability map) refines a probability p in a
// context by a curve of 33 points over stretch(p), interpolated. Each point
// also counts its updates, n, and moves by 1/(n + 1.5) of its error until n
// reaches a limit, so that a context's curve is learnt from its first few
// bits rather than over hundreds; and an update moves both points around p.
type countAPM struct {
	*table[uint32]
	idx int // the point below p, refined last
	lo  int // its place in the curve
}

// apmLimit bounds the counts of countAPM: its rate ends at 1/61.5. On the
// Canterbury texts 30, 60 and 255 did within 0.05% of each other.
const apmLimit = 60

func newCountAPM(contexts int) *countAPM {
	return &countAPM{table: newAPMTable[uint32](contexts)}
}

func (a *countAPM) refine(p int32, cx int) int32 {
	s := stretch(p) + 2048
	lo, w := s>>7, s&127
	a.idx, a.lo = cx*33+int(lo), int(lo)
	v0 := int32((a.t[a.idx] ^ apmStart[lo]) & 0xFFFF)
	v1 := int32((a.t[a.idx+1] ^ apmStart[lo+1]) & 0xFFFF)
	return (v0*(128-w) + v1*w) >> 11
}

// prefetchRow starts loading the curve of context cx, which a refine of
// the next bit reads.
func (a *countAPM) prefetchRow(cx int) {
	row := a.t[cx*33 : cx*33+33] // 132 bytes from a multiple of 4: 3 lines
	prefetch3(unsafe.Pointer(&row[0]))
}

func (a *countAPM) update(bit int) {
	target := int64(bit) * 65535
	for k := range 2 {
		i, start := a.idx+k, apmStart[a.lo+k]
		v, n := int64((a.t[i]^start)&0xFFFF), a.t[i]>>16
		v += (target - v) * cmRate[n] >> 17
		a.t[i] = uint32(v) ^ start | min(n+1, apmLimit)<<16
	}
	a.touch(a.idx)
	a.touch(a.idx + 1)
}

// hashBits is the number of hash bits of an order-2 or order-3 APM context
// for an input of n bytes: with c0, 2^(bits + 8) contexts, 2^16 to 2^18
// (fewer cost the Canterbury files under 32 KiB 0.3 to 0.6%).
func hashBits(n int64) uint {
	return min(max(ceilLog2(n), 16), 18) - 8
}

// orderHash hashes the last k bytes (k = 2 or 3, in c4's low bytes) to bits bits.
func orderHash(c4 uint32, k, bits uint) int {
	return int((c4 & (1<<(8*k) - 1)) * 0x9E3779B1 >> (32 - bits))
}

type model struct {
	// history
	hist     []byte
	histMask int
	base     int    // where this model's bytes start in hist: 0, or a hybrid stream's offset
	pos      int    // bytes seen
	c0       uint32 // 1, then the bits of the current byte below a leading 1
	bitPos   uint   // bits of the current byte seen
	c4, c8   uint32 // the last 8 bytes, most recent in the low byte of c4
	word     uint32 // hash of the current word, 0 between words
	prevWord uint32

	// record detection
	lastPos  [256]int
	lastDist [256]int
	rlen     int
	rconf    int

	// counters
	t0       []uint32 // 256
	t1       []uint32 // 65536, t1Tab's
	t1Tab    *table[uint32]
	tabs     [cmHashed]*table[slot]
	slotBits uint
	ctx      [cmHashed]uint64 // context hashes, set at each byte boundary
	slots    [cmHashed]*slot
	ctr      [cmHashed + 2]*uint32

	// match model
	matchTab  []uint32
	matchMask uint32
	matchPtr  int
	matchLen  int
	matchBit  int // expected bit, or −1 for none
	matchSM   [64]uint32
	matchCtr  *uint32

	// mixers
	x     [cmInputs]int32
	w     [][]int32 // per mixer: sets × cmInputs weights
	wsel  [cmMixers]int
	dots  [cmMixers]int32
	pm    [cmMixers]int32
	w2    []int32 // final mixer: 8 sets × cmMixers
	w2sel int
	dot2  int32
	pr2   int32
	ml    int    // match level of the weight sets: 0 (none), 1 … 3 by length
	rates *rates // the mixers' learning rates

	stage stage
	pr    int32 // final prediction
	hb    uint  // hash bits of the order-2 and order-3 APM contexts
	// c0 + these: the hashed order-2 and order-3 APM contexts of revision
	// 2's stages, set with the byte's other contexts
	apmO2, apmO3 int

	// Methods hybrid2 and hybrid1 (mix.go), when mix is set: another model's
	// prediction of each bit is one more input of the mixers and of the
	// stage's final mixers.
	mix      *mixState
	outsideP int32 // 12-bit P(1) of the next bit, set before predict
	byConf   bool  // method hybrid2: mixers 0 and 1 choose weight sets by conf too
	conf     int   // how sure the outside model is of this bit: 0 … 3
}

// A stage is the model's last step, one for each method: refine turns the
// mixers' prediction p into the model's, and update learns from the coded
// bit. A hybrid's streams share one stage, whose state between predicting
// a bit and learning it is that bit's.
type stage interface {
	refine(m *model, p int32) int32
	update(m *model, bit int)
	release() // returns its tables to their pools (apmtable.go)
}

// cmStage is the last step of method cm: countAPMs on p by order 0, order 1
// and hashed order 2, averaged with p.
type cmStage struct{ a1, a2, a3 *countAPM }

func newCMStage(hb uint) *cmStage {
	return &cmStage{newCountAPM(256), newCountAPM(1 << 16), newCountAPM(1 << (hb + 8))}
}

func (s *cmStage) refine(m *model, p int32) int32 {
	c0 := int(m.c0)
	a1 := s.a1.refine(p, c0)
	a2 := s.a2.refine(p, m.order1())
	a3 := s.a3.refine(p, c0|m.apmO2)
	return (p + a1 + a2 + a3 + 2) >> 2
}

// refine3 is refine for revision 3's model, whose contexts are the same.
func (s *cmStage) refine3(m *model3, p int32) int32 {
	c0 := int(m.c0)
	a1 := s.a1.refine(p, c0)
	a2 := s.a2.refine(p, c0|int(m.c4&0xFF)<<8)
	a3 := s.a3.refine(p, c0|m.apmO2)
	return (p + a1 + a2 + a3 + 2) >> 2
}

func (s *cmStage) update(_ *model, bit int) {
	s.a1.update(bit)
	s.a2.update(bit)
	s.a3.update(bit)
}

func (s *cmStage) release() {
	s.a1.release()
	s.a2.release()
	s.a3.release()
}

// cmMixerSets is the number of weight sets of each first-layer mixer;
// method hybrid2 has 4 times as many for mixer 0 (by conf too).
var cmMixerSets = [cmMixers]int{256, 256, 256}

func ceilLog2(n int64) uint {
	b := uint(0)
	for int64(1)<<b < n {
		b++
	}
	return b
}

// newTables sizes the tables for an input of n bytes, whose mixers learn
// at rates r; they are untouched until the first lookup. The caller gives
// it a history and a stage.
func newTables(n int64, r *rates) *model {
	m := &model{c0: 1, matchBit: -1, rates: r, hb: hashBits(n)}
	m.slotBits = min(max(ceilLog2(n)-3, cmMinSlotBits), cmMaxSlotBits)
	for i := range m.tabs {
		m.tabs[i] = newSlotTable(m.slotBits)
	}
	mb := min(max(ceilLog2(n), 8), cmMaxMatchBits)
	m.matchTab = make([]uint32, 1<<mb)
	m.matchMask = 1<<mb - 1
	m.t0 = make([]uint32, 256)
	m.t1Tab = newOrder1Table()
	m.t1 = m.t1Tab.t
	m.w = make([][]int32, cmMixers)
	for i := range m.w {
		m.w[i] = newMixerWeights(cmInputs, cmMixerSets[i])
	}
	m.w2 = make([]int32, 8*cmMixers)
	for j := range m.w2 {
		m.w2[j] = 65536 / cmMixers
	}
	for i := range m.lastPos {
		m.lastPos[i] = -1
	}
	m.setContexts()
	return m
}

// newModel returns the model of method method, cm or cm1, for an input of
// n bytes, its first bit predicted.
func newModel(method codec.Method, n int64) *model {
	var m *model
	if method == codec.MethodCM1 {
		m = newTables(n, &rates1)
		m.stage = newCM1Stage()
	} else {
		m = newTables(n, &rates2)
		m.stage = newCMStage(m.hb)
	}
	hb := min(max(ceilLog2(n), 6), cmMaxHistBits)
	m.hist = make([]byte, 1<<hb) // a ring
	m.histMask = 1<<hb - 1
	m.findSlots()
	m.predict()
	return m
}

func hash2(i int, a, b uint32) uint64 {
	x := (uint64(a)<<32 | uint64(b)) * 0x9E3779B97F4A7C15
	x ^= uint64(i+1) * 0xD6E8FEB86659FD93
	x ^= x >> 29
	return x * 0xBF58476D1CE4E5B9
}

// slotHash picks a slot for a context hash and the bits of the byte so far.
func slotHash(h uint64, c0 uint32) uint64 {
	x := h + uint64(c0)*0x9E3779B97F4A7C15
	x ^= x >> 31
	x *= 0x94D049BB133111EB
	x ^= x >> 29
	return x
}

func (m *model) at(back int) uint32 {
	if back > m.pos {
		return 0
	}
	return uint32(m.hist[(m.base+m.pos-back)&m.histMask])
}

// setContexts computes the hashed contexts for the next byte.
func (m *model) setContexts() {
	c4, c8 := m.c4, m.c8
	var above, above2 uint32
	if m.rlen > 0 {
		above, above2 = m.at(m.rlen), m.at(2*m.rlen)
	}
	m.ctx[0] = hash2(0, c4&0xFFFF, 0)
	m.ctx[1] = hash2(1, c4&0xFFFFFF, 0)
	m.ctx[2] = hash2(2, c4, 0)
	m.ctx[3] = hash2(3, c4, c8&0xFFFF)
	m.ctx[4] = hash2(4, m.word, m.prevWord)
	m.ctx[5] = hash2(5, c4&0xFFFF00, 0)
	m.ctx[6] = hash2(6, uint32(m.rlen), above|above2<<8)
	m.ctx[7] = hash2(7, uint32(m.rlen), above|(c4&0xFF)<<8)
	m.t1Tab.touch(int(c4&0xFF) << 8) // the byte's row of T1
	m.apmO2, m.apmO3 = orderHash(c4, 2, m.hb)<<8, orderHash(c4, 3, m.hb)<<8
}

// findSlots looks up the slots of the current nibble.
func (m *model) findSlots() { lookupSlots(m.tabs[:], m.ctx[:], m.slots[:], m.c0, m.slotBits) }

// maxHashed bounds the hashed models of any revision (lookupSlots).
const maxHashed = 16

// lookupSlots sets slots[i] to the slot of context hash ctx[i] and the
// nibble so far (c0) in table tabs[i], each table of 2^slotBits slots. A
// slot is found by its check bits in one of two neighbours; when neither
// holds it, the less used one is replaced.
func lookupSlots(tabs []*table[slot], ctx []uint64, slots []*slot, c0 uint32, slotBits uint) {
	shift := 64 - slotBits
	var idx [maxHashed]int
	var chk, first [maxHashed]uint32
	// All loads first: they are independent, so their cache misses overlap.
	for i := range tabs {
		x := slotHash(ctx[i], c0)
		chk[i] = uint32(x) & 0xFFFF0000
		idx[i] = int(x >> shift)
		first[i] = tabs[i].t[idx[i]][0]
	}
	for i := range tabs {
		t := tabs[i].t
		j := idx[i]
		tabs[i].touch(j) // j and j^1: one chunk
		s := &t[j]
		if first[i]&0xFFFF0000 != chk[i] {
			s2 := &t[j^1]
			if s2[0]&0xFFFF0000 == chk[i] {
				s = s2
			} else {
				if s2[0]&0xFFFF < first[i]&0xFFFF {
					s = s2
				}
				*s = slot{}
				s[0] = chk[i]
			}
		}
		if s[0]&0xFFFF < 0xFFFF {
			s[0]++
		}
		slots[i] = s
	}
}

// prefetchSlots starts loading the slots that lookupSlots probes for the
// same arguments: each context's slot and its neighbour.
func prefetchSlots(tabs []*table[slot], ctx []uint64, c0 uint32, slotBits uint) {
	shift := 64 - slotBits
	for i := range tabs {
		j := slotHash(ctx[i], c0) >> shift
		prefetch2(unsafe.Pointer(&tabs[i].t[j&^1])) // j and j^1: 128 bytes
	}
}

// predict sets m.pr, the probability that the next bit is 1.
func (m *model) predict() {
	c0 := m.c0
	j := c0
	if m.bitPos >= 4 {
		j = c0&(1<<(m.bitPos-4)-1) | 1<<(m.bitPos-4)
	}
	x := &m.x
	m.ctr[0] = &m.t0[c0&255]
	m.ctr[1] = &m.t1[(m.c4&0xFF)<<8|c0&255]
	for i := range m.slots {
		m.ctr[2+i] = &m.slots[i][j&15]
	}
	for i, c := range m.ctr {
		x[i] = stretch(counterP(*c))
	}

	// match model
	const mi = cmInputs - 4
	m.matchBit = -1
	x[mi], x[mi+1] = 0, 0
	if m.matchLen > 0 {
		eb := uint32(m.hist[m.matchPtr&m.histMask]) | 256
		if eb>>(8-m.bitPos) == c0 {
			m.matchBit = int(eb>>(7-m.bitPos)) & 1
			l := m.matchLen
			if l > 15 {
				l = 16 + min((l-16)>>3, 15)
			}
			m.matchCtr = &m.matchSM[l*2+m.matchBit]
			st := stretch(counterP(*m.matchCtr))
			x[mi] = st
			k := int32(min(m.matchLen, 32)) * 32
			if m.matchBit == 0 {
				k = -k
			}
			x[mi+1] = k
		} else {
			m.matchLen = 0
		}
	}
	x[cmOutside-1] = 256
	if m.mix != nil {
		x[cmOutside] = stretch(m.outsideP)
	}

	// mixer weight sets
	ml := 0
	if m.matchBit >= 0 {
		ml = 1 + min(m.matchLen>>4, 2)
	}
	rc := 0
	if m.rconf >= 4 {
		rc = 1
	}
	m.wsel[0] = int(c0 & 255)
	m.wsel[1] = int(m.c4 & 0xFF)
	m.wsel[2] = ((ml<<1|rc)<<3|int(m.bitPos))<<2 | m.pos&3
	m.ml = ml
	if m.byConf {
		// The weights that suit a confident outside model differ from
		// those that suit an unsure one (alice29.txt: −0.6%).
		m.conf = outsideConf(x[cmOutside])
		m.wsel[0] |= m.conf << 8
		m.wsel[1] = m.wsel[1]>>2 | m.conf<<6
	}
	for k := range m.w {
		dot := dotProduct(x[:], m.w[k][m.wsel[k]*cmInputs:])
		d := int32(dot >> 16)
		d = min(max(d, -2047), 2047)
		m.dots[k] = d
		m.pm[k] = squash(d)
	}
	m.w2sel = int(m.bitPos) * cmMixers
	var sum2 int64
	for k := range m.dots {
		sum2 += int64(m.dots[k]) * int64(m.w2[m.w2sel+k])
	}
	d2 := min(max(int32(sum2>>16), -2047), 2047)
	m.dot2 = d2
	m.pr2 = squash(d2)

	m.pr = min(max(m.stage.refine(m, m.pr2), 1), 4095)
}

// order1 is the order-1 context of the next bit: c0 + 256·c1.
func (m *model) order1() int { return int(m.c0 | (m.c4&0xFF)<<8) }

const (
	cmLimitLow  = 1023
	cmLimitHigh = 255
	cmMaxWeight = 1 << 24
)

// rates are the mixers' learning rates, which set the model's revisions
// apart: the first layer's before 4 KiB, before 64 KiB and after, and the
// second layer's, all ×2^-shift.
type rates struct {
	first  [3]int32
	second int32
	shift  int32
}

// rates2 are revision 2's rates. Revision 1's (rates1) are far higher: with
// method cm on the Canterbury corpus revision 2's first-layer rates code
// 6.6% smaller, and the second layer learning hardly at all 2% smaller
// again.
var rates2 = rates{first: [3]int32{64, 24, 10}, second: 1, shift: 14}

// firstRate is the first layer's rate once the mixers have learnt from n
// bytes.
func (r *rates) firstRate(n int) int32 {
	switch {
	case n < 4096:
		return r.first[0]
	case n < 65536:
		return r.first[1]
	}
	return r.first[2]
}

// update learns from the coded bit and predicts the next.
func (m *model) update(bit int) {
	counterUpdate(m.ctr[0], bit, cmLimitLow)
	counterUpdate(m.ctr[1], bit, cmLimitLow)
	for i := 2; i < len(m.ctr); i++ {
		counterUpdate(m.ctr[i], bit, cmLimitHigh)
	}
	if m.matchBit >= 0 {
		counterUpdate(m.matchCtr, bit, 1023)
		if m.matchBit != bit {
			m.matchLen = 0
		}
	}

	// mixers: gradient steps on coding cost
	lp := m.pos // how much the mixers have learnt
	if m.mix != nil {
		lp = m.mix.total
	}
	lr, lr2, shift := m.rates.firstRate(lp), m.rates.second, m.rates.shift
	x := &m.x
	for k := range m.w {
		err := (int32(bit)<<12 - m.pm[k]) * lr
		if err == 0 {
			continue
		}
		trainWeights(x[:], m.w[k][m.wsel[k]*cmInputs:], err, shift)
	}
	err2 := (int32(bit)<<12 - m.pr2) * lr2
	w2 := m.w2[m.w2sel : m.w2sel+cmMixers]
	for k := range w2 {
		w2[k] = min(max(w2[k]+(m.dots[k]*err2+1<<(shift-1))>>shift, -cmMaxWeight), cmMaxWeight)
	}
	m.stage.update(m, bit)

	// the byte so far
	m.c0 = m.c0<<1 | uint32(bit)
	m.bitPos++
	if m.bitPos == 8 {
		m.endByte(byte(m.c0))
		m.c0, m.bitPos = 1, 0
		if m.mix != nil {
			return // the next byte's slots are found when it begins (mix.go)
		}
		m.findSlots()
	} else if m.bitPos == 4 {
		m.findSlots()
	}
	if m.mix == nil {
		m.predict() // a hybrid model predicts once the outside P is set
	}
}

// tryMatch starts a match at cand, a position in the history that once
// followed the same 6 bytes as a, the position of the next byte: if at
// least cmMinMatch bytes before them agree (and, across hybrid streams, are
// coded, as is the byte at cand).
func (m *model) tryMatch(cand, a int) bool {
	if cand <= 0 || a-cand >= len(m.hist) {
		return false
	}
	l := 0
	for l < cmMaxCheck && l < cand && a-cand+l < len(m.hist) &&
		(m.mix == nil || l < m.pos && m.mix.has(cand-1-l)) &&
		m.hist[(cand-1-l)&m.histMask] == m.hist[(a-1-l)&m.histMask] {
		l++
	}
	if l < cmMinMatch || m.mix != nil && !m.mix.has(cand) {
		return false
	}
	m.matchLen, m.matchPtr = l, cand
	return true
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 128
}

func (m *model) endByte(c byte) {
	p := m.pos
	m.hist[(m.base+p)&m.histMask] = c
	m.pos++
	if m.mix != nil {
		m.mix.known[(m.base+p)>>6] |= 1 << ((m.base + p) & 63)
		m.mix.total++
	}
	m.c8 = m.c8<<8 | m.c4>>24
	m.c4 = m.c4<<8 | uint32(c)

	if isWordByte(c) {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		m.word = (m.word + uint32(c) + 1) * 0x2F0F4E63
	} else if m.word != 0 {
		m.prevWord, m.word = m.word, 0
	}

	// record length: a distance at which a byte value repeats twice in a row
	b := m.c4 & 0xFF
	if last := m.lastPos[b]; last >= 0 {
		d := p - last
		if d > 1 && d == m.lastDist[b] && d < 1<<16 {
			if d == m.rlen {
				m.rconf = min(m.rconf+1, 15)
			} else if m.rconf > 0 {
				m.rconf--
			} else {
				m.rlen = d
			}
		}
		m.lastDist[b] = d
	}
	m.lastPos[b] = p

	// match model
	if m.matchLen > 0 {
		m.matchLen = min(m.matchLen+1, 65535)
		m.matchPtr++
		if m.mix != nil && !m.mix.has(m.matchPtr) {
			m.matchLen = 0 // another stream has not coded that far yet
		}
	}
	a := m.base + m.pos // where the next byte goes
	if m.pos >= cmMinMatch {
		h := uint32((uint64(m.c4)<<16 | uint64(m.c8&0xFFFF)) * 0x9E3779B97F4A7C15 >> 40)
		if m.matchLen == 0 && !m.tryMatch(int(m.matchTab[h&m.matchMask]), a) && m.mix != nil {
			m.tryMatch(int(m.mix.matchTab[h&m.mix.matchMask]), a)
		}
		m.matchTab[h&m.matchMask] = uint32(a)
		if m.mix != nil {
			m.mix.matchTab[h&m.mix.matchMask] = uint32(a)
		}
	}
	m.setContexts()
}
