package entropy

import "testing"

// FuzzCoder round-trips fuzzed symbols under fuzzed tables and decodes
// fuzzed data, which must never panic.
func FuzzCoder(f *testing.F) {
	f.Add([]byte{}, []byte{0})
	f.Add([]byte("hello world"), []byte{1, 2, 3, 255})
	f.Fuzz(func(t *testing.T, syms, shape []byte) {
		if len(shape) == 0 || len(syms) > 1<<16 {
			return
		}
		table := func(i int) []uint16 {
			f := make([]uint16, 256)
			s := shape[i%len(shape)]
			for k := range f {
				f[k] = 1
			}
			f[s] += 65536 - 256 - uint16(shape[(i+1)%len(shape)])*200
			f[byte(s+1)] += uint16(shape[(i+1)%len(shape)]) * 200
			return f
		}
		enc := NewEncoder()
		for i, c := range syms {
			if err := enc.Encode(table(i), c); err != nil {
				t.Fatal(err)
			}
		}
		data := append([]byte(nil), enc.Finish()...)
		dec, _ := NewDecoder(data)
		for i, want := range syms {
			got, err := dec.Decode(table(i))
			if err != nil || got != want {
				t.Fatalf("symbol %d: %d, %v; want %d", i, got, err, want)
			}
		}
		// The symbols as coded data: any outcome but a panic.
		dec.Reset(syms)
		for i := 0; i < len(shape)*4; i++ {
			if _, err := dec.Decode(table(i)); err != nil {
				break
			}
		}
	})
}
