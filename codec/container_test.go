package codec

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"testing"

	"zpng/codec/internal/sample"
)

// sampleContainer returns a container of method stored holding src: the
// container does not depend on what its payload means.
func sampleContainer(src []byte) *Container {
	return &Container{
		Header: Header{Method: MethodStored, OriginalSize: int64(len(src)), SHA256: sha256.Sum256(src), Name: "söme file.txt"},
		Sections: []Section{
			{Type: SectionMeta, Data: []byte(`{"note":"test"}`)},
			{Type: SectionPayload, Data: src},
		},
	}
}

func encode(t testing.TB, c *Container) []byte {
	var buf bytes.Buffer
	if err := Write(&buf, c); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeOriginal reads a container of method stored and returns its
// payload, the original.
func decodeOriginal(png []byte) ([]byte, *Container, error) {
	c, err := ReadBytes(png)
	if err != nil {
		return nil, nil, err
	}
	payload, _ := c.Section(SectionPayload)
	if c.Method != MethodStored || int64(len(payload)) != c.OriginalSize {
		return nil, c, fmt.Errorf("%w: not a stored payload of %d bytes", ErrCorrupt, c.OriginalSize)
	}
	return payload, c, nil
}

func TestContainerRoundTrip(t *testing.T) {
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog. "), 300)
	for _, src := range [][]byte{nil, {42}, text, sample.Random(1, 5000)} {
		c := sampleContainer(src)
		png := encode(t, c)
		got, rc, err := decodeOriginal(png)
		if err != nil {
			t.Fatalf("%d bytes: %v", len(src), err)
		}
		if !bytes.Equal(got, src) {
			t.Fatalf("%d bytes: decoded %d different bytes", len(src), len(got))
		}
		if rc.Name != c.Name || rc.SHA256 != c.SHA256 || rc.Method != MethodStored || rc.Version != Version ||
			rc.HeaderLen != c.HeaderLen || rc.DataLen != c.DataLen || rc.Width != c.Width || len(rc.Sections) != 2 {
			t.Errorf("header read back as %+v, wrote %+v", rc.Header, c.Header)
		}
		if meta, _ := rc.Section(SectionMeta); string(meta) != `{"note":"test"}` {
			t.Errorf("meta read back as %q", meta)
		}
		checkWithImagePNG(t, png, c)
	}
}

// TestTreeVersion: an image with a TREE section is version 2 and reads back
// so; a version-1 image with a TREE section is corrupt.
func TestTreeVersion(t *testing.T) {
	c := sampleContainer([]byte("abc"))
	c.Sections = append(c.Sections, Section{Type: SectionTree, Data: []byte{1, 2, 3}})
	png := encode(t, c)
	rc, err := ReadBytes(png)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != VersionTree || rc.Version != VersionTree || !rc.IsTree() {
		t.Fatalf("written as version %d, read as %d (tree %v)", c.Version, rc.Version, rc.IsTree())
	}
	if tree, ok := rc.Section(SectionTree); !ok || !bytes.Equal(tree, []byte{1, 2, 3}) {
		t.Fatalf("TREE read back as %v", tree)
	}
	pix := pixels(t, c)
	pix[4] = Version
	fixHeaderCRC(pix)
	if _, err := ReadBytes(rawPNG(t, pix)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "TREE") {
		t.Fatalf("version 1 with a TREE section: %v, want corrupt", err)
	}
}

// checkWithImagePNG decodes the image with the standard library and checks
// the layout: 8-bit RGB, roughly square, pixels = header+sections, then black.
func checkWithImagePNG(t *testing.T, data []byte, c *Container) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image/png: %v", err)
	}
	rgba, ok := img.(*image.RGBA)
	if !ok {
		t.Fatalf("image/png decodes a %T, want *image.RGBA (8-bit RGB)", img)
	}
	b := rgba.Bounds()
	if int64(b.Dx()) != c.Width || int64(b.Dy()) != c.Height {
		t.Fatalf("image is %v, header says %dx%d", b, c.Width, c.Height)
	}
	if b.Dy() > b.Dx() || b.Dx() > 2*b.Dy()+1 {
		t.Errorf("image %dx%d is not roughly square for %d bytes", b.Dx(), b.Dy(), c.DataLen)
	}
	var pix []byte
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			p := rgba.RGBAAt(x, y)
			pix = append(pix, p.R, p.G, p.B)
		}
	}
	want := []byte("ZPNG")
	if !bytes.HasPrefix(pix, want) {
		t.Fatalf("pixels start with %q", pix[:4])
	}
	off := int64(c.HeaderLen)
	for _, s := range c.Sections {
		if !bytes.Equal(pix[off:off+int64(len(s.Data))], s.Data) {
			t.Fatalf("section %s is not at pixel byte %d", s.Type, off)
		}
		off += int64(len(s.Data))
	}
	if off != c.DataLen {
		t.Fatalf("data length %d, sections end at %d", c.DataLen, off)
	}
	for _, v := range pix[off:] {
		if v != 0 {
			t.Fatal("padding is not black")
		}
	}
}

