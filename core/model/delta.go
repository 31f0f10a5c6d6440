package model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// A delta holds, for chosen tensors, the element-wise difference tuned − base
// as zigzag varints, zstd-compressed. Before compression it reads:
//
//	version u8 = 1 | layers u8 | hidden uvarint | CRC-32 of the base's
//	MarshalBinary, u32 | tensor count uvarint |
//	per tensor: index in QuantizedTensorNames uvarint, then one varint per element |
//	CRC-32 of everything before it, u32
const deltaVersion = 1

// maxDelta bounds the decompressed size of a delta.
const maxDelta = 64 << 20

// Delta encodes tuned − base for the named tensors (all of them when names
// is nil). Both models must have the same config.
func Delta(base, tuned *Quantized, names []string) ([]byte, error) {
	if base.Config != tuned.Config {
		return nil, fmt.Errorf("quantize: delta between %v and %v models", base.Config, tuned.Config)
	}
	if err := tuned.Validate(); err != nil {
		return nil, err
	}
	bb, err := base.MarshalBinary()
	if err != nil {
		return nil, err
	}
	all := QuantizedTensorNames(base.Config)
	if names == nil {
		names = all
	}
	out := []byte{deltaVersion, byte(base.Config.Layers)}
	out = binary.AppendUvarint(out, uint64(base.Config.Hidden))
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(bb))
	out = binary.AppendUvarint(out, uint64(len(names)))
	bt, tt := base.tensors(), tuned.tensors()
	seen := map[string]bool{}
	for _, name := range names {
		i := slices.Index(all, name)
		if i < 0 {
			return nil, fmt.Errorf("quantize: no tensor %q (have %v)", name, all)
		}
		if seen[name] {
			return nil, fmt.Errorf("quantize: tensor %q named twice", name)
		}
		seen[name] = true
		out = binary.AppendUvarint(out, uint64(i))
		if bt[i].i8 != nil {
			for j, v := range *tt[i].i8 {
				out = binary.AppendVarint(out, int64(v)-int64((*bt[i].i8)[j]))
			}
		} else {
			for j, v := range *tt[i].i32 {
				out = binary.AppendVarint(out, int64(v)-int64((*bt[i].i32)[j]))
			}
		}
	}
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out))
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	return enc.EncodeAll(out, nil), nil
}

// ApplyDelta returns base + delta as a new model; base is not changed. It
// fails if the delta was made against another base model.
func ApplyDelta(base *Quantized, delta []byte) (*Quantized, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxDelta), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	raw, err := dec.DecodeAll(delta, nil)
	if err != nil {
		return nil, fmt.Errorf("quantize: delta: %w", err)
	}
	if len(raw) < 8 {
		return nil, errors.New("quantize: delta too short")
	}
	body := raw[:len(raw)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(raw[len(raw)-4:]) {
		return nil, errors.New("quantize: delta checksum mismatch")
	}
	if body[0] != deltaVersion {
		return nil, fmt.Errorf("quantize: delta version %d, this zpng reads %d", body[0], deltaVersion)
	}
	r := &reader{b: body[2:]}
	hidden := r.uvarint()
	if int(body[1]) != base.Config.Layers || hidden != uint64(base.Config.Hidden) {
		return nil, fmt.Errorf("quantize: delta is for a %dx%d model, base is %v", body[1], hidden, base.Config)
	}
	bb, err := base.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if r.u32() != crc32.ChecksumIEEE(bb) {
		return nil, errors.New("quantize: delta was made against another base model")
	}
	m := base.Clone()
	ts := m.tensors()
	count := r.uvarint()
	if count > uint64(len(ts)) {
		return nil, fmt.Errorf("quantize: delta lists %d tensors", count)
	}
	for range count {
		i := r.uvarint()
		if r.err != nil {
			break
		}
		if i >= uint64(len(ts)) {
			return nil, fmt.Errorf("quantize: delta names tensor %d", i)
		}
		t := ts[i]
		if t.i8 != nil {
			for j, v := range *t.i8 {
				x := int64(v) + r.varint()
				if x < -127 || x > 127 {
					r.fail("int8 weight out of range")
				}
				(*t.i8)[j] = int8(x)
			}
		} else {
			for j, v := range *t.i32 {
				x := int64(v) + r.varint()
				if x < -1<<31 || x >= 1<<31 {
					r.fail("int32 value out of range")
				}
				(*t.i32)[j] = int32(x)
			}
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, fmt.Errorf("quantize: delta: %w", r.err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// reader decodes varints, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("truncated or bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("truncated or bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	if len(r.b) < 4 {
		r.fail("truncated")
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}
