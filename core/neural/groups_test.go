package neural

import (
	"bytes"
	"context"
	"encoding/binary"
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

// decodeAll decodes what encodeGroups made with method m and workers at once.
func decodeAll(net network, m codec.Method, payload, table []byte, n int64, workers int) ([]byte, error) {
	st, groups, flags, err := splitGroupTable(table, m)
	if err != nil {
		return nil, err
	}
	streams, err := entropy.ParseStreamTable(st, n, int64(len(payload)))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = decodeGroups(context.Background(), net, m, streams, groups, flags, payload, n, workers, &out, nil)
	return out.Bytes(), err
}

// TestGroupsRoundTrip: G groups of B streams, some of them empty or of one
// byte, a text and a binary group among them, decode to the input with one
// worker and with several, in methods hybrid and hybrid3; one group is
// the payload and stream table of its group coding (hybrid3: a file of
// method hybrid2), and the group table after it.
func TestGroupsRoundTrip(t *testing.T) {
	net := tinyNetwork(t)
	text := []byte("It was the best of times, it was the worst of times; it was the age of wisdom. ")
	src := bytes.Repeat(text, 7)
	mixed := append(bytes.Repeat([]byte{0, 1, 2, 3, 0, 0, 7, 200}, 40), src...)
	for _, m := range []codec.Method{codec.MethodHybrid, codec.MethodHybrid3} {
		for _, c := range []struct {
			n, B, G int
			mixed   bool
		}{
			{len(src), 1, 1, false}, {len(src), 7, 1, false}, {len(src), 7, 2, false}, {len(src), 9, 3, false}, {len(src), 11, 5, false},
			{3, 5, 3, false}, {6, 5, 5, false}, {0, 1, 1, false}, {1, 2, 2, false}, {len(mixed), 4, 2, true}, {len(mixed), 3, 1, true},
		} {
			in := mixed
			if !c.mixed {
				in = src[:c.n]
			}
			payload, table, _, err := encodeGroups(context.Background(), net, m, in, c.B, c.G, 2, nil)
			if err != nil {
				t.Fatalf("%s %+v: %v", m, c, err)
			}
			for _, workers := range []int{1, 2, 4} {
				got, err := decodeAll(net, m, payload, table, int64(c.n), workers)
				if err != nil || !bytes.Equal(got, in) {
					t.Errorf("%s %+v, %d workers: %v, %d bytes restored", m, c, workers, err, len(got))
				}
			}
			if one, _, _, err := encodeGroups(context.Background(), net, m, in, c.B, c.G, 1, nil); err != nil || !bytes.Equal(one, payload) {
				t.Errorf("%s %+v: one worker codes %d bytes, two %d (%v)", m, c, len(one), len(payload), err)
			}
			if c.G != 1 {
				continue
			}
			p, err := net.f.NewPredictor(net.q, c.B, net.eo)
			if err != nil {
				t.Fatal(err)
			}
			gm, flags := groupCoding(m, in)
			want, wantTable, err := encodeStreams(context.Background(), []engine.Predictor{p}, in, gm, flags, nil)
			p.Close()
			if err != nil {
				t.Fatal(err)
			}
			var gf []uint16
			if m == codec.MethodHybrid {
				gf = []uint16{flags}
			}
			if !bytes.Equal(payload, want) || !bytes.Equal(table, appendGroupTable(wantTable, []int{c.B}, gf)) {
				t.Errorf("%s %+v: one group differs from its group coding", m, c)
			}
		}
	}
	// The profiles of method hybrid's groups follow their bytes.
	_, table, _, err := encodeGroups(context.Background(), net, codec.MethodHybrid, mixed, 4, 2, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, flags, err := splitGroupTable(table, codec.MethodHybrid); err != nil || len(flags) != 2 || flags[0] != 1 || flags[1] != 0 {
		t.Errorf("group flags %v (%v), want [1 0]: binary, then text", flags, err)
	}
}

// TestGroupsCorrupt: damaged group tables and payloads are errors wrapping
// codec.ErrCorrupt, never panics.
func TestGroupsCorrupt(t *testing.T) {
	for _, m := range []codec.Method{codec.MethodHybrid, codec.MethodHybrid3} {
		testGroupsCorrupt(t, m)
	}
}

func testGroupsCorrupt(t *testing.T, m codec.Method) {
	net := tinyNetwork(t)
	src := bytes.Repeat([]byte("abcabd abcabe "), 40)
	n := int64(len(src))
	payload, table, _, err := encodeGroups(context.Background(), net, m, src, 6, 3, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	end := 4 + 16*6
	var flags3, badFlags []uint16 // three groups' flags, method hybrid only
	if m == codec.MethodHybrid {
		flags3, badFlags = []uint16{0, 0, 0}, []uint16{0, 2, 0}
	}
	groups := func(g []int, f []uint16) []byte {
		if f != nil && len(f) != len(g) {
			f = make([]uint16, len(g))
		}
		return appendGroupTable(append([]byte(nil), table[:end]...), g, f)
	}
	bad := map[string][]byte{
		"no group table": table[:end],
		"cut":            table[:len(table)-1],
		"zero groups":    append(append([]byte(nil), table[:end]...), 0, 0, 0, 0),
		"too many":       groups([]int{1, 1, 1, 1, 1, 1, 1}, flags3),
		"empty group":    groups([]int{3, 0, 3}, flags3),
		"wrong sum":      groups([]int{2, 2, 1}, flags3),
		"huge group":     groups([]int{1 << 31, 3, 3}, flags3),
	}
	if m == codec.MethodHybrid {
		bad["unknown flags"] = groups([]int{2, 2, 2}, badFlags)
		big := groups([]int{2, 2, 2}, flags3)
		binary.LittleEndian.PutUint32(big[end+4+8+4:], 1<<16) // group 1's flags
		bad["flags too big"] = big
		bad["no flags"] = groups([]int{2, 2, 2}, nil)
	}
	for name, tab := range bad {
		if _, err := decodeAll(net, m, payload, tab, n, 2); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s: %s: %v, want corrupt", m, name, err)
		}
	}
	// Other groups: decodes, but the streams do not fit their groups' cm
	// models, or the payload is damaged.
	if got, err := decodeAll(net, m, payload, groups([]int{1, 4, 1}, flags3), n, 2); err == nil && bytes.Equal(got, src) {
		t.Errorf("%s: other groups restore the input", m)
	}
	st, _, _, err := splitGroupTable(table, m)
	if err != nil {
		t.Fatal(err)
	}
	streams, err := entropy.ParseStreamTable(st, n, int64(len(payload)))
	if err != nil {
		t.Fatal(err)
	}
	last := map[int]bool{} // each stream's last byte, where the coder leaves some slack
	var off int
	for _, s := range streams {
		off += int(s.Bytes)
		last[off-1] = true
	}
	for i := range payload {
		p := append([]byte(nil), payload...)
		p[i] ^= 0x55
		if got, err := decodeAll(net, m, p, table, n, 2); err == nil && bytes.Equal(got, src) && !last[i] {
			t.Errorf("%s: payload byte %d damaged: restored the input", m, i)
		} else if err != nil && !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s: payload byte %d damaged: %v, want corrupt", m, i, err)
		}
	}
}

// FuzzGroupsDecode decodes arbitrary STRM sections and payloads of methods
// hybrid and hybrid3: an error wrapping codec.ErrCorrupt or the declared
// size, never a panic.
func FuzzGroupsDecode(f *testing.F) {
	net := tinyNetwork(f)
	src := []byte("hello, hello, hello")
	for _, m := range []codec.Method{codec.MethodHybrid, codec.MethodHybrid3} {
		payload, table, _, err := encodeGroups(context.Background(), net, m, src, 3, 2, 0, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(table, payload, uint16(len(src)), m == codec.MethodHybrid)
		f.Add(table, payload[1:], uint16(len(src)), m == codec.MethodHybrid)
	}
	f.Fuzz(func(t *testing.T, table, payload []byte, n uint16, hybrid bool) {
		m := codec.MethodHybrid3
		if hybrid {
			m = codec.MethodHybrid
		}
		got, err := decodeAll(net, m, payload, table, int64(n), 2)
		if err == nil && len(got) != int(n) {
			t.Errorf("decoded %d bytes, want %d", len(got), n)
		}
		if err != nil && !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("error %v does not wrap ErrCorrupt", err)
		}
	})
}
