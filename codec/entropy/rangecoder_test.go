package entropy

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"zpng/codec"
)

// uniformTable gives every symbol 256.
func uniformTable() []uint16 {
	f := make([]uint16, 256)
	for i := range f {
		f[i] = 256
	}
	return f
}

// peakedTable gives sym the maximum frequency a model table can hold
// (65281, every other symbol 1).
func peakedTable(sym byte) []uint16 {
	f := make([]uint16, 256)
	for i := range f {
		f[i] = 1
	}
	f[sym] = 65536 - 255
	return f
}

// randomTable draws a table with a random skew: total 2^16, entries ≥ 1.
func randomTable(rng *rand.Rand) []uint16 {
	w := make([]float64, 256)
	sharp := rng.Float64() * 8
	var sum float64
	for i := range w {
		w[i] = math.Exp(sharp * rng.NormFloat64())
		sum += w[i]
	}
	f := make([]uint16, 256)
	total := 0
	for i := range f {
		f[i] = uint16(1 + int(w[i]/sum*(65536-256)))
		total += int(f[i])
	}
	f[rng.IntN(256)] += uint16(65536 - total)
	return f
}

// sample draws a symbol from table f.
func sample(rng *rand.Rand, f []uint16) byte {
	t := rng.IntN(65536)
	for s, v := range f {
		t -= int(v)
		if t < 0 {
			return byte(s)
		}
	}
	panic("table total below 2^16")
}

func idealBits(f []uint16, s byte) float64 { return -math.Log2(float64(f[s]) / 65536) }

// roundTrip codes syms with tables and decodes them back, checking the
// coded size against the ideal sum of -log2 p: within 0.1% + 8 bytes.
func roundTrip(t *testing.T, tables [][]uint16, syms []byte) []byte {
	t.Helper()
	enc := NewEncoder()
	var ideal float64
	for i, s := range syms {
		if err := enc.Encode(tables[i], s); err != nil {
			t.Fatal(err)
		}
		ideal += idealBits(tables[i], s)
	}
	data := enc.Finish()
	if limit := ideal/8*1.001 + 8; float64(len(data)) > limit {
		t.Errorf("%d symbols coded in %d bytes; ideal %.1f bytes, limit %.1f", len(syms), len(data), ideal/8, limit)
	}
	dec, err := NewDecoder(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range syms {
		got, err := dec.Decode(tables[i])
		if err != nil {
			t.Fatalf("symbol %d: %v", i, err)
		}
		if got != want {
			t.Fatalf("symbol %d: decoded %d, want %d", i, got, want)
		}
	}
	return data
}

func repeat(f []uint16, n int) [][]uint16 {
	t := make([][]uint16, n)
	for i := range t {
		t[i] = f
	}
	return t
}

func TestCoderEmpty(t *testing.T) {
	if data := roundTrip(t, nil, nil); len(data) != 0 {
		t.Errorf("empty stream coded in %d bytes, want 0", len(data))
	}
}

func TestCoderOneByte(t *testing.T) {
	for _, s := range []byte{0, 1, 127, 255} {
		data := roundTrip(t, repeat(uniformTable(), 1), []byte{s})
		if len(data) > 2 {
			t.Errorf("one uniform byte %d coded in %d bytes", s, len(data))
		}
	}
}

func TestCoderAllValues(t *testing.T) {
	syms := make([]byte, 256*4)
	for i := range syms {
		syms[i] = byte(i)
	}
	data := roundTrip(t, repeat(uniformTable(), len(syms)), syms)
	if len(data) != len(syms) && len(data) != len(syms)+1 {
		t.Errorf("%d uniform bytes coded in %d bytes", len(syms), len(data))
	}
	// Every symbol under the peaked table, the rare ones included.
	tables := make([][]uint16, len(syms))
	for i := range tables {
		tables[i] = peakedTable(byte(i * 7))
	}
	roundTrip(t, tables, syms)
}

func TestCoderMaxFrequency(t *testing.T) {
	// A long run of the likely symbol: each costs 0.0056 bits, so the
	// 0.1% bound is tight against any per-symbol loss of the coder.
	for _, sym := range []byte{0, 100, 255} {
		syms := make([]byte, 200000)
		for i := range syms {
			syms[i] = sym
		}
		roundTrip(t, repeat(peakedTable(sym), len(syms)), syms)
	}
}

func TestCoderRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		n := rng.IntN(20000)
		tables := make([][]uint16, n)
		syms := make([]byte, n)
		for i := range syms {
			tables[i] = randomTable(rng)
			syms[i] = sample(rng, tables[i])
		}
		roundTrip(t, tables, syms)
	}
	// Random bytes under a uniform model: incompressible, 1 byte each.
	syms := make([]byte, 100000)
	for i := range syms {
		syms[i] = byte(rng.Uint32())
	}
	roundTrip(t, repeat(uniformTable(), len(syms)), syms)
}

func TestCoderSkewedLong(t *testing.T) {
	// Highly predictable text-like data: tables favour the coded symbol.
	rng := rand.New(rand.NewPCG(3, 4))
	n := 300000
	tables := make([][]uint16, n)
	syms := make([]byte, n)
	for i := range syms {
		s := byte(rng.IntN(256))
		f := peakedTable(s)
		f[s] -= uint16(rng.IntN(60000))
		f[byte(s+1)] += uint16(65536 - sum(f))
		tables[i], syms[i] = f, s
		if rng.IntN(50) == 0 {
			syms[i] = s + 1
		}
	}
	roundTrip(t, tables, syms)
}

