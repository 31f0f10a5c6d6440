// Package sample makes the inputs of the codec packages' tests and codes
// them through a package's compressor and decompressor.
package sample

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// Random returns n pseudo-random bytes, the same for the same seed.
func Random(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// Mixed returns n bytes of text, numbers, a table of records and runs.
func Mixed(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 7))
	words := []string{"the", "model", "of", "a", "context", "mixing", "coder", "predicts", "each", "bit", "and", "weights"}
	var b bytes.Buffer
	for b.Len() < n {
		switch rng.IntN(4) {
		case 0, 1:
			for i := 0; i < 40; i++ {
				b.WriteString(words[rng.IntN(len(words))])
				b.WriteByte(" \n"[rng.IntN(2)*rng.IntN(2)*rng.IntN(2)])
			}
		case 2:
			for i := 0; i < 30; i++ {
				v := uint32(i*17 + rng.IntN(5))
				b.Write([]byte{byte(v), byte(v >> 8), 0, 0, byte(rng.IntN(3)), 0x40, 0, 0})
			}
		case 3:
			b.Write(make([]byte, rng.IntN(300)))
		}
	}
	return b.Bytes()[:n]
}

// Records returns n bytes of a table of 16-byte records: a counting id, a
// small count, a category, a price and a float.
func Records(n int) []byte {
	rng := rand.New(rand.NewPCG(5, 5))
	b := make([]byte, 0, n+16)
	for id := uint32(100000); len(b) < n; id++ {
		b = binary.LittleEndian.AppendUint32(b, id)
		b = binary.LittleEndian.AppendUint32(b, uint32(rng.IntN(5000)))
		b = binary.LittleEndian.AppendUint16(b, uint16(rng.IntN(16)))
		b = binary.LittleEndian.AppendUint16(b, uint16(rng.IntN(300)))
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(rng.Float32()*100))
	}
	return b[:n]
}
