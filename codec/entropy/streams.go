package entropy

import (
	"encoding/binary"
	"fmt"

	"zpng/codec"
)

// MaxStreams bounds the number of side-by-side streams in one file.
const MaxStreams = 1 << 16

// Stream is one entry of a STRM section: how many symbols (original bytes)
// the stream codes and how many bytes of the payload it occupies.
type Stream struct {
	Symbols int64
	Bytes   int64
}

// SplitSizes divides n bytes into b consecutive segments whose lengths
// differ by at most one, the longer ones first: segment i has n/b bytes,
// plus one if i < n%b. Stepping all segments in lockstep, the segments still
// active at any step are therefore always a prefix 0…k-1.
func SplitSizes(n int64, b int) []int64 {
	if b < 1 {
		b = 1
	}
	s := make([]int64, b)
	q, r := n/int64(b), n%int64(b)
	for i := range s {
		s[i] = q
		if int64(i) < r {
			s[i]++
		}
	}
	return s
}

// AppendStreamTable appends the STRM section encoding of streams to dst.
func AppendStreamTable(dst []byte, streams []Stream) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(streams)))
	for _, s := range streams {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(s.Symbols))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(s.Bytes))
	}
	return dst
}

// ParseStreamTable decodes a STRM section and checks it against the
// container: the symbols must add up to originalSize and the bytes to
// payloadLen.
func ParseStreamTable(data []byte, originalSize, payloadLen int64) ([]Stream, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("%w: stream table of %d bytes", codec.ErrCorrupt, len(data))
	}
	n := binary.LittleEndian.Uint32(data)
	if n == 0 || n > MaxStreams {
		return nil, fmt.Errorf("%w: %d streams (want 1…%d)", codec.ErrCorrupt, n, MaxStreams)
	}
	if int64(len(data)) != 4+16*int64(n) {
		return nil, fmt.Errorf("%w: stream table of %d bytes for %d streams", codec.ErrCorrupt, len(data), n)
	}
	streams := make([]Stream, n)
	var syms, bytes uint64
	for i := range streams {
		p := data[4+16*i:]
		s := binary.LittleEndian.Uint64(p)
		b := binary.LittleEndian.Uint64(p[8:])
		if s > codec.MaxOriginalSize || b > uint64(payloadLen) {
			return nil, fmt.Errorf("%w: stream %d claims %d symbols in %d bytes", codec.ErrCorrupt, i, s, b)
		}
		syms += s
		bytes += b
		streams[i] = Stream{Symbols: int64(s), Bytes: int64(b)}
	}
	if syms != uint64(originalSize) || bytes != uint64(payloadLen) {
		return nil, fmt.Errorf("%w: streams hold %d symbols in %d bytes, container has %d in %d",
			codec.ErrCorrupt, syms, bytes, originalSize, payloadLen)
	}
	return streams, nil
}

// StreamEncoder codes B streams side by side, one Encoder each.
type StreamEncoder struct {
	enc []Encoder
}

// NewStreamEncoder returns an encoder for b streams (1 ≤ b ≤ MaxStreams).
func NewStreamEncoder(b int) *StreamEncoder {
	s := &StreamEncoder{enc: make([]Encoder, b)}
	for i := range s.enc {
		s.enc[i].Reset()
	}
	return s
}

// Stream returns the encoder of stream i.
func (s *StreamEncoder) Stream(i int) *Encoder { return &s.enc[i] }

// EncodeStep codes syms[i] in stream i with the table freqs[i*256:(i+1)*256],
// for i < len(syms) (the streams still active: a prefix, see SplitSizes).
func (s *StreamEncoder) EncodeStep(freqs []uint16, syms []byte) error {
	if len(syms) > len(s.enc) || len(freqs) < 256*len(syms) {
		return fmt.Errorf("%w: %d symbols, %d streams, %d table entries", ErrBadTable, len(syms), len(s.enc), len(freqs))
	}
	for i, c := range syms {
		if err := s.enc[i].Encode(freqs[i*256:(i+1)*256], c); err != nil {
			return fmt.Errorf("stream %d: %w", i, err)
		}
	}
	return nil
}

// Finish ends every stream and returns the payload (the streams' bytes in
// order) and the STRM section. symbols[i] is the number of symbols coded in
// stream i.
func (s *StreamEncoder) Finish(symbols []int64) (payload, table []byte, err error) {
	if len(symbols) != len(s.enc) {
		return nil, nil, fmt.Errorf("entropy: %d symbol counts for %d streams", len(symbols), len(s.enc))
	}
	streams := make([]Stream, len(s.enc))
	for i := range s.enc {
		if err := s.enc[i].Err(); err != nil {
			return nil, nil, fmt.Errorf("stream %d: %w", i, err)
		}
		b := s.enc[i].Finish()
		payload = append(payload, b...)
		streams[i] = Stream{Symbols: symbols[i], Bytes: int64(len(b))}
	}
	return payload, AppendStreamTable(nil, streams), nil
}

// StreamDecoder decodes B streams side by side.
type StreamDecoder struct {
	dec     []Decoder
	Streams []Stream
}

// NewStreamDecoder parses the STRM section and splits payload into streams.
func NewStreamDecoder(table, payload []byte, originalSize int64) (*StreamDecoder, error) {
	streams, err := ParseStreamTable(table, originalSize, int64(len(payload)))
	if err != nil {
		return nil, err
	}
	d := &StreamDecoder{dec: make([]Decoder, len(streams)), Streams: streams}
	off := int64(0)
	for i, s := range streams {
		d.dec[i].Reset(payload[off : off+s.Bytes : off+s.Bytes])
		off += s.Bytes
	}
	return d, nil
}

// Stream returns the decoder of stream i.
func (d *StreamDecoder) Stream(i int) *Decoder { return &d.dec[i] }

// DecodeStep decodes one symbol of stream i into out[i] with the table
// freqs[i*256:(i+1)*256], for i < len(out).
func (d *StreamDecoder) DecodeStep(freqs []uint16, out []byte) error {
	if len(out) > len(d.dec) || len(freqs) < 256*len(out) {
		return fmt.Errorf("%w: %d symbols, %d streams, %d table entries", ErrBadTable, len(out), len(d.dec), len(freqs))
	}
	for i := range out {
		c, err := d.dec[i].Decode(freqs[i*256 : (i+1)*256])
		if err != nil {
			return fmt.Errorf("stream %d: %w", i, err)
		}
		out[i] = c
	}
	return nil
}
