package cm

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"

	"zpng/codec"
	"zpng/codec/internal/sample"
)

// growing hands a payload to a reader while a writer appends to it, in
// pieces of k bytes, from another goroutine.
type growing struct {
	mu     sync.Mutex
	grew   *sync.Cond
	buf    []byte
	closed bool
}

func feed(payload []byte, k int) *growing {
	g := &growing{}
	g.grew = sync.NewCond(&g.mu)
	go func() {
		for len(payload) > 0 {
			n := min(k, len(payload))
			g.mu.Lock()
			g.buf, payload = append(g.buf, payload[:n]...), payload[n:]
			g.grew.Broadcast()
			g.mu.Unlock()
		}
		g.mu.Lock()
		g.closed = true
		g.grew.Broadcast()
		g.mu.Unlock()
	}()
	return g
}

func (g *growing) more(have int) ([]byte, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.buf) <= have && !g.closed {
		g.grew.Wait()
	}
	return g.buf, g.closed
}

// streamDecode decodes payload, fed in pieces of k bytes, for n bytes.
func streamDecode(m codec.Method, flags uint16, payload []byte, k int, n int64) ([]byte, error) {
	r, err := NewStreamDecompressor(m, feed(payload, k).more, n, flags)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// TestStreamDecompressor: a payload decoded while it is still being
// written gives the bytes the whole payload gives, for every method and
// flags (the x86 filter included); a payload cut short decodes to an error
// or other bytes; one with a byte too many and a payload for an empty file
// are codec.ErrCorrupt.
func TestStreamDecompressor(t *testing.T) {
	src := append(sample.Mixed(20000), sample.Records(10000)...)
	for _, c := range []struct {
		m     codec.Method
		flags uint16
	}{{codec.MethodCM, 0}, {codec.MethodCM, flagProfile}, {codec.MethodCM, flagX86}, {codec.MethodCM3, flagX86 | flagProfile}, {codec.MethodCM2, 0}, {codec.MethodCM1, 0}} {
		payload := cmCompressMethod(t, c.m, c.flags, src)
		for _, k := range []int{1, 5, 4096} {
			got, err := streamDecode(c.m, c.flags, payload, k, int64(len(src)))
			if err != nil || !bytes.Equal(got, src) {
				t.Errorf("%s flags %d, pieces of %d: %d bytes, %v", c.m, c.flags, k, len(got), err)
			}
		}
		cut, err := streamDecode(c.m, c.flags, payload[:len(payload)/2], 100, int64(len(src)))
		checkDamaged(t, c.m.String()+" cut short", src, cut, err)
		if _, err := streamDecode(c.m, c.flags, append(payload[:len(payload):len(payload)], 0), 100, int64(len(src))); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s flags %d, a byte too many: %v, want codec.ErrCorrupt", c.m, c.flags, err)
		}
	}
	if got, err := streamDecode(codec.MethodCM, 0, nil, 1, 0); err != nil || len(got) != 0 {
		t.Errorf("empty file: %d bytes, %v", len(got), err)
	}
	if _, err := streamDecode(codec.MethodCM, 0, []byte{1}, 1, 0); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("a byte for an empty file: %v, want codec.ErrCorrupt", err)
	}
	if _, err := NewStreamDecompressor(codec.MethodXz, feed(nil, 1).more, 1, 0); !errors.Is(err, codec.ErrUnsupportedMethod) {
		t.Errorf("method xz: %v, want codec.ErrUnsupportedMethod", err)
	}
}
