package cm

// Revision 3 of the model, run by method cm (id 9; FORMAT.md 10.8). It
// shares revision 2's counters, slots, hashes and counting APMs, but not
// its context set: the encoder picks a profile from the data (text or
// binary, kept in the header flags), and each profile fills the hashed
// contexts that suit it, so that the model stays about as fast as
// revision 2 while text gets a word and a line-column context and binary
// data sparse and record-column contexts. Its last step is revision 2's.
//
// Its inputs (inputs3) are set apart from the mixing, so that a later
// hybrid can add an outside model's prediction as one more input and mix
// it again after the APMs, as hybridStage does for revision 2.

const (
	r3Hashed = 10
	r3Inputs = 2 + r3Hashed + 2 + 1 // direct orders 0, 1; hashed; match (2); bias
	r3Mixers = 3
)

// A profile chooses the hashed contexts of revision 3.
type profile uint8

const (
	profileText   profile = iota // text: word and line-column contexts
	profileBinary                // binary data: sparse and record-column contexts
)

type model3 struct {
	hist     []byte
	histMask int
	pos      int
	c0       uint32
	bitPos   uint
	c4, c8   uint32
	prof     profile

	word, prevWord uint32 // text: hashes of the current and previous word
	lineStart      int    // text: position after the last newline

	lastPos  [256]int
	lastDist [256]int
	rlen     int
	rconf    int

	t0, t1   []uint32
	t1Tab    *table[uint32] // t1's
	tabs     [r3Hashed]*table[slot]
	slotBits uint
	ctx      [r3Hashed]uint64
	slots    [r3Hashed]*slot
	ctr      [r3Hashed + 2]*uint32

	matchTab  []uint32
	matchMask uint32
	matchPtr  int
	matchLen  int
	matchBit  int
	matchSM   [64]uint32
	matchCtr  *uint32

	x     [r3Inputs]int32
	w     [r3Mixers][]int32
	wsel  [r3Mixers]int
	dots  [r3Mixers]int32
	pm    [r3Mixers]int32
	w2    []int32
	w2sel int
	pr2   int32

	stage *cmStage
	hb    uint
	apmO2 int
	pr    int32

	off uint32 // inputs switched off: measurement only (TestAblation), 0 in method cm
}

// r3MixerSets: mixer 0 by c0, mixer 1 by c1, mixer 2 by match, record
// and bit position, as revision 2. (Mixer 1 by the number of slots found
// rather than new, with the bit position, did 0.3% worse on the test set.)
var r3MixerSets = [r3Mixers]int{256, 256, 256}

func newModel3(n int64, prof profile) *model3 {
	m := &model3{c0: 1, matchBit: -1, prof: prof, hb: hashBits(n)}
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
	for i := range m.w {
		m.w[i] = newMixerWeights(r3Inputs, r3MixerSets[i])
	}
	m.w2 = make([]int32, 8*r3Mixers)
	for j := range m.w2 {
		m.w2[j] = 65536 / r3Mixers
	}
	for i := range m.lastPos {
		m.lastPos[i] = -1
	}
	hb := min(max(ceilLog2(n), 6), cmMaxHistBits)
	m.hist = make([]byte, 1<<hb)
	m.histMask = 1<<hb - 1
	m.stage = newCMStage(m.hb)
	m.setContexts()
	m.findSlots()
	m.predict()
	return m
}

func (m *model3) p() int32 { return m.pr }

// release returns the model's tables to their pools once it is done with.
func (m *model3) release() { releaseModel(m.stage, m.tabs[:], m.t1Tab, m.w[:]) }

func (m *model3) at(back int) uint32 {
	if back > m.pos {
		return 0
	}
	return uint32(m.hist[(m.pos-back)&m.histMask])
}

// learnByte updates the word, line and record state after byte c, coded
// at position p (m.pos is p+1 and c4 ends with c).
func (m *model3) learnByte(c byte, p int) {
	if m.prof == profileText {
		if isWordByte(c) {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			m.word = (m.word + uint32(c) + 1) * 0x2F0F4E63
		} else if m.word != 0 {
			m.prevWord, m.word = m.word, 0
		}
		if c == '\n' {
			m.lineStart = m.pos
		}
	}
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
}

