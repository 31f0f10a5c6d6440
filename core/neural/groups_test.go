package neural

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"zpng/codec"
	"zpng/codec/entropy"
	"zpng/core/engine"
	"zpng/core/model"
)

// tinyNetwork is a random 1×32 model on the Go engine.
func tinyNetwork(t testing.TB) network {
	t.Helper()
	w, err := model.RandomWeights(model.Config{Layers: 1, Hidden: 32, Embed: 32}, 1)
	if err != nil {
		t.Fatal(err)
	}
	q, err := model.Quantize(w)
	if err != nil {
		t.Fatal(err)
	}
	f, err := engine.Lookup("go")
	if err != nil {
		t.Fatal(err)
	}
	return network{f: f, eo: engine.Options{Device: "cpu"}, q: q}
}

func TestGroupCount(t *testing.T) {
	gb := DefaultPolicy().GroupBytes
	for _, c := range []struct {
		n    int64
		B, G int
	}{{0, 1, 1}, {gb - 1, 15, 1}, {2 * gb, 1, 1}, {2*gb + 5, 32, 2}, {100 * gb, 1024, maxGroups}, {100 * gb, 3, 3}} {
		if got := groupCount(c.n, c.B, gb); got != c.G {
			t.Errorf("groupCount(%d, %d) = %d, want %d", c.n, c.B, got, c.G)
		}
	}
	if got := groupCount(1<<30, 64, 0); got != 1 {
		t.Errorf("no GroupBytes: %d groups, want 1", got)
	}
}

// decodeAll decodes what encodeGroups made with workers at once.
func decodeAll(net network, payload, table []byte, n int64, workers int) ([]byte, error) {
	st, groups, err := splitGroupTable(table)
	if err != nil {
		return nil, err
	}
	streams, err := entropy.ParseStreamTable(st, n, int64(len(payload)))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = decodeGroups(context.Background(), net, streams, groups, payload, n, workers, &out, nil)
	return out.Bytes(), err
}

// TestGroupsRoundTrip: G groups of B streams, some of them empty or of one
// byte, decode to the input with one worker and with several; one group is
// method hybrid2's payload and stream table, and the group table after it.
func TestGroupsRoundTrip(t *testing.T) {
	net := tinyNetwork(t)
	text := []byte("It was the best of times, it was the worst of times; it was the age of wisdom. ")
	src := bytes.Repeat(text, 7)
	for _, c := range []struct{ n, B, G int }{
		{len(src), 1, 1}, {len(src), 7, 1}, {len(src), 7, 2}, {len(src), 9, 3}, {len(src), 11, 5},
		{3, 5, 3}, {6, 5, 5}, {0, 1, 1}, {1, 2, 2},
	} {
		in := src[:c.n]
		payload, table, _, err := encodeGroups(context.Background(), net, in, c.B, c.G, 2, nil)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		for _, workers := range []int{1, 2, 4} {
			got, err := decodeAll(net, payload, table, int64(c.n), workers)
			if err != nil || !bytes.Equal(got, in) {
				t.Errorf("%+v, %d workers: %v, %d bytes restored", c, workers, err, len(got))
			}
		}
		if one, _, _, err := encodeGroups(context.Background(), net, in, c.B, c.G, 1, nil); err != nil || !bytes.Equal(one, payload) {
			t.Errorf("%+v: one worker codes %d bytes, two %d (%v)", c, len(one), len(payload), err)
		}
		if c.G != 1 {
			continue
		}
		p, err := net.f.NewPredictor(net.q, c.B, net.eo)
		if err != nil {
			t.Fatal(err)
		}
		want, wantTable, err := encodeStreams(context.Background(), p, in, codec.MethodHybrid2, nil)
		p.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(payload, want) || !bytes.Equal(table, appendGroupTable(wantTable, []int{c.B})) {
			t.Errorf("%+v: one group differs from method hybrid2", c)
		}
	}
}

// TestGroupsCorrupt: damaged group tables and payloads are errors wrapping
// codec.ErrCorrupt, never panics.
func TestGroupsCorrupt(t *testing.T) {
	net := tinyNetwork(t)
	src := bytes.Repeat([]byte("abcabd abcabe "), 40)
	n := int64(len(src))
	payload, table, _, err := encodeGroups(context.Background(), net, src, 6, 3, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	end := 4 + 16*6
	bad := map[string][]byte{
		"no group table": table[:end],
		"cut":            table[:len(table)-1],
		"zero groups":    append(append([]byte(nil), table[:end]...), 0, 0, 0, 0),
		"too many":       appendGroupTable(append([]byte(nil), table[:end]...), []int{1, 1, 1, 1, 1, 1, 1}),
		"empty group":    appendGroupTable(append([]byte(nil), table[:end]...), []int{3, 0, 3}),
		"wrong sum":      appendGroupTable(append([]byte(nil), table[:end]...), []int{2, 2, 1}),
		"huge group":     appendGroupTable(append([]byte(nil), table[:end]...), []int{1 << 31, 3, 3}),
	}
	for name, tab := range bad {
		if _, err := decodeAll(net, payload, tab, n, 2); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s: %v, want corrupt", name, err)
		}
	}
	// Other groups: decodes, but the streams do not fit their groups' cm
	// models, or the payload is damaged.
	if got, err := decodeAll(net, payload, appendGroupTable(append([]byte(nil), table[:end]...), []int{1, 4, 1}), n, 2); err == nil && bytes.Equal(got, src) {
		t.Errorf("other groups restore the input")
	}
	for i := range payload {
		p := append([]byte(nil), payload...)
		p[i] ^= 0x55
		if got, err := decodeAll(net, p, table, n, 2); err == nil && bytes.Equal(got, src) {
			t.Errorf("payload byte %d damaged: restored the input", i)
		} else if err != nil && !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("payload byte %d damaged: %v, want corrupt", i, err)
		}
	}
}

// FuzzGroupsDecode decodes arbitrary STRM sections and payloads of method
// hybrid: an error wrapping codec.ErrCorrupt or the declared size, never a
// panic.
func FuzzGroupsDecode(f *testing.F) {
	net := tinyNetwork(f)
	src := []byte("hello, hello, hello")
	payload, table, _, err := encodeGroups(context.Background(), net, src, 3, 2, 0, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(table, payload, uint16(len(src)))
	f.Add(table, payload[1:], uint16(len(src)))
	f.Add(appendGroupTable(table[:4+16*3], []int{1, 1, 1}), payload, uint16(len(src)))
	f.Fuzz(func(t *testing.T, table, payload []byte, n uint16) {
		got, err := decodeAll(net, payload, table, int64(n), 2)
		if err == nil && len(got) != int(n) {
			t.Errorf("decoded %d bytes, want %d", len(got), n)
		}
		if err != nil && !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("error %v does not wrap ErrCorrupt", err)
		}
	})
}
