package cm

import "math"

// A group of method hybrid (id 10) codes its streams as method hybrid2
// does (mix.go), but with revision 3 of the cm model (model3.go): its ten
// hashed contexts of the group's profile, its record and match models, and
// the outside model's stretched P as one more mixer input. The last step
// is hybrid2's (hybridStage). FORMAT.md section 15 is the exact contract.

// r3MixInputs are the mixers' inputs: revision 3's and the outside P.
const r3MixInputs = r3Inputs + 1

// mix3Shared is what the streams of a group share beyond the tables their
// model3 copies point at: the history's coded bytes, the match table over
// the whole history, the mixers and the last step.
type mix3Shared struct {
	mix   mixState
	w     [r3Mixers][]int32 // per mixer: sets × r3MixInputs weights
	w2    []int32           // the second layer: 8 sets × r3Mixers
	stage *hybridStage
}

// mix3Model is one stream of a group. Its model3 holds the stream's own
// contexts, record and match state and own match table; its tables (t0,
// t1, the hashed tables) and hist are the group's.
type mix3Model struct {
	model3
	base  int // where the stream's bytes start in hist
	sh    *mix3Shared
	x     [r3MixInputs]int32
	conf  int
	ml    int
	apmO3 int // c0 + this: the hashed order-3 context of the last step
	bit   hybridBit
}

// HybridFlags returns the flags of a group of method hybrid that codes
// src: the profile Flags would choose; the x86 filter is not part of it.
func HybridFlags(src []byte) uint16 { return uint16(chooseProfile(src)) }

// mix3Sets is the number of weight sets of each first-layer mixer: mixer 0
// by c0 and conf, mixer 1 by the top 6 bits of c1 and conf, mixer 2 as
// revision 3's.
var mix3Sets = [r3Mixers]int{1024, 256, 256}

// newMix3Models returns the stream models of a group of method hybrid
// whose streams have the given lengths, for profile prof.
func newMix3Models(sizes []int64, prof profile) []mixModel {
	var n int64
	for _, s := range sizes {
		n += s
	}
	shared := newModel3Tables(n, prof)
	sh := &mix3Shared{
		mix:   mixState{known: make([]uint64, (n+63)/64), matchTab: shared.matchTab, matchMask: shared.matchMask},
		w2:    shared.w2,
		stage: newHybridStage(shared.hb),
	}
	for k := range sh.w {
		sh.w[k] = make([]int32, mix3Sets[k]*r3MixInputs)
		for j := range sh.w[k] {
			sh.w[k][j] = 1 << 14
			if j%r3MixInputs == r3Inputs {
				// A trained network is worth trusting from the first bit.
				sh.w[k][j] = 1 << 16
			}
		}
	}
	shared.hist = make([]byte, n)
	shared.histMask = math.MaxInt // no ring: the whole group
	ms := make([]mixModel, len(sizes))
	var off int64
	for i, s := range sizes {
		m := &mix3Model{model3: *shared, base: int(off), sh: sh}
		off += s
		mb := min(max(ceilLog2(s), 8), mixOwnMatchBits)
		m.matchTab = make([]uint32, 1<<mb)
		m.matchMask = 1<<mb - 1
		ms[i] = m
	}
	return ms
}

// newModel3Tables is newModel3 without its first prediction: tables sized
// for n bytes, which the caller gives a history.
func newModel3Tables(n int64, prof profile) *model3 {
	m := &model3{c0: 1, matchBit: -1, prof: prof, hb: hashBits(n)}
	m.slotBits = min(max(ceilLog2(n)-3, cmMinSlotBits), cmMaxSlotBits)
	for i := range m.tabs {
		m.tabs[i] = newSlotTable(m.slotBits) // lookupSlots touches what it finds
	}
	mb := min(max(ceilLog2(n), 8), cmMaxMatchBits)
	m.matchTab = make([]uint32, 1<<mb)
	m.matchMask = 1<<mb - 1
	m.t0 = make([]uint32, 256)
	m.t1 = make([]uint32, 1<<16) // not pooled: setContexts3 does not touch its rows
	m.w2 = make([]int32, 8*r3Mixers)
	for j := range m.w2 {
		m.w2[j] = 65536 / r3Mixers
	}
	for i := range m.lastPos {
		m.lastPos[i] = -1
	}
	return m
}