// setContexts computes the hashed contexts for the next byte.
func (m *model3) setContexts() {
	var above, above2 uint32
	if m.rlen > 0 {
		above, above2 = m.at(m.rlen), m.at(2*m.rlen)
	}
	m.hashContexts(above, above2)
	m.apmO2 = orderHash(m.c4, 2, m.hb) << 8
	m.t1Tab.touch(int(m.c4&0xFF) << 8) // the byte's row of T1
}

// hashContexts sets the ten hashed contexts: orders 2, 3, 4 and 6 and two
// record contexts in every profile, then the profile's own; above and
// above2 are the bytes one and two records back.
func (m *model3) hashContexts(above, above2 uint32) {
	c4, c8 := m.c4, m.c8
	c := &m.ctx
	c[0] = hash2(0, c4&0xFFFF, 0)
	c[1] = hash2(1, c4&0xFFFFFF, 0)
	c[2] = hash2(2, c4, 0)
	c[3] = hash2(3, c4, c8&0xFFFF)
	c[4] = hash2(6, uint32(m.rlen), above|above2<<8)
	c[5] = hash2(7, uint32(m.rlen), above|(c4&0xFF)<<8)
	switch m.prof {
	case profileText:
		col := uint32(min(m.pos-m.lineStart, 255))
		c[6] = hash2(4, m.word, m.prevWord)
		c[7] = hash2(5, c4&0xFFFF00, 0)
		c[8] = hash2(8, m.word, c4&0xFF)
		c[9] = hash2(9, col, c4&0xFF)
	case profileBinary:
		col := uint32(0)
		if m.rlen > 0 {
			col = uint32(m.pos % m.rlen)
		}
		c[6] = hash2(5, c4&0xFFFF00, 0)
		c[7] = hash2(10, c4&0xFF00FF, 0)
		c[8] = hash2(11, col|uint32(m.rlen)<<16, above)
		c[9] = hash2(12, c4&0xFFFF0000, 0)
	}
}

// findSlots looks up the slots of the current nibble, as revision 2.
func (m *model3) findSlots() { lookupSlots(m.tabs[:], m.ctx[:], m.slots[:], m.c0, m.slotBits) }

// inputs3 sets the mixers' inputs for the next bit.
func (m *model3) inputs3() {
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
	const mi = r3Inputs - 3
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
			x[mi] = stretch(counterP(*m.matchCtr))
			k := int32(min(m.matchLen, 32)) * 32
			if m.matchBit == 0 {
				k = -k
			}
			x[mi+1] = k
		} else {
			m.matchLen = 0
		}
	}
	x[r3Inputs-1] = 256
	if m.off != 0 {
		for i := range x {
			if m.off>>i&1 != 0 {
				x[i] = 0
			}
		}
	}
}

