package codec

import (
	"bufio"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
)

// The container is carried in the pixel bytes of an 8-bit RGB PNG
// (FORMAT.md, "PNG layout"). This file writes and reads that image; it knows
// nothing of what the bytes mean.

var pngSignature = [8]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}

const (
	idatChunkSize = 1 << 20 // bytes of zlib data per IDAT chunk the writer emits

	// MaxExpansion bounds the raw image size (rows with their filter bytes)
	// a reader accepts: at most MaxExpansion times the file size plus
	// expansionSlack. ZPNG writes IDAT uncompressed, so its images are
	// about 1×; anything far above is a decompression bomb.
	MaxExpansion   = 64
	expansionSlack = 1 << 20
)

// ImageSize returns the width and height of the image that carries n bytes:
// p = ceil(n/3) pixels (at least 1); among the widths w from ceil(sqrt(p))
// to ceil(sqrt(2p)), with h = ceil(p/w), the one with the fewest raw image
// bytes h·(3w+1), the narrowest on a tie. The image is thus square or up to
// about twice as wide as high, with little padding.
func ImageSize(n int64) (width, height int64) {
	p := max((n+2)/3, 1)
	lo, hi := isqrtCeil(p), isqrtCeil(2*p)
	best := int64(-1)
	for w := lo; w <= hi; w++ {
		h := (p + w - 1) / w
		if raw := h * (3*w + 1); best < 0 || raw < best {
			best, width, height = raw, w, h
		}
	}
	return width, height
}

// isqrtCeil returns the smallest w ≥ 1 with w·w ≥ p.
func isqrtCeil(p int64) int64 {
	w := max(int64(math.Sqrt(float64(p))), 1)
	for w*w < p {
		w++
	}
	for w > 1 && (w-1)*(w-1) >= p {
		w--
	}
	return w
}

// writePNG writes the n bytes of data as the pixels of an RGB PNG.
func writePNG(w io.Writer, data io.Reader, n int64) error {
	width, height := ImageSize(n)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(pngSignature[:])
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8] = 8  // bit depth
	ihdr[9] = 2  // color type: RGB
	ihdr[10] = 0 // deflate
	ihdr[11] = 0 // adaptive filtering
	ihdr[12] = 0 // no interlace
	writeChunk(bw, "IHDR", ihdr[:])

	cw := &chunkWriter{w: bw, buf: make([]byte, 0, idatChunkSize)}
	z, err := zlib.NewWriterLevel(cw, zlib.NoCompression)
	if err != nil {
		return err
	}
	row := make([]byte, 1+3*width) // filter byte 0 (None), then pixels
	for y := int64(0); y < height; y++ {
		px := row[1:]
		k, err := io.ReadFull(data, px)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return err
		}
		clear(px[k:]) // unused pixels are black
		if _, err := z.Write(row); err != nil {
			return err
		}
	}
	if err := z.Close(); err != nil {
		return err
	}
	cw.flush()
	writeChunk(bw, "IEND", nil)
	if cw.err != nil {
		return cw.err
	}
	return bw.Flush()
}

func writeChunk(w *bufio.Writer, typ string, data []byte) {
	var b [8]byte
	binary.BigEndian.PutUint32(b[:4], uint32(len(data)))
	copy(b[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(b[4:])
	crc.Write(data)
	w.Write(b[:])
	w.Write(data)
	binary.BigEndian.PutUint32(b[:4], crc.Sum32())
	w.Write(b[:4])
}

// chunkWriter cuts the zlib stream into IDAT chunks.
type chunkWriter struct {
	w   *bufio.Writer
	buf []byte
	err error
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), cap(c.buf)-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		if len(c.buf) == cap(c.buf) {
			c.flush()
		}
	}
	return n, c.err
}

func (c *chunkWriter) flush() {
	if len(c.buf) > 0 {
		writeChunk(c.w, "IDAT", c.buf)
		c.buf = c.buf[:0]
	}
}

