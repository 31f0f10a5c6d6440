package cm

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"zpng/codec"
	"zpng/codec/entropy"
	"zpng/codec/internal/sample"
)

// An outside model for tests: a table per previous byte of the stream,
// which the decoder can rebuild from what it has decoded.
type bigramModel [256][256]uint16

// uniformModel predicts every byte with the same frequency.
func uniformModel() *bigramModel {
	var m bigramModel
	for a := range m {
		for b := range m[a] {
			m[a][b] = 256
		}
	}
	return &m
}

// learntModel is the bigram statistics of data, smoothed so that every entry
// is at least 1 and every row sums to 2^16: a good model of data.
func learntModel(data []byte) *bigramModel {
	var counts [256][256]int
	for i := 1; i < len(data); i++ {
		counts[data[i-1]][data[i]]++
	}
	var m bigramModel
	for a := range m {
		total := 0
		for _, c := range counts[a] {
			total += c
		}
		left := 1<<16 - 256
		sum := 0
		for b, c := range counts[a] {
			f := 1
			if total > 0 {
				f += c * left / total
			}
			m[a][b] = uint16(f)
			sum += f
		}
		m[a][0] += uint16(1<<16 - sum)
	}
	return &m
}

// mixEncode codes data in b streams under model.
func mixEncode(t testing.TB, m codec.Method, data []byte, b int, model *bigramModel) (payload, table []byte) {
	t.Helper()
	return mixEncodeFlags(t, m, 0, data, b, model)
}

// mixEncodeFlags is mixEncode with flags (method hybrid: the group's).
func mixEncodeFlags(t testing.TB, m codec.Method, flags uint16, data []byte, b int, model *bigramModel) (payload, table []byte) {
	t.Helper()
	sizes := entropy.SplitSizes(int64(len(data)), b)
	offs := make([]int64, b)
	for i := 1; i < b; i++ {
		offs[i] = offs[i-1] + sizes[i-1]
	}
	e, err := NewMixEncoder(m, sizes, flags)
	if err != nil {
		t.Fatal(err)
	}
	prev := make([]byte, b)
	freqs := make([]uint16, 256*b)
	syms := make([]byte, b)
	for step := int64(0); step < sizes[0]; step++ {
		active := 0
		for active < b && sizes[active] > step {
			active++
		}
		for i := range active {
			copy(freqs[i*256:], model[prev[i]][:])
			syms[i] = data[offs[i]+step]
		}
		if err := e.EncodeStep(freqs, syms[:active]); err != nil {
			t.Fatal(err)
		}
		copy(prev, syms[:active])
	}
	payload, table, err = e.Finish(sizes)
	if err != nil {
		t.Fatal(err)
	}
	return payload, table
}

// mixDecode mirrors mixEncode.
func mixDecode(m codec.Method, table, payload []byte, n int64, model *bigramModel) ([]byte, error) {
	return mixDecodeFlags(m, 0, table, payload, n, model)
}

// mixDecodeFlags mirrors mixEncodeFlags.
func mixDecodeFlags(m codec.Method, flags uint16, table, payload []byte, n int64, model *bigramModel) ([]byte, error) {
	d, err := NewMixDecoder(m, table, payload, n, flags)
	if err != nil {
		return nil, err
	}
	b := len(d.Streams)
	outs := make([][]byte, b)
	prev := make([]byte, b)
	freqs := make([]uint16, 256*b)
	syms := make([]byte, b)
	for step := int64(0); step < d.Streams[0].Symbols; step++ {
		active := 0
		for active < b && d.Streams[active].Symbols > step {
			active++
		}
		for i := range active {
			copy(freqs[i*256:], model[prev[i]][:])
		}
		if err := d.DecodeStep(freqs, syms[:active]); err != nil {
			return nil, err
		}
		for i := range active {
			outs[i] = append(outs[i], syms[i])
		}
		copy(prev, syms[:active])
	}
	return bytes.Join(outs, nil), nil
}