// predict sets m.pr, the probability that the next bit is 1.
func (m *model3) predict() {
	m.inputs3()
	ml := 0
	if m.matchBit >= 0 {
		ml = 1 + min(m.matchLen>>4, 2)
	}
	rc := 0
	if m.rconf >= 4 {
		rc = 1
	}
	m.wsel[0] = int(m.c0 & 255)
	m.wsel[1] = int(m.c4 & 0xFF)
	m.wsel[2] = ((ml<<1|rc)<<3|int(m.bitPos))<<2 | m.pos&3
	x := &m.x
	for k := range m.w {
		dot := dotProduct(x[:], m.w[k][m.wsel[k]*r3Inputs:])
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
	m.pr = min(max(m.stage.refine3(m, m.pr2), 1), 4095)
}

// update learns from the coded bit and predicts the next. The contexts
// move on first (advance), so that the loads of the next bit's slots and
// APM curves overlap the learning, which reads none of the contexts.
func (m *model3) update(bit int) {
	lr := rates2.firstRate(m.pos) // by the bytes before this bit's
	nibble := m.advance(bit)
	m.learn(bit, lr)
	if nibble {
		m.findSlots()
	}
	m.predict()
}

// advance moves the contexts on by the coded bit: the byte so far, the
// match, and at the byte's end its history, record and hashed contexts.
// It reports whether a nibble begins, whose slots are to be found, and
// starts the loads of what the next bit reads (prefetchNext).
func (m *model3) advance(bit int) bool {
	if m.shiftBit(bit) {
		m.endByte(byte(m.c0))
		m.c0, m.bitPos = 1, 0
	}
	return m.prefetchNext()
}

// shiftBit adds the coded bit to the byte so far, ending the match where
// it predicted the other bit, and reports whether the byte is complete.
func (m *model3) shiftBit(bit int) bool {
	if m.matchBit >= 0 && m.matchBit != bit {
		m.matchLen = 0
	}
	m.c0 = m.c0<<1 | uint32(bit)
	m.bitPos++
	return m.bitPos == 8
}

// prefetchNext starts the loads of the APM curves of the next bit and,
// when a nibble begins, of the slots that findSlots will probe; it
// reports whether a nibble begins.
func (m *model3) prefetchNext() bool {
	nibble := m.bitPos&3 == 0
	if nibble {
		prefetchSlots(m.tabs[:], m.ctx[:], m.c0, m.slotBits)
	}
	c0 := int(m.c0)
	m.stage.a2.prefetchRow(c0 | int(m.c4&0xFF)<<8)
	m.stage.a3.prefetchRow(c0 | m.apmO2)
	return nibble
}

// learn updates the counters, mixers and APMs of the coded bit, the first
// layer at rate lr.
func (m *model3) learn(bit int, lr int32) {
	counterUpdate(m.ctr[0], bit, cmLimitLow)
	counterUpdate(m.ctr[1], bit, cmLimitLow)
	for i := 2; i < len(m.ctr); i++ {
		counterUpdate(m.ctr[i], bit, cmLimitHigh)
	}
	if m.matchBit >= 0 {
		counterUpdate(m.matchCtr, bit, 1023)
	}
	lr2, shift := rates2.second, rates2.shift
	x := &m.x
	for k := range m.w {
		err := (int32(bit)<<12 - m.pm[k]) * lr
		if err == 0 {
			continue
		}
		trainWeights(x[:], m.w[k][m.wsel[k]*r3Inputs:], err, shift)
	}
	err2 := (int32(bit)<<12 - m.pr2) * lr2
	w2 := m.w2[m.w2sel : m.w2sel+r3Mixers]
	for k := range w2 {
		w2[k] = min(max(w2[k]+(m.dots[k]*err2+1<<(shift-1))>>shift, -cmMaxWeight), cmMaxWeight)
	}
	m.stage.update(nil, bit)
}

func (m *model3) endByte(c byte) {
	p := m.pos
	m.hist[p&m.histMask] = c
	m.pos++
	m.c8 = m.c8<<8 | m.c4>>24
	m.c4 = m.c4<<8 | uint32(c)

	m.learnByte(c, p)

	if m.matchLen > 0 {
		m.matchLen = min(m.matchLen+1, 65535)
		m.matchPtr++
	}
	if m.pos >= cmMinMatch {
		h := uint32((uint64(m.c4)<<16 | uint64(m.c8&0xFFFF)) * 0x9E3779B97F4A7C15 >> 40)
		if m.matchLen == 0 {
			m.tryMatch(int(m.matchTab[h&m.matchMask]))
		}
		m.matchTab[h&m.matchMask] = uint32(m.pos)
	}
	m.setContexts()
}

// tryMatch starts a match at cand, a position that once followed the same
// hashed bytes as the next one, if at least cmMinMatch bytes before both
// agree.
func (m *model3) tryMatch(cand int) {
	a := m.pos
	if cand <= 0 || a-cand >= len(m.hist) {
		return
	}
	l := 0
	for l < cmMaxCheck && l < cand && a-cand+l < len(m.hist) &&
		m.hist[(cand-1-l)&m.histMask] == m.hist[(a-1-l)&m.histMask] {
		l++
	}
	if l >= cmMinMatch {
		m.matchLen, m.matchPtr = l, cand
	}
}
