package cm

// The model works in 12-bit probabilities, p1 = P(bit = 1) · 4096 in
// 1 … 4095, and in the logistic domain: "stretched" values are logits
// scaled by 256, in −2047 … 2047.

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
