// Package codec reads and writes the ZPNG container: an 8-bit RGB PNG whose
// pixel bytes carry a header and typed sections, among them the payload of
// one compression method. It defines the method and section ids and the
// reader's errors; the methods themselves live in its subpackages
// (classic, cm) and their coders in entropy. FORMAT.md specifies the
// format byte by byte.
package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf8"
)

// Container format versions (FORMAT.md section 2). Version 1 holds one
// file; version 2, the same layout, holds a tree of files and folders and
// has a TREE section (section 14), so that a reader that knows only
// version 1 refuses it rather than restoring the tree's content stream as
// one file.
const (
	Version     = 1
	VersionTree = 2
)

// Limits of the format (FORMAT.md, "Limits").
const (
	MaxOriginalSize = 1 << 40 // bytes of the original file
	MaxNameLen      = 1024    // bytes of the stored file name
	MaxSections     = 32
	fixedHeaderLen  = 88 // bytes before the name
	sectionEntryLen = 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum returns the CRC-32C (Castagnoli) of b, the checksum of the
// container header and sections.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Method identifies how the payload was made.
type Method uint8

// Methods cm1 and hybrid1 run revision 1 of the cm model (FORMAT.md
// section 10), cm2, hybrid2 and hybrid3 revision 2, cm3 and hybrid
// revision 3, cm revision 4; hybrid3 and hybrid code groups of streams
// independently (sections 13 and 15). zpng decodes cm1, hybrid1, cm2,
// hybrid2, hybrid3 and cm3 but makes cm and hybrid (and cm3 in the regions
// of method regions).
const (
	MethodStored  Method = 0
	MethodZstd    Method = 1
	MethodXz      Method = 2
	MethodNeural  Method = 3
	MethodCM1     Method = 4
	MethodHybrid1 Method = 5
	MethodCM2     Method = 6
	MethodHybrid2 Method = 7
	MethodHybrid3 Method = 8
	MethodCM3     Method = 9
	MethodHybrid  Method = 10
	// MethodRegions cuts the file into regions by content and codes each
	// with a method of its own (section 16).
	MethodRegions Method = 11
	MethodCM      Method = 12
	// MethodCopy is a region of method regions that repeats earlier bytes
	// of the file (FORMAT.md section 16); it is no method of an image.
	MethodCopy Method = 13
)

var methodNames = map[Method]string{
	MethodStored: "stored", MethodZstd: "zstd", MethodXz: "xz", MethodNeural: "neural",
	MethodCM1: "cm1", MethodHybrid1: "hybrid1", MethodCM2: "cm2", MethodHybrid2: "hybrid2",
	MethodHybrid3: "hybrid3", MethodCM3: "cm3", MethodHybrid: "hybrid", MethodRegions: "regions",
	MethodCM: "cm", MethodCopy: "copy",
}

func (m Method) String() string {
	if s, ok := methodNames[m]; ok {
		return s
	}
	return fmt.Sprintf("method-%d", uint8(m))
}

// ParseMethod returns the method with the given name.
func ParseMethod(name string) (Method, bool) {
	for m, s := range methodNames {
		if s == name {
			return m, true
		}
	}
	return 0, false
}

// SectionType is a section's four-character code.
type SectionType [4]byte

// Section types; a method decides which it uses.
var (
	SectionMeta    = SectionType{'M', 'E', 'T', 'A'} // small JSON object for display
	SectionStreams = SectionType{'S', 'T', 'R', 'M'} // stream table (AppendStreamTable)
	SectionWeights = SectionType{'W', 'G', 'H', 'T'} // model weights or weight delta
	SectionPayload = SectionType{'D', 'A', 'T', 'A'} // the coded data
	SectionTree    = SectionType{'T', 'R', 'E', 'E'} // the entries of a tree (version 2)
	SectionRegions = SectionType{'R', 'G', 'N', 'S'} // the region table of method regions
)

func (t SectionType) String() string { return string(t[:]) }

func (t SectionType) valid() bool {
	for _, c := range t {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Section is one typed block of the container.
type Section struct {
	Type SectionType
	Data []byte
}

// SectionInfo is an entry of the section table.
type SectionInfo struct {
	Type   SectionType
	Length int64
	CRC    uint32 // CRC-32C of the section's bytes
}

// Header is the container header. The writer fills Table, HeaderLen,
// DataLen, Width and Height from the sections; the reader fills them from
// the file.
type Header struct {
	Version      int
	Method       Method
	Flags        uint16 // meaning defined by the method; 0 for stored, zstd, xz
	OriginalSize int64
	SHA256       [32]byte // of the original file
	Name         string   // base name of the original file, UTF-8
	ModelID      [32]byte // SHA-256 of the base model file; zero when unused

	Table         []SectionInfo
	HeaderLen     int   // bytes of the header, checksum included
	DataLen       int64 // header plus sections
	Width, Height int64 // of the image
}

// IsTree reports whether the image holds a tree of files and folders
// (version 2) rather than one file.
func (h *Header) IsTree() bool { return h.Version == VersionTree }

// Container is a header and its sections.
type Container struct {
	Header
	Sections []Section
}

// Section returns the data of the section of type t.
func (c *Container) Section(t SectionType) ([]byte, bool) {
	for _, s := range c.Sections {
		if s.Type == t {
			return s.Data, true
		}
	}
	return nil, false
}

// marshalHeader encodes h for sections and fills h's derived fields.
func marshalHeader(h *Header, sections []Section) ([]byte, error) {
	if !utf8.ValidString(h.Name) || len(h.Name) > MaxNameLen {
		return nil, fmt.Errorf("codec: file name must be valid UTF-8 of at most %d bytes", MaxNameLen)
	}
	if len(sections) > MaxSections {
		return nil, fmt.Errorf("codec: %d sections (at most %d)", len(sections), MaxSections)
	}
	if h.OriginalSize < 0 || h.OriginalSize > MaxOriginalSize {
		return nil, fmt.Errorf("codec: original size %d out of range (at most %d)", h.OriginalSize, int64(MaxOriginalSize))
	}
	h.Version = Version
	h.Table = h.Table[:0]
	seen := map[SectionType]bool{}
	for _, s := range sections {
		if !s.Type.valid() || seen[s.Type] {
			return nil, fmt.Errorf("codec: invalid or repeated section type %q", s.Type[:])
		}
		seen[s.Type] = true
		if s.Type == SectionTree {
			h.Version = VersionTree
		}
		h.Table = append(h.Table, SectionInfo{Type: s.Type, Length: int64(len(s.Data)), CRC: Checksum(s.Data)})
	}
	hl := fixedHeaderLen + len(h.Name) + sectionEntryLen*len(sections) + 4
	b := make([]byte, 0, hl)
	b = append(b, "ZPNG"...)
	b = binary.LittleEndian.AppendUint16(b, uint16(h.Version))
	b = binary.LittleEndian.AppendUint16(b, uint16(hl))
	b = append(b, byte(h.Method), 0)
	b = binary.LittleEndian.AppendUint16(b, h.Flags)
	b = binary.LittleEndian.AppendUint64(b, uint64(h.OriginalSize))
	b = append(b, h.SHA256[:]...)
	b = append(b, h.ModelID[:]...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h.Name)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(sections)))
	b = append(b, h.Name...)
	h.DataLen = int64(hl)
	for _, e := range h.Table {
		b = append(b, e.Type[:]...)
		b = binary.LittleEndian.AppendUint32(b, e.CRC)
		b = binary.LittleEndian.AppendUint64(b, uint64(e.Length))
		h.DataLen += e.Length
	}
	b = binary.LittleEndian.AppendUint32(b, Checksum(b))
	h.HeaderLen = len(b)
	h.Width, h.Height = ImageSize(h.DataLen)
	return b, nil
}

// Write writes c as a ZPNG image. It fills c's derived header fields.
func Write(w io.Writer, c *Container) error {
	hdr, err := marshalHeader(&c.Header, c.Sections)
	if err != nil {
		return err
	}
	parts := []io.Reader{bytes.NewReader(hdr)}
	for _, s := range c.Sections {
		parts = append(parts, bytes.NewReader(s.Data))
	}
	return writePNG(w, io.MultiReader(parts...), c.DataLen)
}

// nearMagic reports whether the first pixel is close to "ZPN" of the magic,
// as it stays when a lossy re-encoding (JPEG and back) blurs a ZPNG image:
// the first pixel keeps its colour within a few levels, the rest of the
// magic is mixed with its neighbours.
func nearMagic(b []byte) bool {
	for i, c := range []byte("ZPN") {
		if d := int(b[i]) - int(c); d < -40 || d > 40 {
			return false
		}
	}
	return true
}

// Reader reads a ZPNG image: the header first, then the sections in order.
type Reader struct {
	Header
	png  *pngReader
	next int
}

// NewReader checks the PNG and reads the container header. size is the
// total size of the input in bytes; it bounds what the reader will allocate.
func NewReader(r io.Reader, size int64) (*Reader, error) {
	p, err := openPNG(r, size)
	if err != nil {
		return nil, err
	}
	capacity := 3 * p.width * p.height
	var fixed [fixedHeaderLen]byte
	if _, err := io.ReadFull(p, fixed[:4]); err != nil {
		return nil, eofAs(err, ErrNotZPNG)
	}
	if string(fixed[:4]) != "ZPNG" {
		if nearMagic(fixed[:4]) {
			return nil, fmt.Errorf("%w: its pixels were changed, probably by a lossy re-encoding "+
				"(a photo site, a chat app or a JPEG conversion); only the original PNG file restores", ErrNotZPNG)
		}
		return nil, fmt.Errorf("%w: the pixels do not start with ZPNG", ErrNotZPNG)
	}
	if _, err := io.ReadFull(p, fixed[4:8]); err != nil {
		return nil, eofAs(err, ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint16(fixed[4:]); v != Version && v != VersionTree {
		return nil, fmt.Errorf("%w: version %d (this reader knows versions %d and %d)", ErrUnsupportedVersion, v, Version, VersionTree)
	}
	hl := int64(binary.LittleEndian.Uint16(fixed[6:]))
	if hl < fixedHeaderLen+4 || hl > fixedHeaderLen+MaxNameLen+sectionEntryLen*MaxSections+4 || hl > capacity {
		return nil, fmt.Errorf("%w: header length %d", ErrCorrupt, hl)
	}
	hdr := make([]byte, hl)
	copy(hdr, fixed[:8])
	if _, err := io.ReadFull(p, hdr[8:]); err != nil {
		return nil, eofAs(err, ErrCorrupt)
	}
	if binary.LittleEndian.Uint32(hdr[hl-4:]) != Checksum(hdr[:hl-4]) {
		return nil, fmt.Errorf("%w: header checksum mismatch", ErrCorrupt)
	}
	h, err := parseHeader(hdr, capacity)
	if err != nil {
		return nil, err
	}
	h.Width, h.Height = p.width, p.height
	return &Reader{Header: *h, png: p}, nil
}

// eofAs maps running out of pixels to kind (the PNG itself was complete so
// far; it is simply too small to hold what the header says).
func eofAs(err error, kind error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the image is too small for a ZPNG header", kind)
	}
	return err
}

// parseHeader decodes a header whose checksum has been checked; capacity is
// the number of pixel bytes in the image.
func parseHeader(b []byte, capacity int64) (*Header, error) {
	h := &Header{Version: int(binary.LittleEndian.Uint16(b[4:])), HeaderLen: len(b)}
	h.Method = Method(b[8])
	if b[9] != 0 {
		return nil, fmt.Errorf("%w: reserved header byte is %d", ErrCorrupt, b[9])
	}
	h.Flags = binary.LittleEndian.Uint16(b[10:])
	size := binary.LittleEndian.Uint64(b[12:])
	if size > MaxOriginalSize {
		return nil, fmt.Errorf("%w: original size %d beyond the limit of %d", ErrCorrupt, size, int64(MaxOriginalSize))
	}
	h.OriginalSize = int64(size)
	copy(h.SHA256[:], b[20:52])
	copy(h.ModelID[:], b[52:84])
	nameLen := int(binary.LittleEndian.Uint16(b[84:]))
	count := int(binary.LittleEndian.Uint16(b[86:]))
	if nameLen > MaxNameLen || count > MaxSections || fixedHeaderLen+nameLen+sectionEntryLen*count+4 != len(b) {
		return nil, fmt.Errorf("%w: header of %d bytes with a %d-byte name and %d sections", ErrCorrupt, len(b), nameLen, count)
	}
	name := b[fixedHeaderLen : fixedHeaderLen+nameLen]
	if !utf8.Valid(name) {
		return nil, fmt.Errorf("%w: file name is not UTF-8", ErrCorrupt)
	}
	h.Name = string(name)
	h.DataLen = int64(len(b))
	seen := map[SectionType]bool{}
	for i := 0; i < count; i++ {
		e := b[fixedHeaderLen+nameLen+sectionEntryLen*i:]
		var s SectionInfo
		copy(s.Type[:], e[:4])
		s.CRC = binary.LittleEndian.Uint32(e[4:])
		length := binary.LittleEndian.Uint64(e[8:])
		if !s.Type.valid() || seen[s.Type] {
			return nil, fmt.Errorf("%w: invalid or repeated section type %q", ErrCorrupt, s.Type[:])
		}
		seen[s.Type] = true
		if length > uint64(capacity-h.DataLen) {
			return nil, fmt.Errorf("%w: section %s of %d bytes does not fit the image", ErrCorrupt, s.Type, length)
		}
		s.Length = int64(length)
		h.DataLen += s.Length
		h.Table = append(h.Table, s)
	}
	switch {
	case h.IsTree() && !seen[SectionTree]:
		return nil, fmt.Errorf("%w: an image of a tree (version %d) without a TREE section", ErrCorrupt, h.Version)
	case !h.IsTree() && seen[SectionTree]:
		return nil, fmt.Errorf("%w: an image of one file (version %d) with a TREE section", ErrCorrupt, h.Version)
	}
	return h, nil
}

// Next returns the next section, its checksum checked, or io.EOF after the
// last one.
func (r *Reader) Next() (Section, error) {
	if r.next == len(r.Table) {
		return Section{}, io.EOF
	}
	e := r.Table[r.next]
	r.next++
	data, err := readN(r.png, e.Length)
	if err != nil {
		return Section{}, err
	}
	if Checksum(data) != e.CRC {
		return Section{}, fmt.Errorf("%w: section %s checksum mismatch", ErrCorrupt, e.Type)
	}
	return Section{Type: e.Type, Data: data}, nil
}

// Skip passes over the next section without keeping it (its checksum is
// still checked).
func (r *Reader) Skip() error {
	if r.next == len(r.Table) {
		return io.EOF
	}
	e := r.Table[r.next]
	r.next++
	crc := crc32.New(castagnoli)
	if _, err := io.CopyN(crc, r.png, e.Length); err != nil {
		return eofAs(err, ErrCorrupt)
	}
	if crc.Sum32() != e.CRC {
		return fmt.Errorf("%w: section %s checksum mismatch", ErrCorrupt, e.Type)
	}
	return nil
}

// readN reads n bytes, growing the buffer as data arrives so that a false
// length cannot make it allocate far more than the input holds.
func readN(r io.Reader, n int64) ([]byte, error) {
	const step = 16 << 20
	if n <= step {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, eofAs(err, ErrCorrupt)
	}
	var buf bytes.Buffer
	buf.Grow(step)
	_, err := io.CopyN(&buf, r, n)
	return buf.Bytes(), eofAs(err, ErrCorrupt)
}

// Close reads the rest of the image (padding, zlib checksum, remaining
// chunks) so that every checksum of the file has been checked.
func (r *Reader) Close() error {
	for r.next < len(r.Table) {
		if err := r.Skip(); err != nil {
			return err
		}
	}
	return r.png.finish()
}

// Read reads and checks a whole ZPNG image of size bytes.
func Read(r io.Reader, size int64) (*Container, error) {
	zr, err := NewReader(r, size)
	if err != nil {
		return nil, err
	}
	c := &Container{Header: zr.Header}
	for {
		s, err := zr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		c.Sections = append(c.Sections, s)
	}
	if err := zr.Close(); err != nil {
		return nil, err
	}
	return c, nil
}

// ReadBytes reads a whole ZPNG image held in memory.
func ReadBytes(b []byte) (*Container, error) {
	return Read(bytes.NewReader(b), int64(len(b)))
}
