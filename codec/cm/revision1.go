package cm

// Revision 1 of the model, run by methods cm1 (id 4) and hybrid1 (5), which
// zpng decodes but does not make: its mixers learn at rates1, and its
// last steps refine p with APMs that move by a fixed fraction of their
// error (apm).

// rates1 are revision 1's mixer rates.
var rates1 = rates{first: [3]int32{14, 9, 6}, second: 2, shift: 10}

// An apm (adaptive probability map) refines a probability p in a context
// by a curve of 33 points over stretch(p), interpolated; an update moves the
// point nearer p by 2^-rate of its error.
type apm struct {
	*table[uint16]
	idx int // the point nearer p, refined last
	j   int // its place in the curve
}

func newAPM(contexts int) *apm {
	return &apm{table: newAPMTable[uint16](contexts)}
}

// refine interpolates the context's curve at stretch(p) and remembers the
// nearer point for update.
func (a *apm) refine(p int32, cx int) int32 {
	s := stretch(p) + 2048
	lo, w := s>>7, s&127
	base := cx*33 + int(lo)
	a.idx, a.j = base+int(w>>6), int(lo+w>>6)
	v0 := int32(uint32(a.t[base]) ^ apmStart[lo])
	v1 := int32(uint32(a.t[base+1]) ^ apmStart[lo+1])
	return (v0*(128-w) + v1*w) >> 11
}

func (a *apm) update(bit int, rate uint) {
	start := apmStart[a.j]
	v := int32(uint32(a.t[a.idx]) ^ start)
	v += (int32(bit)*65535 - v) >> rate
	a.t[a.idx] = uint16(uint32(v) ^ start)
	a.touch(a.idx)
}

// cm1Stage is the last step of method cm1: APMs on p by order 0 and
// order 1, averaged with p weighing 2.
type cm1Stage struct{ a1, a2 *apm }

func newCM1Stage() *cm1Stage { return &cm1Stage{newAPM(256), newAPM(1 << 16)} }

func (s *cm1Stage) refine(m *model, p int32) int32 {
	a1 := s.a1.refine(p, int(m.c0))
	a2 := s.a2.refine(p, m.order1())
	return (2*p + a1 + a2 + 2) >> 2
}

func (s *cm1Stage) update(_ *model, bit int) {
	s.a1.update(bit, 7)
	s.a2.update(bit, 7)
}

func (s *cm1Stage) release() {
	s.a1.release()
	s.a2.release()
}

// hybrid1Stage is the last step of method hybrid1: cm1's, then a final
// mixer of its result, an APM on the outside P by order 1, and the outside
// P itself, with 256 weight sets (by c0). Averaging in the logistic domain
// lets a confident outside model pull the result further than a linear
// average would.
type hybrid1Stage struct {
	cm1Stage
	a3    *apm
	w     []int32
	x     [3]int32 // the final mixer's inputs
	final finalStep
}

func newHybrid1Stage() *hybrid1Stage {
	// The final mixer starts as the mean of the cm model's result and the
	// APM on the outside model, in the logistic domain.
	return &hybrid1Stage{
		cm1Stage: *newCM1Stage(),
		a3:       newAPM(1 << 16),
		w:        repeatWeights([]int32{1 << 15, 1 << 15, 0}, 256),
	}
}

func (s *hybrid1Stage) refine(m *model, p int32) int32 {
	p = s.cm1Stage.refine(m, p)
	a3 := s.a3.refine(m.outsideP, m.order1())
	s.x = [3]int32{stretch(min(max(p, 1), 4095)), stretch(a3), stretch(m.outsideP)}
	f := &s.final
	f.sel = int(m.c0&255) * 3
	f.pr = squash(dot(s.x[:], s.w[f.sel:f.sel+3]))
	return f.pr
}

func (s *hybrid1Stage) update(m *model, bit int) {
	s.cm1Stage.update(m, bit)
	s.a3.update(bit, 7)
	// A slow rate: on alice29.txt a faster one (2^-10) did worse than fixed
	// weights; 2^-13 did 1% better.
	learnFinal(s.x[:], s.w[s.final.sel:], s.final.pr, bit)
}

func (s *hybrid1Stage) release() {
	s.cm1Stage.release()
	s.a3.release()
}
