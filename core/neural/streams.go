package neural

import (
	"context"
	"fmt"
	"io"

	"zpng/codec"
	"zpng/codec/cm"
	"zpng/codec/entropy"
	"zpng/core/engine"
)

// Stream policy. Each stream starts from the model's zero state, so every
// extra stream costs its warm-up plus 16 bytes of stream table; but the
// engines step all streams at once, so more streams run much faster.
// Measured with a small model on 128 KiB of HTML: B = 1, 4, 16, 64 gave
// 2.3764, 2.3771, 2.3814, 2.3957 bpb, i.e. about 5 bytes of warm-up per
// stream, while the torch engine on CPU ran 2-3 times faster at B = 64 than
// at B = 1-16. Segments of at least 16 KiB (DefaultPolicy's MinSegmentBytes)
// keep the whole cost (warm-up and table, ~21 bytes a stream) near 0.4% of
// the output.
const maxStreams = 1024

// streamCount is the number of streams B for n bytes: as few as keep every
// segment at least minSegment bytes long, at most maxStreams.
func streamCount(n, minSegment int64) int {
	return int(min(max(n/minSegment, 1), maxStreams))
}

// checkEvery is how many steps pass between progress reports and checks of
// the context.
const checkEvery = 64

// stepEncoder codes one byte of each active stream per step: a
// entropy.StreamEncoder (method neural) or cm.MixEncoder (methods hybrid2
// and hybrid1, and each group of method hybrid).
type stepEncoder interface {
	EncodeStep(freqs []uint16, syms []byte) error
	Finish(symbols []int64) (payload, table []byte, err error)
}

// stepDecoder is the decoding side of stepEncoder.
type stepDecoder interface {
	DecodeStep(freqs []uint16, out []byte) error
}

// encodeStreams codes src as B streams (entropy.SplitSizes) under p, whose
// batch is B, with the range coder (method neural) or the coder of a hybrid
// method. It returns the payload and the STRM section. done, if not nil, is
// called now and then with the number of bytes coded.
func encodeStreams(ctx context.Context, p engine.Predictor, src []byte, method codec.Method, done func(int64)) (payload, table []byte, err error) {
	B := p.Batch()
	sizes := entropy.SplitSizes(int64(len(src)), B)
	offs := offsets(sizes)
	var enc stepEncoder = entropy.NewStreamEncoder(B)
	if method != codec.MethodNeural {
		if enc, err = cm.NewMixEncoder(method, sizes); err != nil {
			return nil, nil, err
		}
	}
	in, syms := make([]byte, B), make([]byte, B)
	freqs := make([]uint16, 256*B)
	p.Reset()
	active := B
	for t := int64(0); t < sizes[0]; t++ {
		if t%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			if done != nil {
				done(t * int64(B))
			}
		}
		for active > 0 && sizes[active-1] <= t {
			active--
		}
		if err := p.Step(in, freqs); err != nil {
			return nil, nil, err
		}
		for b := range active {
			syms[b] = src[offs[b]+t]
		}
		if err := enc.EncodeStep(freqs, syms[:active]); err != nil {
			return nil, nil, err
		}
		copy(in, syms[:active])
	}
	return enc.Finish(sizes)
}

// decodeStreams decodes the streams of a STRM section and payload under p
// (batch = number of streams) and writes the n original bytes to w. The
// streams grow as they are decoded rather than being allocated up front, so
// that a forged original size costs no memory before it costs time (an
// all-zero file can code to an empty payload, so the payload's length does
// not bound the original size).
func decodeStreams(ctx context.Context, p engine.Predictor, table, payload []byte, n int64, method codec.Method, w io.Writer, done func(int64)) error {
	var dec stepDecoder
	var streams []entropy.Stream
	if method != codec.MethodNeural {
		d, err := cm.NewMixDecoder(method, table, payload, n)
		if err != nil {
			return err
		}
		dec, streams = d, d.Streams
	} else {
		d, err := entropy.NewStreamDecoder(table, payload, n)
		if err != nil {
			return err
		}
		dec, streams = d, d.Streams
	}
	B := len(streams)
	if p.Batch() != B {
		return fmt.Errorf("neural: predictor for %d streams, image has %d", p.Batch(), B)
	}
	sizes := entropy.SplitSizes(n, B)
	for i, s := range streams {
		if s.Symbols != sizes[i] {
			return fmt.Errorf("%w: stream %d holds %d bytes, want %d", codec.ErrCorrupt, i, s.Symbols, sizes[i])
		}
	}
	outs := make([][]byte, B)
	for b := range outs {
		outs[b] = make([]byte, 0, min(sizes[b], 1<<20))
	}
	in, syms := make([]byte, B), make([]byte, B)
	freqs := make([]uint16, 256*B)
	p.Reset()
	active := B
	for t := int64(0); t < sizes[0]; t++ {
		if t%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if done != nil {
				done(t * int64(B))
			}
		}
		for active > 0 && sizes[active-1] <= t {
			active--
		}
		if err := p.Step(in, freqs); err != nil {
			return err
		}
		if err := dec.DecodeStep(freqs, syms[:active]); err != nil {
			return fmt.Errorf("%w: %v", codec.ErrCorrupt, err)
		}
		for b := range active {
			outs[b] = append(outs[b], syms[b])
		}
		copy(in, syms[:active])
	}
	for b := range outs {
		if _, err := w.Write(outs[b]); err != nil {
			return err
		}
		outs[b] = nil
	}
	return nil
}

func offsets(sizes []int64) []int64 {
	offs := make([]int64, len(sizes))
	for i := 1; i < len(sizes); i++ {
		offs[i] = offs[i-1] + sizes[i-1]
	}
	return offs
}

// CodedBytes is the size of the payload that codes src in p.Batch() streams
// under p with method (neural or a hybrid; method hybrid in one group).
// zpng eval reports it.
func CodedBytes(ctx context.Context, p engine.Predictor, src []byte, method codec.Method) (int, error) {
	if method == codec.MethodHybrid {
		method = codec.MethodHybrid2 // one group is a file of method hybrid2
	}
	payload, _, err := encodeStreams(ctx, p, src, method, nil)
	return len(payload), err
}
