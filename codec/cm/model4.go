package cm

// Revision 4 of the model, run by method cm (id 12; FORMAT.md 10.9). It
// keeps revision 3's contexts, profiles, record and match models and
// history (model3 holds them), and adds bit histories: every counter of a
// hashed slot also holds a state byte, a bounded summary of the bits seen
// in its context, and an adaptive map per context turns the state into a
// second prediction; orders 0 and 1 have states of their own. Direct
// counters follow a context's statistics; states say how much and how
// lately it was seen, which suits contexts seen a few times and data
// whose statistics drift. A fourth mixer chooses its weights by how many
// of the low orders have been seen, an APM refines the mix by the match
// model, and the text profile trades a record context for an indirect one
// (what followed the last two bytes the times before).

const (
	r4Hashed = r3Hashed
	// direct orders 0, 1; hashed direct; hashed states; order 0 and 1
	// states; match (2); bias
	r4Inputs   = 2 + 2*r4Hashed + 2 + 2 + 1
	r4Mixers   = 4
	r4Mixer3   = 80 // weight sets of mixer 3
	r4SlotBits = 18 // at most 2^18 slots per hashed table, as revision 3
)

type model4 struct {
	model3 // contexts, record, match and history; its mixers are unused

	sm  [r4Hashed][256]uint32 // state maps: a counter per context and state
	smc [r4Hashed]*uint32     // the state map counters of this bit

	s0, s1 []uint8        // order-0 and order-1 states: 256 and 65536
	so     [2]*uint8      // the order-0 and order-1 states of this bit
	smo    [2][256]uint32 // their state maps
	smoc   [2]*uint32

	ind []uint16 // text: the two bytes that followed each order-2 context last

	x    [r4Inputs]int32
	w    [r4Mixers][]int32
	wsel [r4Mixers]int
	dots [r4Mixers]int32
	pm   [r4Mixers]int32
	w2   []int32
	a4   *countAPM // refines P by the match model's expected bit and length
	pr   int32
}

func newModel4(n int64, prof profile) *model4 {
	m := &model4{model3: model3{c0: 1, matchBit: -1, prof: prof, hb: hashBits(n)}}
	m3 := &m.model3
	m3.slotBits = min(max(ceilLog2(n)-3, cmMinSlotBits), r4SlotBits)
	for i := range m3.tabs {
		m3.tabs[i] = newSlotTable(m3.slotBits)
	}
	mb := min(max(ceilLog2(n), 8), cmMaxMatchBits)
	m3.matchTab = make([]uint32, 1<<mb)
	m3.matchMask = 1<<mb - 1
	m3.t0 = make([]uint32, 256)
	m3.t1Tab = newOrder1Table()
	m3.t1 = m3.t1Tab.t
	m.s0, m.s1 = make([]uint8, 256), make([]uint8, 1<<16)
	if prof == profileText {
		m.ind = make([]uint16, 1<<16)
	}
	for i := range m.w {
		sets := 256
		if i == 3 {
			sets = r4Mixer3
		}
		m.w[i] = newMixerWeights(r4Inputs, sets)
	}
	m.w2 = make([]int32, 8*r4Mixers)
	for j := range m.w2 {
		m.w2[j] = 65536 / r4Mixers
	}
	for i := range m3.lastPos {
		m3.lastPos[i] = -1
	}
	hb := min(max(ceilLog2(n), 6), cmMaxHistBits)
	m3.hist = make([]byte, 1<<hb)
	m3.histMask = 1<<hb - 1
	m3.stage = newCMStage(m3.hb)
	m.a4 = newCountAPM(1 << 14)
	m3.setContexts()
	m.indirect()
	m3.findSlots()
	m.predict()
	return m
}

func (m *model4) p() int32 { return m.pr }

func (m *model4) release() {
	releaseModel(m.stage, m.tabs[:], m.t1Tab, m.w[:])
	m.a4.release()
}

// indirect sets the text profile's context 4: the bytes that followed the
// last two the times before, and the last byte.
func (m *model4) indirect() {
	if m.prof == profileText {
		m.ctx[4] = hash2(13, uint32(m.ind[m.c4&0xFFFF]), m.c4&0xFF)
	}
}

// A hashed counter of revision 4 is a uint32: bits 31…16 hold p16 XOR
// 2^15, where p16 = P(1)·2^16, bits 15…8 the bit history's state and bits
// 7…0 the count n, so that zeroed memory holds fresh counters (p = 1/2,
// state 0, n = 0).

func counter4P(c uint32) int32 { return int32((c>>16)^(1<<15)) >> 4 }

func counter4Update(c *uint32, bit int) {
	v := *c
	n := v & 255
	p := int64((v >> 16) ^ (1 << 15))
	p += (int64(bit)*(1<<16-1) - p) * cmRate[n] >> 16
	if n < cmLimitHigh {
		n++
	}
	s := uint32(stateNext[(v>>8)&255][bit])
	*c = (uint32(p)^(1<<15))<<16 | s<<8 | n
}

