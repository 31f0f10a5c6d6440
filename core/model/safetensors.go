package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"unicode/utf8"
)

// DType is the element type of tensors in a model file.
type DType string

const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
)

func (d DType) size() int {
	switch d {
	case F32:
		return 4
	case F16, BF16:
		return 2
	}
	return 0
}

// MetaKey is the __metadata__ key under which Meta is stored as JSON.
const MetaKey = "zpng"

// maxHeader bounds the JSON header of a model file.
const maxHeader = 1 << 20

// Meta describes a model file: what it is and how it was made.
type Meta struct {
	Preset       string            `json:"preset,omitempty"`
	Config       Config            `json:"config"`
	Training     *Training         `json:"training,omitempty"`
	BenchmarkBPB float64           `json:"benchmark_bpb,omitempty"` // integer engine, on the benchmark corpus
	Extra        map[string]string `json:"extra,omitempty"`
}

// Training summarises how a model was trained.
type Training struct {
	Steps         int     `json:"steps"`
	Device        string  `json:"device,omitempty"`
	Seconds       float64 `json:"seconds,omitempty"`
	Corpus        string  `json:"corpus,omitempty"`
	ValidationBPB float64 `json:"validation_bpb,omitempty"`
}

// Save writes w to path as safetensors with tensors stored as dtype and meta
// under __metadata__["zpng"]. The file is written to a temporary name and
// renamed into place.
func Save(path string, w *Weights, meta *Meta, dtype DType) error {
	data, err := Encode(w, meta, dtype)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".zpng-model-*")
	if err != nil {
		return err
	}
	// A model is there to be shared: readable by all, as the shipped ones
	// are, not os.CreateTemp's owner-only 0600.
	err = tmp.Chmod(0o644)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("model: save %s: %w", path, err)
	}
	return nil
}