func TestMixRoundTrip(t *testing.T) {
	text := bytes.Repeat([]byte("Alice was beginning to get very tired of sitting by her sister on the bank. "), 200)
	inputs := map[string][]byte{
		"one byte": {'x'},
		"mixed":    sample.Mixed(30_000),
		"text":     text,
		"zeros":    make([]byte, 5000),
	}
	for name, src := range inputs {
		for _, b := range []int{1, 3, 8} {
			if b > len(src) {
				continue
			}
			for mname, model := range map[string]*bigramModel{"uniform": uniformModel(), "learnt": learntModel(src)} {
				for _, c := range []struct {
					m     codec.Method
					flags uint16
				}{{codec.MethodHybrid, 0}, {codec.MethodHybrid, flagProfile}, {codec.MethodHybrid2, 0}, {codec.MethodHybrid1, 0}} {
					payload, table := mixEncodeFlags(t, c.m, c.flags, src, b, model)
					got, err := mixDecodeFlags(c.m, c.flags, table, payload, int64(len(src)), model)
					if err != nil {
						t.Fatalf("%s (flags %d): %s, %d streams, %s model: %v", c.m, c.flags, name, b, mname, err)
					}
					if !bytes.Equal(got, src) {
						t.Fatalf("%s (flags %d): %s, %d streams, %s model: round trip differs", c.m, c.flags, name, b, mname)
					}
				}
			}
		}
	}
	// An empty file is one empty stream.
	payload, table := mixEncode(t, codec.MethodHybrid2, nil, 1, uniformModel())
	if len(payload) != 0 {
		t.Errorf("empty input: %d payload bytes", len(payload))
	}
	if got, err := mixDecode(codec.MethodHybrid2, table, payload, 0, uniformModel()); err != nil || len(got) != 0 {
		t.Errorf("empty input: %q, %v", got, err)
	}
}

// TestMixGain: a good outside model makes the payload smaller than cm's
// alone, and a useless one costs little more than cm alone.
func TestMixGain(t *testing.T) {
	src := sample.Mixed(60_000)
	cm := len(cmCompress(t, src))
	good, _ := mixEncode(t, codec.MethodHybrid2, src, 1, learntModel(src))
	useless, _ := mixEncode(t, codec.MethodHybrid2, src, 1, uniformModel())
	t.Logf("cm %d B, hybrid with bigram model %d B, with uniform model %d B", cm, len(good), len(useless))
	if len(good) >= cm {
		t.Errorf("a learnt outside model: %d B, cm alone %d B", len(good), cm)
	}
	if float64(len(useless)) > 1.03*float64(cm) {
		t.Errorf("a uniform outside model: %d B, more than 3%% over cm alone (%d B)", len(useless), cm)
	}
	// Streams share the cm tables: three streams cost little more than one.
	three, _ := mixEncode(t, codec.MethodHybrid2, src, 3, learntModel(src))
	if float64(len(three)) > 1.05*float64(len(good)) {
		t.Errorf("3 streams: %d B, one stream %d B", len(three), len(good))
	}
}

