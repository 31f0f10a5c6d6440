package codec

import (
	"fmt"
	"math"
)

// Method hybrid codes B streams side by side, like method neural, but bit
// by bit: the cm model (cm_model.go) mixes each bit's probability under the
// outside model's byte frequency table with its own contexts, and the
// binary coder of method cm codes the bit. The streams share the cm model's
// counters, mixers and APMs, one history of the whole file (each stream
// writes its bytes where they belong) and a match table over it, so that
// what one segment teaches serves all; each keeps its own contexts and its
// own match table. FORMAT.md section 12 is the exact contract.

// mixState is what the streams share beyond cm's own tables and the
// history: which bytes of the history are coded yet, how many, the match
// table over the whole history, and the parts method cm lacks.
type mixState struct {
	known     []uint64 // bit q: byte q of the file is coded
	total     int
	matchTab  []uint32 // positions in the whole history, by the hash of 10.4
	matchMask uint32
	apm3      *cmAPM  // the outside P by order 1
	w3        []int32 // the final mixer's weights: 256 sets (by c0) × 3
}

// mixOwnMatchBits bounds the size of a stream's own match table.
const mixOwnMatchBits = 16

func (s *mixState) has(q int) bool { return s.known[q>>6]>>(q&63)&1 != 0 }

// newMixModels returns one cm model per stream; sizes are the streams'
// lengths. The shared tables are sized by their total.
func newMixModels(sizes []int64) []*cmModel {
	var n int64
	for _, s := range sizes {
		n += s
	}
	shared := newCMTables(n)
	mix := &mixState{known: make([]uint64, (n+63)/64), matchTab: shared.matchTab, matchMask: shared.matchMask,
		apm3: newCMAPM(1 << 16), w3: make([]int32, 256*3)}
	// The final mixer starts as the mean of the cm model's result and the
	// APM on the outside model, in the logistic domain, and learns whether
	// either deserves more.
	for i := 0; i < len(mix.w3); i += 3 {
		mix.w3[i], mix.w3[i+1] = 1<<15, 1<<15
	}
	// The outside model starts with weight 1 in every mixer set (the cm
	// inputs with 1/4): a trained model is worth trusting from the first bit.
	for _, w := range shared.w {
		for i := cmInputs - 1; i < len(w); i += cmInputs {
			w[i] = 1 << 16
		}
	}
	shared.hist = make([]byte, n)
	shared.histMask = math.MaxInt // no ring: the whole file
	shared.mix = mix
	ms := make([]*cmModel, len(sizes))
	var off int64
	for i, s := range sizes {
		m := *shared // the tables are slices and pointers: shared
		m.base = int(off)
		off += s
		// A stream's own match table finds the nearest repeat in its own
		// segment first: on kennedy.xls the shared one alone did worse. At
		// most 2^16 entries: 1,024 streams then hold 256 MiB of them.
		mb := min(max(ceilLog2(s), 8), mixOwnMatchBits)
		m.matchTab = make([]uint32, 1<<mb)
		m.matchMask = 1<<mb - 1
		ms[i] = &m
	}
	return ms
}

// bitP is the probability, 12-bit, that the next bit of a byte whose bits so
// far are c0 (below a leading 1, k of them) is 1, under the frequency table
// whose running sums are cum (cum[s] = freqs[0] + … + freqs[s-1]).
func bitP(cum *[257]uint32, c0 uint32, k uint) int32 {
	lo := (c0 ^ 1<<k) << (8 - k)
	half := uint32(1) << (7 - k)
	n0 := cum[lo+half] - cum[lo]
	n1 := cum[lo+2*half] - cum[lo+half]
	if n0+n1 == 0 {
		return 2048
	}
	p := (n1<<12 + (n0+n1)>>1) / (n0 + n1)
	return int32(min(max(p, 1), 4095))
}

func runningSums(cum *[257]uint32, freqs []uint16) {
	for s, f := range freqs[:256] {
		cum[s+1] = cum[s] + uint32(f)
	}
}

// MixEncoder codes B streams with method hybrid.
type MixEncoder struct {
	models []*cmModel
	enc    []binEncoder
	cum    [257]uint32
}

// NewMixEncoder returns an encoder for streams of the given lengths
// (SplitSizes).
func NewMixEncoder(sizes []int64) *MixEncoder {
	e := &MixEncoder{models: newMixModels(sizes), enc: make([]binEncoder, len(sizes))}
	for i := range e.enc {
		e.enc[i] = *newBinEncoder()
	}
	return e
}