// pngReader reads the pixel bytes of an 8-bit RGB PNG, row by row, checking
// every chunk CRC and the zlib checksum. Read returns the pixel bytes in
// order (R, G, B, left to right, top to bottom).
type pngReader struct {
	src  *source
	crc  hash.Hash32
	z    io.ReadCloser
	idat idatReader

	width, height int64
	rowLen        int // bytes per row including the filter byte
	prev, cur     []byte
	rows          int64 // rows decoded so far
	off           int   // next unread byte of cur
}

// source counts what is read from the file and remembers whether it ended.
type source struct {
	r    *bufio.Reader
	pos  int64
	size int64
	eof  bool
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.pos += int64(n)
	if err == io.EOF {
		s.eof = true
	}
	return n, err
}

func (s *source) readFull(p []byte) error {
	_, err := io.ReadFull(s, p)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		s.eof = true
		return fmt.Errorf("%w: file ends at byte %d", ErrTruncated, s.pos)
	}
	return err
}

// chunkHeader reads a chunk's length and type, refusing lengths beyond the file.
func (p *pngReader) chunkHeader() (length int64, typ string, err error) {
	var b [8]byte
	if err := p.src.readFull(b[:]); err != nil {
		return 0, "", err
	}
	length = int64(binary.BigEndian.Uint32(b[:4]))
	typ = string(b[4:])
	for _, c := range b[4:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return 0, "", fmt.Errorf("%w: invalid PNG chunk type %q", ErrCorrupt, typ)
		}
	}
	if length > 1<<31-1 {
		return 0, "", fmt.Errorf("%w: PNG chunk %s of %d bytes", ErrCorrupt, typ, length)
	}
	if length+4 > p.src.size-p.src.pos {
		return 0, "", fmt.Errorf("%w: PNG chunk %s of %d bytes at byte %d of %d", ErrTruncated, typ, length, p.src.pos, p.src.size)
	}
	p.crc.Reset()
	p.crc.Write(b[4:])
	return length, typ, nil
}

// checkCRC reads a chunk's CRC and compares it with what was hashed.
func (p *pngReader) checkCRC(typ string) error {
	var b [4]byte
	if err := p.src.readFull(b[:]); err != nil {
		return err
	}
	if binary.BigEndian.Uint32(b[:]) != p.crc.Sum32() {
		return fmt.Errorf("%w: PNG chunk %s checksum mismatch", ErrCorrupt, typ)
	}
	return nil
}

// skipChunk reads and checks a chunk whose content is not needed.
func (p *pngReader) skipChunk(typ string, length int64) error {
	if _, err := io.CopyN(p.crc, p.src, length); err != nil {
		return fmt.Errorf("%w: in PNG chunk %s", ErrTruncated, typ)
	}
	return p.checkCRC(typ)
}

