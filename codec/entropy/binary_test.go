package entropy

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// binStream codes n random bits under random probabilities skewed towards
// the bits drawn, and returns the stream, the bits and the probabilities.
func binStream(n int) ([]byte, []int, []int32) {
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	bits, ps := make([]int, n), make([]int32, n)
	e := NewBinEncoder()
	for i := range bits {
		ps[i] = 1 + rng.Int32N(4095)
		if rng.Int32N(4096) < ps[i] {
			bits[i] = 1
		}
		e.Encode(bits[i], ps[i])
	}
	e.Finish()
	return e.Bytes(), bits, ps
}

// pieces is a MoreBytes over stream that hands it out k bytes at a time,
// each piece after the reader asked for it, as a coder still writing would.
type pieces struct {
	mu     sync.Mutex
	stream []byte
	k, at  int
	asked  int
}

func (p *pieces) more(have int) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked++
	p.at = min(max(p.at, have)+p.k, len(p.stream))
	return p.stream[:p.at:p.at], p.at == len(p.stream)
}

// TestBinStreamDecoder: a stream handed out in pieces decodes to the bits a
// whole one does, reads exactly 3 bytes past its end, and knows its length.
func TestBinStreamDecoder(t *testing.T) {
	for _, n := range []int{1, 9, 1000, 50000} {
		stream, bits, ps := binStream(n)
		for _, k := range []int{1, 3, 4096} {
			p := &pieces{stream: stream, k: k}
			d := NewBinStreamDecoder(nil, p.more)
			for i, want := range bits {
				if got := d.Decode(ps[i]); got != want {
					t.Fatalf("%d bits in pieces of %d: bit %d is %d, want %d", n, k, i, got, want)
				}
			}
			if d.Used() != len(stream) || d.Len() != len(stream) {
				t.Errorf("%d bits in pieces of %d: used %d, length %d, want %d", n, k, d.Used(), d.Len(), len(stream))
			}
			if calls := (len(stream) + k - 1) / k; p.asked < calls {
				t.Errorf("%d bits in pieces of %d: %d calls for %d bytes", n, k, p.asked, len(stream))
			}
		}
	}
}

// TestBinStreamDecoderLen: Len waits for the end of a stream the decoder
// has not read to, and a stream that ends early reads as zeros.
func TestBinStreamDecoderLen(t *testing.T) {
	stream, _, _ := binStream(20000)
	p := &pieces{stream: stream, k: 100}
	d := NewBinStreamDecoder(nil, p.more)
	if d.Len() != len(stream) {
		t.Errorf("Len %d, want %d", d.Len(), len(stream))
	}
	short := NewBinStreamDecoder(nil, (&pieces{stream: []byte{0xAB}, k: 1}).more)
	if short.x != 0xAB000000 || short.Len() != 1 {
		t.Errorf("a 1-byte stream: x = %#x, length %d", short.x, short.Len())
	}
}