// EncodeStep codes syms[i] in stream i, the outside model's table for it
// being freqs[i*256:(i+1)*256], for i < len(syms) (the active streams).
func (e *MixEncoder) EncodeStep(freqs []uint16, syms []byte) error {
	if len(syms) > len(e.models) || len(freqs) < 256*len(syms) {
		return fmt.Errorf("%w: %d symbols, %d streams, %d table entries", ErrBadTable, len(syms), len(e.models), len(freqs))
	}
	for i, c := range syms {
		runningSums(&e.cum, freqs[i*256:(i+1)*256])
		m, enc := e.models[i], &e.enc[i]
		m.findSlots()
		for k := uint(0); k < 8; k++ {
			bit := int(c>>(7-k)) & 1
			m.outsideP = bitP(&e.cum, m.c0, k)
			m.predict()
			enc.encode(bit, m.pr)
			m.update(bit)
		}
	}
	return nil
}

// Finish ends every stream and returns the payload (the streams' bytes in
// order) and the STRM section; symbols[i] is the number of bytes coded in
// stream i.
func (e *MixEncoder) Finish(symbols []int64) (payload, table []byte, err error) {
	if len(symbols) != len(e.enc) {
		return nil, nil, fmt.Errorf("codec: %d symbol counts for %d streams", len(symbols), len(e.enc))
	}
	streams := make([]Stream, len(e.enc))
	for i := range e.enc {
		if symbols[i] > 0 {
			e.enc[i].finish()
		}
		payload = append(payload, e.enc[i].out...)
		streams[i] = Stream{Symbols: symbols[i], Bytes: int64(len(e.enc[i].out))}
	}
	e.models = nil
	return payload, AppendStreamTable(nil, streams), nil
}

// MixDecoder decodes the streams of method hybrid.
type MixDecoder struct {
	Streams []Stream
	models  []*cmModel
	dec     []*binDecoder
	cum     [257]uint32
}

// NewMixDecoder parses the STRM section, checks that every stream's payload
// can hold its bytes (which bounds the decoder's work by the payload), and
// splits the payload into streams.
func NewMixDecoder(table, payload []byte, originalSize int64) (*MixDecoder, error) {
	streams, err := ParseStreamTable(table, originalSize, int64(len(payload)))
	if err != nil {
		return nil, err
	}
	sizes := make([]int64, len(streams))
	for i, s := range streams {
		// A coded stream ends with at least one byte (binEncoder.finish).
		if (s.Symbols == 0) != (s.Bytes == 0) || !cmSizeFits(int(s.Bytes), s.Symbols) {
			return nil, fmt.Errorf("%w: stream %d: %d payload bytes cannot hold %d bytes", ErrCorrupt, i, s.Bytes, s.Symbols)
		}
		sizes[i] = s.Symbols
	}
	d := &MixDecoder{Streams: streams, models: newMixModels(sizes), dec: make([]*binDecoder, len(streams))}
	off := int64(0)
	for i, s := range streams {
		d.dec[i] = newBinDecoder(payload[off : off+s.Bytes : off+s.Bytes])
		off += s.Bytes
	}
	return d, nil
}

// DecodeStep decodes one byte of stream i into out[i], the outside model's
// table for it being freqs[i*256:(i+1)*256], for i < len(out).
func (d *MixDecoder) DecodeStep(freqs []uint16, out []byte) error {
	if len(out) > len(d.models) || len(freqs) < 256*len(out) {
		return fmt.Errorf("%w: %d symbols, %d streams, %d table entries", ErrBadTable, len(out), len(d.models), len(freqs))
	}
	for i := range out {
		m, dec := d.models[i], d.dec[i]
		if int64(m.pos) == d.Streams[i].Symbols {
			return fmt.Errorf("%w: stream %d: more than its %d bytes asked for", ErrCorrupt, i, d.Streams[i].Symbols)
		}
		runningSums(&d.cum, freqs[i*256:(i+1)*256])
		m.findSlots()
		for k := uint(0); k < 8; k++ {
			m.outsideP = bitP(&d.cum, m.c0, k)
			m.predict()
			m.update(dec.decode(m.pr))
		}
		out[i] = byte(m.at(1))
		// The encoder's last byte is read as the decoder's fourth-last.
		if int64(m.pos) == d.Streams[i].Symbols && dec.pos != len(dec.in)+3 {
			return fmt.Errorf("%w: stream %d has %d payload bytes, its data used %d", ErrCorrupt, i, len(dec.in), dec.pos-3)
		}
	}
	return nil
}