// openPNG checks the signature and IHDR, refuses dimensions out of
// proportion to the file size, and positions the reader at the first pixel.
// size is the file's size in bytes.
func openPNG(r io.Reader, size int64) (*pngReader, error) {
	p := &pngReader{src: &source{r: bufio.NewReaderSize(r, 64<<10), size: size}, crc: crc32.NewIEEE()}
	var sig [8]byte
	if _, err := io.ReadFull(p.src, sig[:]); err != nil || sig != pngSignature {
		return nil, fmt.Errorf("%w: no PNG signature", ErrNotZPNG)
	}
	length, typ, err := p.chunkHeader()
	if err != nil {
		return nil, err
	}
	if typ != "IHDR" || length != 13 {
		return nil, fmt.Errorf("%w: PNG does not start with IHDR", ErrCorrupt)
	}
	var ihdr [13]byte
	if err := p.src.readFull(ihdr[:]); err != nil {
		return nil, err
	}
	p.crc.Write(ihdr[:])
	if err := p.checkCRC(typ); err != nil {
		return nil, err
	}
	p.width = int64(binary.BigEndian.Uint32(ihdr[0:]))
	p.height = int64(binary.BigEndian.Uint32(ihdr[4:]))
	if ihdr[8] != 8 || ihdr[9] != 2 || ihdr[12] != 0 {
		return nil, fmt.Errorf("%w: PNG is not a non-interlaced 8-bit RGB image", ErrNotZPNG)
	}
	if ihdr[10] != 0 || ihdr[11] != 0 {
		return nil, fmt.Errorf("%w: unknown PNG compression or filter method", ErrCorrupt)
	}
	if p.width < 1 || p.height < 1 || p.width > 1<<31-1 || p.height > 1<<31-1 {
		return nil, fmt.Errorf("%w: PNG dimensions %d×%d", ErrCorrupt, p.width, p.height)
	}
	raw := float64(p.height) * float64(1+3*p.width)
	if raw > float64(MaxExpansion)*float64(size)+expansionSlack {
		return nil, fmt.Errorf("%w: a %d×%d image is out of proportion to a file of %d bytes", ErrCorrupt, p.width, p.height, size)
	}
	p.rowLen = int(1 + 3*p.width)

	// Skip ancillary chunks up to the first IDAT.
	for {
		length, typ, err := p.chunkHeader()
		if err != nil {
			return nil, err
		}
		if typ == "IDAT" {
			p.idat = idatReader{p: p, left: length}
			break
		}
		if typ == "IEND" || typ == "IHDR" || (typ[0] >= 'A' && typ[0] <= 'Z' && typ != "PLTE") {
			return nil, fmt.Errorf("%w: unexpected PNG chunk %s before the image data", ErrCorrupt, typ)
		}
		if err := p.skipChunk(typ, length); err != nil {
			return nil, err
		}
	}
	z, err := zlib.NewReader(&p.idat)
	if err != nil {
		return nil, p.zerr(err)
	}
	p.z = z
	p.prev = make([]byte, p.rowLen)
	p.cur = make([]byte, p.rowLen)
	p.off = p.rowLen
	return p, nil
}

// zerr classifies an error met while inflating the image data.
func (p *pngReader) zerr(err error) error {
	var ce flate.CorruptInputError
	switch {
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrTruncated):
		return err
	case p.src.eof:
		return fmt.Errorf("%w: image data ends early", ErrTruncated)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: image data ends before the last row", ErrCorrupt)
	case errors.Is(err, zlib.ErrChecksum):
		return fmt.Errorf("%w: image data checksum mismatch", ErrCorrupt)
	case errors.Is(err, zlib.ErrHeader), errors.Is(err, zlib.ErrDictionary), errors.As(err, &ce):
		return fmt.Errorf("%w: image data: %v", ErrCorrupt, err)
	}
	return err
}