func TestImageSize(t *testing.T) {
	for _, n := range []int64{0, 1, 3, 4, 92, 300, 52769, 1 << 20, 1<<20 + 1, 123456789} {
		w, h := ImageSize(n)
		p := max((n+2)/3, 1)
		if w*h < p || w < h || w > 2*h+1 || w*(h-1) >= p || (w-1)*h >= p && w > isqrtCeil(p) {
			t.Errorf("ImageSize(%d) = %d×%d", n, w, h)
		}
		if pad := w*h - p; pad > w {
			t.Errorf("ImageSize(%d) = %d×%d pads %d pixels", n, w, h, pad)
		}
	}
}

func TestIncompressibleOverhead(t *testing.T) {
	src := sample.Random(9, 1<<20)
	png := encode(t, sampleContainer(src))
	if limit := len(src) + len(src)/200 + 1024; len(png) > limit {
		t.Errorf("1 MiB stored in a PNG of %d bytes, limit %d", len(png), limit)
	}
	t.Logf("1 MiB random: PNG of %d bytes (+%d)", len(png), len(png)-len(src))
}

// rawPNG wraps arbitrary pixel bytes in a valid PNG, for crafting containers.
func rawPNG(t testing.TB, pix []byte) []byte {
	var buf bytes.Buffer
	if err := writePNG(&buf, bytes.NewReader(pix), int64(len(pix))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pixels returns the container bytes of c (header and sections).
func pixels(t testing.TB, c *Container) []byte {
	hdr, err := marshalHeader(&c.Header, c.Sections)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Sections {
		hdr = append(hdr, s.Data...)
	}
	return hdr
}

func fixHeaderCRC(pix []byte) {
	hl := int(binary.LittleEndian.Uint16(pix[6:]))
	binary.LittleEndian.PutUint32(pix[hl-4:], Checksum(pix[:hl-4]))
}

func TestCorruption(t *testing.T) {
	src := bytes.Repeat([]byte("corruption test data "), 500)
	c := sampleContainer(src)
	good := encode(t, c)
	pix := pixels(t, c)
	hl := c.HeaderLen

	otherPNG := func() []byte {
		img := image.NewRGBA(image.Rect(0, 0, 20, 20))
		img.Set(1, 1, color.RGBA{200, 10, 10, 255})
		var buf bytes.Buffer
		png.Encode(&buf, img)
		return buf.Bytes()
	}
	gray := func() []byte {
		var buf bytes.Buffer
		png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8)))
		return buf.Bytes()
	}
	modified := func(f func(p []byte) []byte) []byte {
		return rawPNG(t, f(append([]byte(nil), pix...)))
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty file", nil, ErrNotZPNG},
		{"text file", []byte("hello, world\n"), ErrNotZPNG},
		{"other RGB PNG", otherPNG(), ErrNotZPNG},
		{"grayscale PNG", gray(), ErrNotZPNG},
		{"PNG signature only", good[:8], ErrTruncated},
		{"cut in IHDR", good[:20], ErrTruncated},
		{"cut in IDAT", good[:len(good)/2], ErrTruncated},
		{"cut before IEND", good[:len(good)-12], ErrTruncated},
		{"cut in IEND", good[:len(good)-3], ErrTruncated},
		{"IDAT bit flip", flip(good, len(good)/2), ErrCorrupt},
		{"IHDR bit flip", flip(good, 17), ErrCorrupt},
		{"header bit flip", modified(func(p []byte) []byte { p[30] ^= 1; return p }), ErrCorrupt},
		{"section bit flip", modified(func(p []byte) []byte { p[hl+5] ^= 1; return p }), ErrCorrupt},
		{"payload bit flip", modified(func(p []byte) []byte { p[len(p)-3] ^= 0x10; return p }), ErrCorrupt},
		{"future version", modified(func(p []byte) []byte { p[4] = 9; fixHeaderCRC(p); return p }), ErrUnsupportedVersion},
		{"tree version without TREE", modified(func(p []byte) []byte { p[4] = VersionTree; fixHeaderCRC(p); return p }), ErrCorrupt},
		{"wrong header length", modified(func(p []byte) []byte { p[6]++; return p }), ErrCorrupt},
		{"reserved byte", modified(func(p []byte) []byte { p[9] = 1; fixHeaderCRC(p); return p }), ErrCorrupt},
		{"huge original size", modified(func(p []byte) []byte { p[19] = 0xff; fixHeaderCRC(p); return p }), ErrCorrupt},
		{"section beyond image", modified(func(p []byte) []byte {
			binary.LittleEndian.PutUint64(p[hl-4-16+8:], 1<<40)
			fixHeaderCRC(p)
			return p
		}), ErrCorrupt},
		{"bad name UTF-8", modified(func(p []byte) []byte { p[fixedHeaderLen+1] = 0xff; fixHeaderCRC(p); return p }), ErrCorrupt},
		{"repeated section", modified(func(p []byte) []byte {
			copy(p[hl-4-16:], "META")
			fixHeaderCRC(p)
			return p
		}), ErrCorrupt},
		{"image too small for header", rawPNG(t, pix[:50]), ErrCorrupt},
		{"pixels not ZPNG", rawPNG(t, []byte("ZPNx and more")), ErrNotZPNG},
		{"out of proportion", bomb(), ErrCorrupt},
	}
	for _, tc := range cases {
		_, _, err := decodeOriginal(tc.data)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if ErrNotZPNG.Error() != "not a ZPNG image" {
		t.Errorf("ErrNotZPNG says %q", ErrNotZPNG)
	}
}

