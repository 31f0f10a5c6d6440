package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// Known reader errors; anything else from reading bytes in memory is a bug.
func expectedReadError(err error) bool {
	for _, e := range []error{ErrNotZPNG, ErrTruncated, ErrCorrupt, ErrUnsupportedVersion, ErrUnsupportedMethod} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// checkDecode reads a ZPNG image and decodes its payload, which must never
// panic and must fail only with the reader's sentinel errors.
func checkDecode(t *testing.T, data []byte) {
	c, err := ReadBytes(data)
	if err != nil {
		if !expectedReadError(err) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		return
	}
	if c.Width*c.Height*3 < c.DataLen || c.DataLen > int64(MaxExpansion*len(data)+expansionSlack) {
		t.Fatalf("accepted %d bytes of data in a %dx%d image from %d bytes", c.DataLen, c.Width, c.Height, len(data))
	}
	if strm, ok := c.Section(SectionStreams); ok {
		payload, _ := c.Section(SectionPayload)
		if d, err := NewStreamDecoder(strm, payload, c.OriginalSize); err == nil {
			f := make([]uint16, 256*len(d.Streams))
			for i := range f {
				f[i] = 256
			}
			out := make([]byte, len(d.Streams))
			for i := 0; i < 100; i++ {
				if err := d.DecodeStep(f, out); err != nil {
					t.Fatalf("uniform tables failed: %v", err)
				}
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("stream table: %v", err)
		}
	}
	payload, ok := c.Section(SectionPayload)
	classical := c.Method <= MethodXz || c.Method == MethodCM || c.Method == MethodCM1
	if !ok || !classical || c.OriginalSize > 1<<22 || c.Method >= MethodCM1 && c.OriginalSize > 1<<16 {
		return
	}
	r, err := NewDecompressor(c.Method, payload, c.OriginalSize)
	if err != nil {
		if !expectedReadError(err) {
			t.Fatalf("decompressor: %v", err)
		}
		return
	}
	n, err := io.Copy(io.Discard, r)
	if err == nil && n != c.OriginalSize {
		t.Fatalf("%s payload gave %d bytes for %d without an error", c.Method, n, c.OriginalSize)
	}
	if err != nil && !errors.Is(err, ErrCorrupt) {
		t.Fatalf("%s payload: %v", c.Method, err)
	}
}

func seedImages(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, m := range []Method{MethodStored, MethodZstd, MethodXz, MethodCM, MethodCM1} {
		for _, src := range [][]byte{nil, []byte("hello, hello, hello"), randomBytes(2, 300)} {
			seeds = append(seeds, encode(f, sampleContainer(f, m, src)))
		}
	}
	// A neural-shaped container: weights, stream table, payload.
	enc := NewStreamEncoder(2)
	f16 := uniformTable()
	enc.EncodeStep(make([]uint16, 512), nil)
	for i := 0; i < 5; i++ {
		enc.EncodeStep(append(f16, f16...), []byte{byte(i), byte(2 * i)})
	}
	payload, table, _ := enc.Finish([]int64{5, 5})
	seeds = append(seeds, encode(f, &Container{
		Header: Header{Method: MethodNeural, Flags: 1, OriginalSize: 10, Name: "n"},
		Sections: []Section{{SectionMeta, []byte(`{}`)}, {SectionWeights, []byte{1, 2, 3}},
			{SectionStreams, table}, {SectionPayload, payload}},
	}))
	return seeds
}

// FuzzRead feeds whole files to the reader.
func FuzzRead(f *testing.F) {
	for _, s := range seedImages(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
	})
}

// FuzzContainer feeds pixel data to the container parser inside a valid
// PNG, with the checksums recomputed so that the fuzzer reaches the field
// checks and the payload decoders behind them.
func FuzzContainer(f *testing.F) {
	for _, s := range seedImages(f) {
		c, err := ReadBytes(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pixels(f, c))
	}
	f.Fuzz(func(t *testing.T, pix []byte) {
		if len(pix) > 1<<20 {
			return
		}
		pix = append([]byte(nil), pix...)
		fixChecksums(pix)
		var buf bytes.Buffer
		if err := writePNG(&buf, bytes.NewReader(pix), int64(len(pix))); err != nil {
			t.Fatal(err)
		}
		checkDecode(t, buf.Bytes())
	})
}

// fixChecksums recomputes the section and header CRCs of container bytes
// wherever the table's lengths allow.
func fixChecksums(p []byte) {
	if len(p) < fixedHeaderLen+4 {
		return
	}
	hl := int(binary.LittleEndian.Uint16(p[6:]))
	nameLen := int(binary.LittleEndian.Uint16(p[84:]))
	count := int(binary.LittleEndian.Uint16(p[86:]))
	if hl > len(p) || hl < fixedHeaderLen+4 {
		return
	}
	off := hl
	for i := 0; i < count; i++ {
		e := fixedHeaderLen + nameLen + sectionEntryLen*i
		if e+sectionEntryLen > hl-4 {
			break
		}
		n := binary.LittleEndian.Uint64(p[e+8:])
		if n > uint64(len(p)-off) {
			break
		}
		binary.LittleEndian.PutUint32(p[e+4:], Checksum(p[off:off+int(n)]))
		off += int(n)
	}
	binary.LittleEndian.PutUint32(p[hl-4:], Checksum(p[:hl-4]))
}

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