// Read returns pixel bytes; io.EOF after the last row.
func (p *pngReader) Read(b []byte) (int, error) {
	if p.off == p.rowLen {
		if p.rows == p.height {
			return 0, io.EOF
		}
		if err := p.nextRow(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.cur[p.off:])
	p.off += n
	return n, nil
}

// skip discards n pixel bytes.
func (p *pngReader) skip(n int64) error {
	for n > 0 {
		if p.off == p.rowLen {
			if p.rows == p.height {
				return fmt.Errorf("%w: past the last row", ErrCorrupt)
			}
			if err := p.nextRow(); err != nil {
				return err
			}
		}
		k := min(n, int64(p.rowLen-p.off))
		p.off += int(k)
		n -= k
	}
	return nil
}

func (p *pngReader) nextRow() error {
	p.prev, p.cur = p.cur, p.prev
	if _, err := io.ReadFull(p.z, p.cur); err != nil {
		return p.zerr(err)
	}
	if err := unfilter(p.cur, p.prev, p.rows == 0); err != nil {
		return err
	}
	p.rows++
	p.off = 1
	return nil
}

// unfilter reverses the PNG filter of one row (filter byte first), given the
// previous reconstructed row; 3 bytes per pixel.
func unfilter(cur, prev []byte, first bool) error {
	const bpp = 3
	f := cur[0]
	row := cur[1:]
	up := prev[1:]
	if first {
		clear(up)
	}
	switch f {
	case 0:
	case 1: // Sub
		for i := bpp; i < len(row); i++ {
			row[i] += row[i-bpp]
		}
	case 2: // Up
		for i := range row {
			row[i] += up[i]
		}
	case 3: // Average
		for i := range row {
			var a int
			if i >= bpp {
				a = int(row[i-bpp])
			}
			row[i] += byte((a + int(up[i])) / 2)
		}
	case 4: // Paeth
		for i := range row {
			var a, c int
			if i >= bpp {
				a, c = int(row[i-bpp]), int(up[i-bpp])
			}
			row[i] += paeth(a, int(up[i]), c)
		}
	default:
		return fmt.Errorf("%w: unknown PNG filter type %d", ErrCorrupt, f)
	}
	return nil
}

func paeth(a, b, c int) byte {
	p := a + b - c
	pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
	if pa <= pb && pa <= pc {
		return byte(a)
	}
	if pb <= pc {
		return byte(b)
	}
	return byte(c)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// finish reads the rest of the image and the chunks up to IEND, so that every
// checksum in the file has been checked.
func (p *pngReader) finish() error {
	for p.rows < p.height {
		if err := p.nextRow(); err != nil {
			return err
		}
	}
	var b [1]byte
	if n, err := p.z.Read(b[:]); n > 0 {
		return fmt.Errorf("%w: more image data than rows", ErrCorrupt)
	} else if err != io.EOF {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return p.zerr(err)
	}
	// Drain what is left of the IDAT chunks, then walk to IEND.
	if _, err := io.Copy(io.Discard, &p.idat); err != nil {
		return err
	}
	length, typ := p.idat.nextLen, p.idat.nextType
	for {
		if typ == "IEND" {
			if length != 0 {
				return fmt.Errorf("%w: IEND chunk has data", ErrCorrupt)
			}
			return p.checkCRC(typ)
		}
		if typ == "IDAT" {
			return fmt.Errorf("%w: IDAT chunks are not consecutive", ErrCorrupt)
		}
		if typ[0] >= 'A' && typ[0] <= 'Z' {
			return fmt.Errorf("%w: unexpected PNG chunk %s after the image data", ErrCorrupt, typ)
		}
		if err := p.skipChunk(typ, length); err != nil {
			return err
		}
		var err error
		if length, typ, err = p.chunkHeader(); err != nil {
			return err
		}
	}
}

// idatReader yields the concatenated data of consecutive IDAT chunks,
// checking each chunk's CRC at its end. It stops (io.EOF) at the first
// other chunk, whose header it keeps in nextLen/nextType.
type idatReader struct {
	p        *pngReader
	left     int64
	done     bool
	nextLen  int64
	nextType string
}

func (r *idatReader) Read(b []byte) (int, error) {
	for r.left == 0 {
		if r.done {
			return 0, io.EOF
		}
		if err := r.p.checkCRC("IDAT"); err != nil {
			return 0, err
		}
		length, typ, err := r.p.chunkHeader()
		if err != nil {
			return 0, err
		}
		if typ != "IDAT" {
			r.done, r.nextLen, r.nextType = true, length, typ
			return 0, io.EOF
		}
		r.left = length
	}
	if int64(len(b)) > r.left {
		b = b[:r.left]
	}
	n, err := r.p.src.Read(b)
	r.p.crc.Write(b[:n])
	r.left -= int64(n)
	if err == io.EOF {
		if r.left > 0 {
			return n, fmt.Errorf("%w: in an IDAT chunk", ErrTruncated)
		}
		err = nil
	}
	return n, err
}