// bomb returns a tiny PNG declaring a huge image.
func bomb() []byte {
	var b bytes.Buffer
	w := bufioWriter(&b)
	w.Write(pngSignature[:])
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], 1<<30)
	binary.BigEndian.PutUint32(ihdr[4:], 1<<30)
	ihdr[8], ihdr[9] = 8, 2
	writeChunk(w, "IHDR", ihdr[:])
	writeChunk(w, "IEND", nil)
	w.Flush()
	return b.Bytes()
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x04
	return c
}

func TestTruncatedEverywhere(t *testing.T) {
	c := sampleContainer(sample.Random(3, 3000))
	good := encode(t, c)
	for n := 8; n < len(good); n += 1 + n/50 {
		_, _, err := decodeOriginal(good[:n])
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d of %d: %v, want ErrTruncated", n, len(good), err)
		}
	}
}

func TestFilteredPNGAccepted(t *testing.T) {
	// A ZPNG re-encoded by another tool (filters, compression) still reads.
	c := sampleContainer(bytes.Repeat([]byte("abc"), 1000))
	orig := encode(t, c)
	img, err := png.Decode(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	// image/png writes an opaque RGBA image as 8-bit RGB.
	got, _, err := decodeOriginal(buf.Bytes())
	if err != nil {
		t.Fatalf("re-encoded image: %v", err)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte("abc"), 1000)) {
		t.Fatal("re-encoded image decodes differently")
	}
}

func TestReaderHeaderOnly(t *testing.T) {
	c := sampleContainer(sample.Random(4, 100000))
	good := encode(t, c)
	r, err := NewReader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Next()
	if err != nil || s.Type != SectionMeta {
		t.Fatalf("first section %s, %v", s.Type, err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func bufioWriter(w io.Writer) *bufio.Writer { return bufio.NewWriter(w) }