func sum(f []uint16) int {
	var s int
	for _, v := range f {
		s += int(v)
	}
	return s
}

func TestCoderBadTables(t *testing.T) {
	enc := NewEncoder()
	f := uniformTable()
	f[3] = 0
	if err := enc.Encode(f, 3); !errors.Is(err, ErrBadTable) {
		t.Errorf("zero frequency: %v, want ErrBadTable", err)
	}
	if err := enc.Encode(uniformTable(), 1); !errors.Is(err, ErrBadTable) {
		t.Errorf("after a failure: %v, want the sticky ErrBadTable", err)
	}
	enc.Reset()
	if err := enc.Encode(make([]uint16, 10), 1); !errors.Is(err, ErrBadTable) {
		t.Errorf("short table: %v, want ErrBadTable", err)
	}
	enc.Reset()
	f = uniformTable()
	f[0] = 60000 // total above 2^16
	if err := enc.Encode(f, 255); !errors.Is(err, ErrBadTable) {
		t.Errorf("total above 2^16: %v, want ErrBadTable", err)
	}
	dec, _ := NewDecoder(nil)
	if _, err := dec.Decode(make([]uint16, 255)); !errors.Is(err, ErrBadTable) {
		t.Errorf("decoder, short table: %v, want ErrBadTable", err)
	}
}

func TestDecoderGarbage(t *testing.T) {
	// Garbage must decode to something or fail cleanly, never panic; a
	// table with a total below 2^16 leaves values that match no symbol.
	rng := rand.New(rand.NewPCG(5, 6))
	f := uniformTable()
	f[255] = 1
	failed := 0
	for round := 0; round < 200; round++ {
		data := make([]byte, rng.IntN(64))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		dec, _ := NewDecoder(data)
		for i := 0; i < 100; i++ {
			if _, err := dec.Decode(f); err != nil {
				if !errors.Is(err, ErrCoder) {
					t.Fatalf("garbage: %v, want ErrCoder", err)
				}
				failed++
				break
			}
		}
	}
	if failed == 0 {
		t.Error("no garbage stream was detected against a short table")
	}
}

func TestStreamsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int64{0, 1, 5, 1000, 4097} {
		for _, b := range []int{1, 3, 16} {
			src := make([]byte, n)
			for i := range src {
				src[i] = byte(rng.IntN(40))
			}
			sizes := SplitSizes(n, b)
			starts := make([]int64, b)
			for i := 1; i < b; i++ {
				starts[i] = starts[i-1] + sizes[i-1]
			}
			if starts[b-1]+sizes[b-1] != n {
				t.Fatalf("SplitSizes(%d, %d) = %v", n, b, sizes)
			}
			// A fixed model per position: tables skewed toward small bytes.
			table := randomTable(rng)
			freqs := make([]uint16, 256*b)
			for i := 0; i < b; i++ {
				copy(freqs[i*256:], table)
			}
			enc := NewStreamEncoder(b)
			syms := make([]byte, b)
			for step := int64(0); step < sizes[0]; step++ {
				active := 0
				for active < b && sizes[active] > step {
					syms[active] = src[starts[active]+step]
					active++
				}
				if err := enc.EncodeStep(freqs, syms[:active]); err != nil {
					t.Fatal(err)
				}
			}
			payload, table2, err := enc.Finish(sizes)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := NewStreamDecoder(table2, payload, n)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, n)
			for step := int64(0); step < sizes[0]; step++ {
				active := 0
				for active < b && sizes[active] > step {
					active++
				}
				if err := dec.DecodeStep(freqs, syms[:active]); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < active; i++ {
					got[starts[i]+step] = syms[i]
				}
			}
			if string(got) != string(src) {
				t.Fatalf("n=%d b=%d: streams decode differently", n, b)
			}
			if _, err := NewStreamDecoder(table2, payload, n+1); !errors.Is(err, codec.ErrCorrupt) {
				t.Errorf("wrong original size accepted: %v", err)
			}
			if len(payload) > 0 {
				if _, err := NewStreamDecoder(table2, payload[1:], n); !errors.Is(err, codec.ErrCorrupt) {
					t.Errorf("short payload accepted: %v", err)
				}
			}
		}
	}
}

func TestStreamTableLimits(t *testing.T) {
	for _, data := range [][]byte{nil, {0, 0, 0, 0}, {1, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}} {
		if _, err := ParseStreamTable(data, 0, 0); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("table %x: %v, want codec.ErrCorrupt", data, err)
		}
	}
}

var sink byte

func BenchmarkEncodeUniform(b *testing.B) { benchEncode(b, uniformTable()) }
func BenchmarkDecodeUniform(b *testing.B) { benchDecode(b, uniformTable()) }

func benchEncode(b *testing.B, f []uint16) {
	rng := rand.New(rand.NewPCG(1, 1))
	syms := make([]byte, 1<<16)
	for i := range syms {
		syms[i] = sample(rng, f)
	}
	enc := NewEncoder()
	b.SetBytes(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i&(1<<16-1) == 0 {
			enc.Reset()
		}
		enc.Encode(f, syms[i&(1<<16-1)])
	}
}

func benchDecode(b *testing.B, f []uint16) {
	rng := rand.New(rand.NewPCG(1, 1))
	enc := NewEncoder()
	for i := 0; i < 1<<16; i++ {
		enc.Encode(f, sample(rng, f))
	}
	data := append([]byte(nil), enc.Finish()...)
	dec, _ := NewDecoder(data)
	b.SetBytes(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i&(1<<16-1) == 0 {
			dec.Reset(data)
		}
		s, _ := dec.Decode(f)
		sink ^= s
	}
}
