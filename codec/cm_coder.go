package codec

// The binary arithmetic coder of method cm and the logistic tables its
// model works in. Probabilities are 12-bit: p1 = P(bit = 1) · 4096, in
// 1 … 4095. "Stretched" values are logits scaled by 256, in −2047 … 2047.

// squashPoints[i] = round(4096 / (1 + e^(−(i−16)/2))), clamped to 1 … 4095:
// the logistic function at −8, −7.5, … 8. A committed table, so that every
// machine interpolates the same integers.
var squashPoints = [33]int32{
	1, 2, 4, 6, 10, 17, 27, 45, 74, 120, 194, 311, 488, 747, 1102, 1546,
	2048, 2550, 2994, 3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069, 4079,
	4086, 4090, 4092, 4094, 4095,
}

// squash maps a stretched value to a 12-bit probability by linear
// interpolation in squashPoints.
func squash(x int32) int32 {
	if x > 2047 {
		x = 2047
	}
	if x < -2047 {
		x = -2047
	}
	w := x & 127
	i := (x >> 7) + 16
	return (squashPoints[i]*(128-w) + squashPoints[i+1]*w + 64) >> 7
}

// stretchTable[p] is the smallest x with squash(x) ≥ p (2047 if none): the
// inverse of squash.
var stretchTable = func() (t [4096]int16) {
	pi := int32(0)
	for x := int32(-2047); x <= 2047; x++ {
		v := squash(x)
		for j := pi; j <= v; j++ {
			t[j] = int16(x)
		}
		pi = v + 1
	}
	for j := pi; j < 4096; j++ {
		t[j] = 2047
	}
	return t
}()

func stretch(p int32) int32 { return int32(stretchTable[p&4095]) }

// binEncoder is a carry-less binary arithmetic coder over a 32-bit
// interval [x1, x2]; it writes a byte whenever x1 and x2 agree in their top
// byte.
type binEncoder struct {
	x1, x2 uint32
	out    []byte
}

func newBinEncoder() *binEncoder { return &binEncoder{x2: 0xFFFFFFFF} }

// split is the last value of the bit-1 part of [x1, x2] under p1.
func split(x1, x2, p1 uint32) uint32 {
	r := x2 - x1
	return x1 + (r>>12)*p1 + ((r&0xFFF)*p1)>>12
}

func (e *binEncoder) encode(bit int, p1 int32) {
	mid := split(e.x1, e.x2, uint32(p1))
	if bit != 0 {
		e.x2 = mid
	} else {
		e.x1 = mid + 1
	}
	for (e.x1^e.x2)&0xFF000000 == 0 {
		e.out = append(e.out, byte(e.x2>>24))
		e.x1 <<= 8
		e.x2 = e.x2<<8 | 0xFF
	}
}

// finish writes one byte b such that b·2^24 lies in [x1, x2]: the top
// bytes of x1 and x2 differ, so x1 rounded up to a multiple of 2^24 does.
func (e *binEncoder) finish() {
	b := e.x1 >> 24
	if e.x1&0xFFFFFF != 0 {
		b++
	}
	e.out = append(e.out, byte(b))
}

// binDecoder mirrors binEncoder. Reads past the end of the input yield 0;
// a valid stream is read exactly 3 bytes past its end.
type binDecoder struct {
	x1, x2, x uint32
	in        []byte
	pos       int // bytes read, including those past the end
}

func newBinDecoder(in []byte) *binDecoder {
	d := &binDecoder{x2: 0xFFFFFFFF, in: in}
	for i := 0; i < 4; i++ {
		d.x = d.x<<8 | uint32(d.next())
	}
	return d
}

func (d *binDecoder) next() byte {
	d.pos++
	if d.pos <= len(d.in) {
		return d.in[d.pos-1]
	}
	return 0
}

func (d *binDecoder) decode(p1 int32) int {
	mid := split(d.x1, d.x2, uint32(p1))
	bit := 0
	if d.x <= mid {
		bit = 1
		d.x2 = mid
	} else {
		d.x1 = mid + 1
	}
	for (d.x1^d.x2)&0xFF000000 == 0 {
		d.x1 <<= 8
		d.x2 = d.x2<<8 | 0xFF
		d.x = d.x<<8 | uint32(d.next())
	}
	return bit
}