// inputs4 sets the mixers' inputs for the next bit.
func (m *model4) inputs4() {
	c0 := m.c0
	j := c0
	if m.bitPos >= 4 {
		j = c0&(1<<(m.bitPos-4)-1) | 1<<(m.bitPos-4)
	}
	x := &m.x
	m.ctr[0] = &m.t0[c0&255]
	m.ctr[1] = &m.t1[(m.c4&0xFF)<<8|c0&255]
	x[0] = stretch(counterP(*m.ctr[0]))
	x[1] = stretch(counterP(*m.ctr[1]))
	for i := range m.slots {
		c := &m.slots[i][j&15]
		m.ctr[2+i] = c
		x[2+i] = stretch(counter4P(*c))
		m.smc[i] = &m.sm[i][(*c>>8)&255]
		x[2+r4Hashed+i] = stretch(counterP(*m.smc[i]))
	}
	m.so[0] = &m.s0[c0&255]
	m.so[1] = &m.s1[(m.c4&0xFF)<<8|c0&255]
	for k := range m.so {
		m.smoc[k] = &m.smo[k][*m.so[k]]
		x[2+2*r4Hashed+k] = stretch(counterP(*m.smoc[k]))
	}
	const mi = r4Inputs - 3
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
	x[r4Inputs-1] = 256
}

// predict sets m.pr, the probability that the next bit is 1.
func (m *model4) predict() {
	m.inputs4()
	ml := 0
	if m.matchBit >= 0 {
		ml = 1 + min(m.matchLen>>4, 2)
	}
	rc := 0
	if m.rconf >= 4 {
		rc = 1
	}
	// Mixer 3 by how many of orders 2, 3, 4 and 6 have a history, whether
	// order 6's has seen one bit value only, and the bit position.
	seen, det := 0, 0
	for i := range 4 {
		if s := (*m.ctr[2+i] >> 8) & 255; s != 0 {
			seen++
			if i == 3 && (stateCounts[s][0] == 0 || stateCounts[s][1] == 0) {
				det = 1
			}
		}
	}
	m.wsel[0] = int(m.c0 & 255)
	m.wsel[1] = int(m.c4 & 0xFF)
	m.wsel[2] = ((ml<<1|rc)<<3|int(m.bitPos))<<2 | m.pos&3
	m.wsel[3] = (seen<<1|det)<<3 | int(m.bitPos)
	x := &m.x
	for k := range m.w {
		dot := dotProduct(x[:], m.w[k][m.wsel[k]*r4Inputs:])
		d := min(max(int32(dot>>16), -2047), 2047)
		m.dots[k] = d
		m.pm[k] = squash(d)
	}
	m.w2sel = int(m.bitPos) * r4Mixers
	var sum2 int64
	for k := range m.dots {
		sum2 += int64(m.dots[k]) * int64(m.w2[m.w2sel+k])
	}
	m.pr2 = squash(min(max(int32(sum2>>16), -2047), 2047))
	mc := 0
	if m.matchBit >= 0 {
		mc = 1 + m.matchBit + 2*min(m.matchLen, 15)
	}
	a4 := m.a4.refine(m.pr2, int(m.c0)|mc<<8)
	m.pr = min(max((3*m.stage.refine3(&m.model3, m.pr2)+a4+2)>>2, 1), 4095)
}

// update learns from the coded bit and predicts the next. The contexts
// move on first (advance), so that the loads of the next bit's slots and
// APM curves overlap the learning, which reads none of the contexts.
func (m *model4) update(bit int) {
	lr := rates2.firstRate(m.pos) // by the bytes before this bit's
	nibble := m.advance(bit)
	m.learn(bit, lr)
	if nibble {
		m.findSlots()
	}
	m.predict()
}

// advance is model3.advance with revision 4's indirect context, which
// learns the byte that followed the order-2 context before it.
func (m *model4) advance(bit int) bool {
	if m.shiftBit(bit) {
		o2 := m.c4 & 0xFFFF
		m.endByte(byte(m.c0))
		if m.ind != nil {
			m.ind[o2] = m.ind[o2]<<8 | uint16(m.c4&0xFF)
			m.indirect()
		}
		m.c0, m.bitPos = 1, 0
	}
	return m.prefetchNext()
}

// learn updates the counters, states, mixers and APMs of the coded bit,
// the first layer at rate lr.
func (m *model4) learn(bit int, lr int32) {
	counterUpdate(m.ctr[0], bit, cmLimitLow)
	counterUpdate(m.ctr[1], bit, cmLimitLow)
	for i := 2; i < len(m.ctr); i++ {
		counter4Update(m.ctr[i], bit)
	}
	for _, c := range m.smc {
		counterUpdate(c, bit, cmLimitLow)
	}
	for k, s := range m.so {
		counterUpdate(m.smoc[k], bit, cmLimitLow)
		*s = stateNext[*s][bit]
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
		trainWeights(x[:], m.w[k][m.wsel[k]*r4Inputs:], err, shift)
	}
	err2 := (int32(bit)<<12 - m.pr2) * lr2
	w2 := m.w2[m.w2sel : m.w2sel+r4Mixers]
	for k := range w2 {
		w2[k] = min(max(w2[k]+(m.dots[k]*err2+1<<(shift-1))>>shift, -cmMaxWeight), cmMaxWeight)
	}
	m.stage.update(nil, bit)
	m.a4.update(bit)
}