// TestMixCorrupt: damaged streams are refused with codec.ErrCorrupt or decode to
// the declared size; never a panic.
func TestMixCorrupt(t *testing.T) {
	src := sample.Mixed(20_000)
	model := learntModel(src)
	payload, table := mixEncode(t, codec.MethodHybrid2, src, 2, model)
	n := int64(len(src))
	streams, err := entropy.ParseStreamTable(table, n, int64(len(payload)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range flipped(payload) {
		got, err := mixDecode(codec.MethodHybrid2, table, p, n, model)
		checkDamaged(t, "flipped byte", src, got, err)
	}
	// A stream one byte short and its neighbour one longer: the payload's
	// total still fits, but stream 0 ends early.
	moved := entropy.AppendStreamTable(nil, []entropy.Stream{
		{Symbols: streams[0].Symbols, Bytes: streams[0].Bytes - 1},
		{Symbols: streams[1].Symbols, Bytes: streams[1].Bytes + 1},
	})
	if _, err := mixDecode(codec.MethodHybrid2, moved, payload, n, model); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("stream boundary moved: %v, want codec.ErrCorrupt", err)
	}
	// Tables the payload cannot hold are refused before decoding.
	for name, s := range map[string][]entropy.Stream{
		"symbols without bytes": {{Symbols: n, Bytes: 0}, {Symbols: 0, Bytes: int64(len(payload))}},
		"bytes without symbols": {{Symbols: 0, Bytes: 1}, {Symbols: n, Bytes: int64(len(payload)) - 1}},
		"too many symbols":      {{Symbols: 1 << 30, Bytes: 1}, {Symbols: n, Bytes: int64(len(payload)) - 1}},
	} {
		var total int64
		for _, x := range s {
			total += x.Symbols
		}
		if _, err := NewMixDecoder(codec.MethodHybrid2, entropy.AppendStreamTable(nil, s), payload, total, 0); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s: %v, want codec.ErrCorrupt", name, err)
		}
	}
	// Asking a finished stream for more is an error, not a read past it.
	d, err := NewMixDecoder(codec.MethodHybrid2, table, payload, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 2)
	freqs := make([]uint16, 512)
	for step := int64(0); step < streams[0].Symbols; step++ {
		k := 2 // streams active at this step
		if step >= streams[1].Symbols {
			k = 1
		}
		for i := range k {
			copy(freqs[i*256:], model[out[i]][:])
		}
		if err := d.DecodeStep(freqs, out[:k]); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	if err := d.DecodeStep(freqs, out); err == nil {
		t.Error("a step past the streams' ends succeeded")
	}
}

// TestMixBitP: the outside model's bit probabilities follow its table.
func TestMixBitP(t *testing.T) {
	freqs := make([]uint16, 256)
	for i := range freqs {
		freqs[i] = 1
	}
	freqs['A'] = 1<<16 - 255 // 'A' = 0b01000001
	var cum [257]uint32
	runningSums(&cum, freqs)
	c0 := uint32(1)
	for k := uint(0); k < 8; k++ {
		bit := uint32('A'>>(7-k)) & 1
		p := bitP(&cum, c0, k)
		if bit == 1 && p < 4000 || bit == 0 && p > 96 {
			t.Errorf("bit %d of 'A' (%d): P(1) = %d/4096", k, bit, p)
		}
		c0 = c0<<1 | bit
	}
	// On a path the table gives no weight, even odds.
	if p := bitP(&cum, 0b11, 1); p != 2048 {
		t.Errorf("a flat subtree: P(1) = %d, want 2048", p)
	}
}

func TestMixContainer(t *testing.T) {
	if m, ok := codec.ParseMethod("hybrid2"); !ok || m != codec.MethodHybrid2 || codec.MethodHybrid2.String() != "hybrid2" {
		t.Errorf("method name: %v %v %q", m, ok, codec.MethodHybrid2)
	}
}

// FuzzMixDecode decodes arbitrary payloads in one or two streams: an error
// wrapping codec.ErrCorrupt or the declared size, never a panic.
func FuzzMixDecode(f *testing.F) {
	p, _ := mixEncode(f, codec.MethodHybrid2, []byte("hello, hello, hello"), 1, uniformModel())
	f.Add(p, uint16(19), uint16(0))
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF}, uint16(1000), uint16(2))
	f.Add([]byte{}, uint16(1), uint16(0))
	f.Fuzz(func(t *testing.T, payload []byte, size, split uint16) {
		n := int64(size % 4096)
		s := []entropy.Stream{{Symbols: n, Bytes: int64(len(payload))}}
		if k := int(split) % (len(payload) + 1); split%2 == 1 && n > 1 {
			s = []entropy.Stream{{Symbols: n - n/2, Bytes: int64(k)}, {Symbols: n / 2, Bytes: int64(len(payload) - k)}}
		}
		got, err := mixDecode(codec.MethodHybrid2, entropy.AppendStreamTable(nil, s), payload, n, uniformModel())
		checkDecoded(t, got, n, err)
	})
}

// TestMix3Gain: on a text, a group of method hybrid (cm revision 3) codes
// smaller than method hybrid2 under the same outside model, in one stream
// and in three; and a group's flags allow only the profile.
func TestMix3Gain(t *testing.T) {
	words := strings.Fields("the time of wisdom and foolishness belief incredulity season light darkness hope despair we had everything before us nothing")
	var src []byte
	for i := 0; len(src) < 60_000; i++ {
		src = fmt.Appendf(src, "%d. It was the %s of %s, the %s of %s;\n", i*7919%10007,
			words[i*7%len(words)], words[i*11%len(words)], words[i*13%len(words)], words[i*3%len(words)])
	}
	model := learntModel(src)
	flags := HybridFlags(src)
	for _, b := range []int{1, 3} {
		h2, _ := mixEncode(t, codec.MethodHybrid2, src, b, model)
		h, _ := mixEncodeFlags(t, codec.MethodHybrid, flags, src, b, model)
		t.Logf("%d streams: hybrid2 %d B, hybrid %d B", b, len(h2), len(h))
		if len(h) >= len(h2) {
			t.Errorf("%d streams: hybrid %d B, hybrid2 %d B", b, len(h), len(h2))
		}
	}
	for _, f := range []uint16{flagX86, 4} {
		if _, err := NewMixEncoder(codec.MethodHybrid, []int64{10}, f); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("flags %#x: %v, want codec.ErrCorrupt", f, err)
		}
	}
	if _, err := NewMixEncoder(codec.MethodHybrid2, []int64{10}, flagProfile); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("hybrid2 with flags: %v, want codec.ErrCorrupt", err)
	}
}