func (m *mix3Model) begin() {
	if m.pos == 0 {
		m.setContexts3()
	}
	m.findSlots()
}

func (m *mix3Model) coded() int { return m.pos }

// release returns the group's pooled tables, which every stream of the
// group shares: the caller releases one stream only.
func (m *mix3Model) release() {
	for _, t := range m.tabs {
		t.release()
	}
	m.sh.stage.release()
}
func (m *mix3Model) last() byte { return byte(m.at3(1)) }

// at3 is the byte back bytes before the stream's next, 0 before its start.
func (m *mix3Model) at3(back int) uint32 {
	if back > m.pos {
		return 0
	}
	return uint32(m.hist[m.base+m.pos-back])
}

// setContexts3 is model3.setContexts for a stream of the group, whose
// bytes lie in the group's history from base on.
func (m *mix3Model) setContexts3() {
	var above, above2 uint32
	if m.rlen > 0 {
		above, above2 = m.at3(m.rlen), m.at3(2*m.rlen)
	}
	m.hashContexts(above, above2)
	m.apmO2, m.apmO3 = orderHash(m.c4, 2, m.hb)<<8, orderHash(m.c4, 3, m.hb)<<8
}

// predictBit mixes revision 3's inputs and the outside P q, and refines
// the result as hybrid2 does.
func (m *mix3Model) predictBit(q int32) int32 {
	m.inputs3()
	x := &m.x
	copy(x[:r3Inputs], m.model3.x[:])
	x[r3Inputs] = stretch(q)
	m.conf = outsideConf(x[r3Inputs])
	m.ml = 0
	if m.matchBit >= 0 {
		m.ml = 1 + min(m.matchLen>>4, 2)
	}
	rc := 0
	if m.rconf >= 4 {
		rc = 1
	}
	c0, c1 := int(m.c0), int(m.c4&0xFF)
	m.wsel[0] = c0 | m.conf<<8
	m.wsel[1] = c1>>2 | m.conf<<6
	m.wsel[2] = ((m.ml<<1|rc)<<3|int(m.bitPos))<<2 | m.pos&3
	for k, w := range m.sh.w {
		dot := dotProduct(x[:], w[m.wsel[k]*r3MixInputs:])
		d := min(max(int32(dot>>16), -2047), 2047)
		m.dots[k] = d
		m.pm[k] = squash(d)
	}
	m.w2sel = int(m.bitPos) * r3Mixers
	var sum2 int64
	for k := range m.dots {
		sum2 += int64(m.dots[k]) * int64(m.w2[m.w2sel+k])
	}
	m.pr2 = squash(min(max(int32(sum2>>16), -2047), 2047))

	b := &m.bit
	*b = hybridBit{c0: c0, o1: c0 | c1<<8, o2: c0 | m.apmO2, o3: c0 | m.apmO3,
		c1: c1, q: q, conf: m.conf, ml: m.ml, dots: m.dots}
	if m.matchBit >= 0 {
		b.ms = (1+m.matchBit)<<4 | min(m.matchLen>>2, 15)
	}
	m.pr = min(max(m.sh.stage.refineBit(b, m.pr2), 1), 4095)
	return m.pr
}

// update learns the coded bit; the next byte's slots are found when it
// begins, as other streams may change the tables before. As revision 3
// does, it moves the contexts on first and starts the loads of what the
// next bit reads, then learns, so that those misses overlap the learning.
func (m *mix3Model) update(bit int) {
	lr := rates2.firstRate(m.sh.mix.total) // by the bytes the shared mixers have learnt from
	matched := m.matchBit >= 0
	if m.shiftBit(bit) {
		m.endByte3(byte(m.c0))
		m.c0, m.bitPos = 1, 0
	}
	nibble := m.bitPos == 4
	if m.bitPos != 0 {
		m.prefetchNext3(nibble)
	}
	m.learn3(bit, lr, matched)
	if nibble {
		m.findSlots()
	}
}