// Encode returns w as a safetensors file (see Save). meta may be nil; its
// Config is always set from w.
func Encode(w *Weights, meta *Meta, dtype DType) ([]byte, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	if dtype.size() == 0 {
		return nil, fmt.Errorf("model: cannot write dtype %q (want F32, F16 or BF16)", dtype)
	}
	m := Meta{}
	if meta != nil {
		m = *meta
	}
	m.Config = w.Config
	metaJSON, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	specs := ParamSpecs(w.Config)
	var hdr bytes.Buffer
	hdr.WriteString(`{"__metadata__":{`)
	k, _ := json.Marshal(MetaKey)
	v, _ := json.Marshal(string(metaJSON))
	hdr.Write(k)
	hdr.WriteByte(':')
	hdr.Write(v)
	hdr.WriteByte('}')
	off := 0
	for _, s := range specs {
		n := s.Size() * dtype.size()
		shape, _ := json.Marshal(s.Shape)
		fmt.Fprintf(&hdr, `,%q:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, s.Name, dtype, shape, off, off+n)
		off += n
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	out := make([]byte, 8, 8+hdr.Len()+off)
	binary.LittleEndian.PutUint64(out, uint64(hdr.Len()))
	out = append(out, hdr.Bytes()...)
	for _, s := range specs {
		for i, f := range w.Tensors[s.Name] {
			switch dtype {
			case F32:
				out = binary.LittleEndian.AppendUint32(out, math.Float32bits(f))
			case F16:
				h := float32ToF16(f)
				if h&0x7fff == 0x7c00 {
					return nil, fmt.Errorf("model: %s value %d (%g) overflows F16", s.Name, i, f)
				}
				out = binary.LittleEndian.AppendUint16(out, h)
			case BF16:
				h := float32ToBF16(f)
				if h&0x7fff == 0x7f80 {
					return nil, fmt.Errorf("model: %s value %d (%g) overflows BF16", s.Name, i, f)
				}
				out = binary.LittleEndian.AppendUint16(out, h)
			}
		}
	}
	return out, nil
}

// Load reads and validates a model file.
func Load(path string) (*Weights, *Meta, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	w, m, err := Decode(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, m, nil
}

// Identity is the SHA-256 of a model file's bytes: the name under which
// compressed files refer to the model.
func Identity(path string) ([32]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(data), nil
}

type tensorHeader struct {
	Dtype       DType     `json:"dtype"`
	Shape       []int     `json:"shape"`
	DataOffsets [2]uint64 `json:"data_offsets"`
}

var layerName = regexp.MustCompile(`^gru\.weight_hh_l([0-9]+)$`)

// Decode parses and validates a safetensors model file held in memory. The
// config is taken from the tensor shapes; the "zpng" metadata, when present,
// must agree with it. Meta is never nil.
func Decode(data []byte) (*Weights, *Meta, error) {
	if len(data) < 8 {
		return nil, nil, errors.New("model: file too short for a safetensors header")
	}
	n := binary.LittleEndian.Uint64(data)
	if n < 2 || n > maxHeader || n > uint64(len(data)-8) {
		return nil, nil, fmt.Errorf("model: bad safetensors header length %d (file has %d bytes)", n, len(data))
	}
	hdr, body := data[8:8+n], data[8+n:]
	if !utf8.Valid(hdr) {
		return nil, nil, errors.New("model: safetensors header is not UTF-8")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, nil, fmt.Errorf("model: safetensors header: %w", err)
	}
	meta := &Meta{}
	if mr, ok := raw["__metadata__"]; ok {
		delete(raw, "__metadata__")
		var md map[string]string
		if err := json.Unmarshal(mr, &md); err != nil {
			return nil, nil, fmt.Errorf("model: safetensors __metadata__: %w", err)
		}
		if s, ok := md[MetaKey]; ok {
			if err := json.Unmarshal([]byte(s), meta); err != nil {
				return nil, nil, fmt.Errorf("model: metadata %q: %w", MetaKey, err)
			}
		}
	}
	tensors := map[string]tensorHeader{}
	for name, r := range raw {
		var t tensorHeader
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, nil, fmt.Errorf("model: tensor %q header: %w", name, err)
		}
		tensors[name] = t
	}
	cfg, err := inferConfig(tensors)
	if err != nil {
		return nil, nil, err
	}
	if meta.Config != (Config{}) && meta.Config != cfg {
		return nil, nil, fmt.Errorf("model: metadata says %+v but tensors are %+v", meta.Config, cfg)
	}
	meta.Config = cfg
	if meta.Preset != "" {
		if p, ok := Presets[meta.Preset]; ok && p != cfg {
			// A preset may be redefined after a model was trained; the
			// tensors are the truth, the name is only a label.
			meta.Extra = withNote(meta.Extra, "preset_mismatch", fmt.Sprintf("preset %q is now %v", meta.Preset, p))
		}
	}
	specs := ParamSpecs(cfg)
	if len(tensors) != len(specs) {
		for name := range tensors {
			if !hasSpec(specs, name) {
				return nil, nil, fmt.Errorf("model: unexpected tensor %q in a %v model", name, cfg)
			}
		}
	}
	// The data must be covered exactly by the tensors, without gaps or overlaps.
	type span struct {
		name       string
		begin, end uint64
	}
	var spans []span
	var decode []func() error // the tensors' values, decoded once every header is checked
	w := &Weights{Config: cfg, Tensors: map[string][]float32{}}
	for _, s := range specs {
		t, ok := tensors[s.Name]
		if !ok {
			return nil, nil, fmt.Errorf("model: tensor %q missing", s.Name)
		}
		if !equalShape(t.Shape, s.Shape) {
			return nil, nil, fmt.Errorf("model: tensor %q has shape %v, want %v", s.Name, t.Shape, s.Shape)
		}
		es := t.Dtype.size()
		if es == 0 {
			return nil, nil, fmt.Errorf("model: tensor %q has dtype %q (want F32, F16 or BF16)", s.Name, t.Dtype)
		}
		b, e := t.DataOffsets[0], t.DataOffsets[1]
		if b > e || e > uint64(len(body)) || e-b != uint64(s.Size()*es) {
			return nil, nil, fmt.Errorf("model: tensor %q data_offsets [%d,%d] invalid for %d %s values in %d data bytes",
				s.Name, b, e, s.Size(), t.Dtype, len(body))
		}
		spans = append(spans, span{s.Name, b, e})
		vals := make([]float32, s.Size())
		w.Tensors[s.Name] = vals
		decode = append(decode, func() error {
			if err := decodeValues(vals, body[b:e], t.Dtype); err != nil {
				return fmt.Errorf("model: tensor %q: %w", s.Name, err)
			}
			return nil
		})
	}
	if err := runAll(decode); err != nil {
		return nil, nil, err
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].begin < spans[j].begin })
	var at uint64
	for _, sp := range spans {
		if sp.begin != at {
			return nil, nil, fmt.Errorf("model: tensor %q starts at %d, expected %d (gap or overlap)", sp.name, sp.begin, at)
		}
		at = sp.end
	}
	if at != uint64(len(body)) {
		return nil, nil, fmt.Errorf("model: %d bytes of data after the last tensor", uint64(len(body))-at)
	}
	if err := w.Validate(); err != nil {
		return nil, nil, err
	}
	return w, meta, nil
}

func withNote(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func inferConfig(t map[string]tensorHeader) (Config, error) {
	emb, ok := t["embed.weight"]
	if !ok {
		return Config{}, errors.New("model: tensor \"embed.weight\" missing")
	}
	if len(emb.Shape) != 2 || emb.Shape[0] != 256 {
		return Config{}, fmt.Errorf("model: embed.weight has shape %v, want [256, E]", emb.Shape)
	}
	layers := 0
	for name := range t {
		if m := layerName.FindStringSubmatch(name); m != nil {
			k, err := strconv.Atoi(m[1])
			if err != nil || k >= MaxLayers {
				return Config{}, fmt.Errorf("model: unexpected tensor %q", name)
			}
			layers = max(layers, k+1)
		}
	}
	cfg := Config{Layers: layers, Hidden: emb.Shape[1], Embed: emb.Shape[1]}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// decodeValues decodes the values b of type dt into out, one for each.
func decodeValues(out []float32, b []byte, dt DType) error {
	switch dt {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		table := f16Table()
		for i := range out {
			out[i] = table[binary.LittleEndian.Uint16(b[2*i:])]
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	}
	if i := firstNonFinite(out); i >= 0 {
		return fmt.Errorf("value %d is %v", i, out[i])
	}
	return nil
}

// f16Table maps every IEEE half to its float32: a table lookup is several
// times faster than converting a model's values one by one.
var f16Table = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range t {
		t[h] = f16ToFloat32(uint16(h))
	}
	return &t
})

// firstNonFinite is the index of the first NaN or infinity in v, or -1.
func firstNonFinite(v []float32) int {
	for i, f := range v {
		if math.Float32bits(f)&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

// float32ToF16 rounds f to the nearest IEEE half (ties to even).
func float32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // subnormal half (or zero)
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - e)
		h := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is the correct rounding (up to inf)
	}
	return sign | uint16(h)
}

func f16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		// subnormal: mant · 2^-24, exact in float32
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// float32ToBF16 rounds f to the nearest bfloat16 (ties to even).
func float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40 // quiet NaN
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}
