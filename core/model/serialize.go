package model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Serialized form of a Quantized model (little-endian):
//
//	"ZPQM" | version u8 = 1 | layers u8 | hidden u16 |
//	every tensor in QuantizedTensorNames order: int8 bytes or int32 values |
//	CRC-32 (IEEE) of everything before it, u32
const (
	modelMagic   = "ZPQM"
	modelVersion = 1
)

// tensor is one array of a Quantized model, of either element type.
type tensor struct {
	name string
	i8   *[]int8
	i32  *[]int32
}

func (t tensor) len() int {
	if t.i8 != nil {
		return len(*t.i8)
	}
	return len(*t.i32)
}

// tensors lists the arrays of m in canonical order (see QuantizedTensorNames).
func (m *Quantized) tensors() []tensor {
	ts := []tensor{{name: "t0", i32: &m.T0}}
	for k := range m.Layers {
		l := &m.Layers[k]
		p := fmt.Sprintf("l%d.", k)
		if k > 0 {
			ts = append(ts, tensor{name: p + "wih", i8: &l.Wih}, tensor{name: p + "mih", i32: &l.Mih}, tensor{name: p + "bih", i32: &l.Bih})
		}
		ts = append(ts, tensor{name: p + "whh", i8: &l.Whh}, tensor{name: p + "mhh", i32: &l.Mhh}, tensor{name: p + "bhh", i32: &l.Bhh})
	}
	return append(ts, tensor{name: "out.w", i8: &m.Wout}, tensor{name: "out.m", i32: &m.Mout}, tensor{name: "out.b", i32: &m.Bout})
}

// QuantizedTensorNames lists the arrays of an integer model in canonical order:
// "t0", then per layer k "lk.wih", "lk.mih", "lk.bih" (k > 0), "lk.whh",
// "lk.mhh", "lk.bhh", then "out.w", "out.m", "out.b".
func QuantizedTensorNames(cfg Config) []string {
	m := newModel(cfg)
	var n []string
	for _, t := range m.tensors() {
		n = append(n, t.name)
	}
	return n
}

// newModel allocates a zero model of cfg (cfg must be valid).
func newModel(cfg Config) *Quantized {
	H := cfg.Hidden
	m := &Quantized{Config: cfg, T0: make([]int32, 256*3*H), Layers: make([]QuantizedLayer, cfg.Layers),
		Wout: make([]int8, 256*H), Mout: make([]int32, 256), Bout: make([]int32, 256)}
	for k := range m.Layers {
		l := &m.Layers[k]
		if k > 0 {
			l.Wih, l.Mih, l.Bih = make([]int8, 3*H*H), make([]int32, 3*H), make([]int32, 3*H)
		}
		l.Whh, l.Mhh, l.Bhh = make([]int8, 3*H*H), make([]int32, 3*H), make([]int32, 3*H)
	}
	return m
}

// Clone returns a deep copy of m.
func (m *Quantized) Clone() *Quantized {
	c := newModel(m.Config)
	src, dst := m.tensors(), c.tensors()
	for i := range src {
		if src[i].i8 != nil {
			*dst[i].i8 = append([]int8(nil), (*src[i].i8)...)
		} else {
			*dst[i].i32 = append([]int32(nil), (*src[i].i32)...)
		}
	}
	return c
}

// MarshalBinary encodes m (deterministic).
func (m *Quantized) MarshalBinary() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	out := append([]byte(modelMagic), modelVersion, byte(m.Config.Layers))
	out = binary.LittleEndian.AppendUint16(out, uint16(m.Config.Hidden))
	for _, t := range m.tensors() {
		if t.i8 != nil {
			for _, v := range *t.i8 {
				out = append(out, byte(v))
			}
		} else {
			for _, v := range *t.i32 {
				out = binary.LittleEndian.AppendUint32(out, uint32(v))
			}
		}
	}
	return binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out)), nil
}

// UnmarshalBinary decodes and validates a model written by MarshalBinary.
func (m *Quantized) UnmarshalBinary(data []byte) error {
	if len(data) < 12 || string(data[:4]) != modelMagic {
		return errors.New("quantize: not a serialized integer model")
	}
	if data[4] != modelVersion {
		return fmt.Errorf("quantize: integer model version %d, this zpng reads %d", data[4], modelVersion)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return errors.New("quantize: integer model checksum mismatch")
	}
	cfg := Config{Layers: int(data[5]), Hidden: int(binary.LittleEndian.Uint16(data[6:]))}
	cfg.Embed = cfg.Hidden
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	nm := newModel(cfg)
	rest := body[8:]
	for _, t := range nm.tensors() {
		if t.i8 != nil {
			if len(rest) < len(*t.i8) {
				return errors.New("quantize: integer model truncated")
			}
			for i := range *t.i8 {
				(*t.i8)[i] = int8(rest[i])
			}
			rest = rest[len(*t.i8):]
		} else {
			if len(rest) < 4*len(*t.i32) {
				return errors.New("quantize: integer model truncated")
			}
			for i := range *t.i32 {
				(*t.i32)[i] = int32(binary.LittleEndian.Uint32(rest[4*i:]))
			}
			rest = rest[4*len(*t.i32):]
		}
	}
	if len(rest) != 0 {
		return fmt.Errorf("quantize: %d unexpected bytes after the integer model", len(rest))
	}
	if err := nm.Validate(); err != nil {
		return err
	}
	*m = *nm
	return nil
}
