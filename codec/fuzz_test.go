package codec_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"zpng/codec"
	"zpng/codec/classic"
	"zpng/codec/cm"
	"zpng/codec/entropy"
	"zpng/codec/internal/sample"
)

// Known reader errors; anything else from reading bytes in memory is a bug.
func expectedReadError(err error) bool {
	for _, e := range []error{codec.ErrNotZPNG, codec.ErrTruncated, codec.ErrCorrupt, codec.ErrUnsupportedVersion, codec.ErrUnsupportedMethod} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// checkDecode reads a ZPNG image and decodes its payload, which must never
// panic and must fail only with the reader's sentinel errors.
func checkDecode(t *testing.T, data []byte) {
	c, err := codec.ReadBytes(data)
	if err != nil {
		if !expectedReadError(err) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		return
	}
	if c.Width*c.Height*3 < c.DataLen || c.DataLen > int64(codec.MaxExpansion*len(data)+codec.ExpansionSlack) {
		t.Fatalf("accepted %d bytes of data in a %dx%d image from %d bytes", c.DataLen, c.Width, c.Height, len(data))
	}
	if strm, ok := c.Section(codec.SectionStreams); ok {
		payload, _ := c.Section(codec.SectionPayload)
		if d, err := entropy.NewStreamDecoder(strm, payload, c.OriginalSize); err == nil {
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
		} else if !errors.Is(err, codec.ErrCorrupt) {
			t.Fatalf("stream table: %v", err)
		}
	}
	payload, ok := c.Section(codec.SectionPayload)
	isCM := c.Method == codec.MethodCM || c.Method == codec.MethodCM3 || c.Method == codec.MethodCM2 || c.Method == codec.MethodCM1
	if !ok || !(c.Method <= codec.MethodXz || isCM) || c.OriginalSize > 1<<22 || isCM && c.OriginalSize > 1<<16 {
		return
	}
	var r io.ReadCloser
	if isCM {
		r, err = cm.NewFlagDecompressor(c.Method, payload, c.OriginalSize, c.Flags)
	} else {
		r, err = classic.NewDecompressor(c.Method, payload, c.OriginalSize)
	}
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
	if err != nil && !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("%s payload: %v", c.Method, err)
	}
}

// image returns the ZPNG image of c.
func image(t testing.TB, c *codec.Container) []byte {
	var buf bytes.Buffer
	if err := codec.Write(&buf, c); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compressed returns a container holding src compressed with method m, one
// of stored, zstd, xz, cm, cm2 and cm1.
func compressed(t testing.TB, m codec.Method, src []byte) *codec.Container {
	var flags uint16
	newCompressor := classic.NewCompressor
	switch m {
	case codec.MethodCM, codec.MethodCM3:
		flags = cm.Flags(src)
		fallthrough
	case codec.MethodCM2, codec.MethodCM1:
		newCompressor = func(m codec.Method, w io.Writer, n int64) (io.WriteCloser, error) {
			return cm.NewFlagCompressor(m, w, n, flags)
		}
	}
	var payload bytes.Buffer
	w, err := newCompressor(m, &payload, int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(src)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &codec.Container{
		Header:   codec.Header{Method: m, Flags: flags, OriginalSize: int64(len(src)), SHA256: sha256.Sum256(src), Name: "f"},
		Sections: []codec.Section{{Type: codec.SectionPayload, Data: payload.Bytes()}},
	}
}

func seedImages(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, m := range []codec.Method{codec.MethodStored, codec.MethodZstd, codec.MethodXz, codec.MethodCM, codec.MethodCM3, codec.MethodCM2, codec.MethodCM1} {
		for _, src := range [][]byte{nil, []byte("hello, hello, hello"), sample.Random(2, 300)} {
			seeds = append(seeds, image(f, compressed(f, m, src)))
		}
	}
	// A neural-shaped container: weights, stream table, payload.
	enc := entropy.NewStreamEncoder(2)
	f16 := make([]uint16, 256)
	for i := range f16 {
		f16[i] = 256
	}
	enc.EncodeStep(make([]uint16, 512), nil)
	for i := 0; i < 5; i++ {
		enc.EncodeStep(append(f16, f16...), []byte{byte(i), byte(2 * i)})
	}
	payload, table, _ := enc.Finish([]int64{5, 5})
	seeds = append(seeds, image(f, &codec.Container{
		Header: codec.Header{Method: codec.MethodNeural, Flags: 1, OriginalSize: 10, Name: "n"},
		Sections: []codec.Section{{codec.SectionMeta, []byte(`{}`)}, {codec.SectionWeights, []byte{1, 2, 3}},
			{codec.SectionStreams, table}, {codec.SectionPayload, payload}},
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
		c, err := codec.ReadBytes(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(codec.Pixels(f, c))
	}
	f.Fuzz(func(t *testing.T, pix []byte) {
		if len(pix) > 1<<20 {
			return
		}
		pix = append([]byte(nil), pix...)
		fixChecksums(pix)
		var buf bytes.Buffer
		if err := codec.WritePNG(&buf, bytes.NewReader(pix), int64(len(pix))); err != nil {
			t.Fatal(err)
		}
		checkDecode(t, buf.Bytes())
	})
}

// fixChecksums recomputes the section and header CRCs of container bytes
// wherever the table's lengths allow.
func fixChecksums(p []byte) {
	if len(p) < codec.FixedHeaderLen+4 {
		return
	}
	hl := int(binary.LittleEndian.Uint16(p[6:]))
	nameLen := int(binary.LittleEndian.Uint16(p[84:]))
	count := int(binary.LittleEndian.Uint16(p[86:]))
	if hl > len(p) || hl < codec.FixedHeaderLen+4 {
		return
	}
	off := hl
	for i := 0; i < count; i++ {
		e := codec.FixedHeaderLen + nameLen + codec.SectionEntryLen*i
		if e+codec.SectionEntryLen > hl-4 {
			break
		}
		n := binary.LittleEndian.Uint64(p[e+8:])
		if n > uint64(len(p)-off) {
			break
		}
		binary.LittleEndian.PutUint32(p[e+4:], codec.Checksum(p[off:off+int(n)]))
		off += int(n)
	}
	binary.LittleEndian.PutUint32(p[hl-4:], codec.Checksum(p[:hl-4]))
}