// prefetchNext3 starts the loads of the next bit's APM curves and, at a
// nibble, of the slots findSlots will probe.
func (m *mix3Model) prefetchNext3(nibble bool) {
	if nibble {
		prefetchSlots(m.tabs[:], m.ctx[:], m.c0, m.slotBits)
	}
	s := m.sh.stage
	c0 := int(m.c0)
	o1 := c0 | int(m.c4&0xFF)<<8
	s.a2.prefetchRow(o1)
	s.q1.prefetchRow(o1)
	s.f1.prefetchRow(o1)
	s.q2.prefetchRow(c0 | m.apmO2)
	s.f2.prefetchRow(c0 | m.apmO2)
	s.f3.prefetchRow(c0 | m.apmO3)
}

// learn3 updates the counters (the match counter if the bit had a match),
// the mixers at rate lr and the last step by the coded bit.
func (m *mix3Model) learn3(bit int, lr int32, matched bool) {
	counterUpdate(m.ctr[0], bit, cmLimitLow)
	counterUpdate(m.ctr[1], bit, cmLimitLow)
	for i := 2; i < len(m.ctr); i++ {
		counterUpdate(m.ctr[i], bit, cmLimitHigh)
	}
	if matched {
		counterUpdate(m.matchCtr, bit, 1023)
	}
	lr2, shift := rates2.second, rates2.shift
	x := &m.x
	for k, w := range m.sh.w {
		err := (int32(bit)<<12 - m.pm[k]) * lr
		if err == 0 {
			continue
		}
		trainWeights(x[:], w[m.wsel[k]*r3MixInputs:], err, shift)
	}
	err2 := (int32(bit)<<12 - m.pr2) * lr2
	w2 := m.w2[m.w2sel : m.w2sel+r3Mixers]
	for k := range w2 {
		w2[k] = min(max(w2[k]+(m.dots[k]*err2+1<<(shift-1))>>shift, -cmMaxWeight), cmMaxWeight)
	}
	m.sh.stage.update(nil, bit)
}

// endByte3 is model3.endByte for a stream of the group: the byte goes to
// its place in the group's history, and matches are sought in the
// stream's own table, then in the group's.
func (m *mix3Model) endByte3(c byte) {
	p := m.pos
	a := m.base + p
	m.hist[a] = c
	sh := &m.sh.mix
	sh.known[a>>6] |= 1 << (a & 63)
	sh.total++
	m.pos++
	m.c8 = m.c8<<8 | m.c4>>24
	m.c4 = m.c4<<8 | uint32(c)

	m.learnByte(c, p)

	if m.matchLen > 0 {
		m.matchLen = min(m.matchLen+1, 65535)
		m.matchPtr++
		if !sh.has(m.matchPtr) {
			m.matchLen = 0 // another stream has not coded that far yet
		}
	}
	next := a + 1
	if m.pos >= cmMinMatch {
		h := uint32((uint64(m.c4)<<16 | uint64(m.c8&0xFFFF)) * 0x9E3779B97F4A7C15 >> 40)
		if m.matchLen == 0 && !m.tryMatch3(int(m.matchTab[h&m.matchMask]), next) {
			m.tryMatch3(int(sh.matchTab[h&sh.matchMask]), next)
		}
		m.matchTab[h&m.matchMask] = uint32(next)
		sh.matchTab[h&sh.matchMask] = uint32(next)
	}
	m.setContexts3()
}

// tryMatch3 starts a match at cand, a position in the group's history
// that once followed the same hashed bytes as a, the position of the
// stream's next byte, if at least cmMinMatch coded bytes before both agree
// and the byte at cand is coded.
func (m *mix3Model) tryMatch3(cand, a int) bool {
	if cand <= 0 || a-cand >= len(m.hist) {
		return false
	}
	sh := &m.sh.mix
	l := 0
	for l < cmMaxCheck && l < cand && l < m.pos && a-cand+l < len(m.hist) &&
		sh.has(cand-1-l) && m.hist[cand-1-l] == m.hist[a-1-l] {
		l++
	}
	if l < cmMinMatch || !sh.has(cand) {
		return false
	}
	m.matchLen, m.matchPtr = l, cand
	return true
}
