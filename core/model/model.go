// Package model holds the byte model of docs/ENGINE.md: its configuration
// (presets), its float parameters in torch.nn.GRU layout and the
// safetensors files that store them, and the integer model the engines run
// (Quantize) with its serialization, deltas, lookup tables and integer
// softmax, plus a float reference for the quantization loss.
package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Config is the shape of a model: Layers GRU layers of Hidden units over a
// byte embedding of Embed values (Embed == Hidden).
type Config struct {
	Layers int `json:"layers"`
	Hidden int `json:"hidden"`
	Embed  int `json:"embed"`
}

// Limits enforced by Validate. Hidden ≤ 1024 keeps every integer dot product
// exact in float32 (docs/ENGINE.md).
const (
	MaxHidden = 1024
	MaxLayers = 8
)

// Presets are the shipped model shapes.
var Presets = map[string]Config{
	"large": {Layers: 4, Hidden: 512, Embed: 512},
	"small": {Layers: 1, Hidden: 384, Embed: 384},
	// medium: about 2.3 times fewer multiply-adds per byte than large, for
	// the default level's speed; no model of this shape is shipped yet.
	"medium": {Layers: 3, Hidden: 384, Embed: 384},
}

// Preset returns the named preset.
func Preset(name string) (Config, error) {
	c, ok := Presets[name]
	if !ok {
		return Config{}, fmt.Errorf("model: unknown preset %q (have: %v)", name, PresetNames())
	}
	return c, nil
}

// PresetNames lists the presets in sorted order.
func PresetNames() []string {
	var n []string
	for k := range Presets {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Validate reports whether c is a shape the engines support.
func (c Config) Validate() error {
	switch {
	case c.Layers < 1 || c.Layers > MaxLayers:
		return fmt.Errorf("model: %d layers, want 1..%d", c.Layers, MaxLayers)
	case c.Hidden < 1 || c.Hidden > MaxHidden:
		return fmt.Errorf("model: hidden size %d, want 1..%d", c.Hidden, MaxHidden)
	case c.Embed != c.Hidden:
		return fmt.Errorf("model: embedding size %d differs from hidden size %d", c.Embed, c.Hidden)
	}
	return nil
}

// String formats c as "4x512".
func (c Config) String() string { return fmt.Sprintf("%dx%d", c.Layers, c.Hidden) }

// ParamSpec names one parameter tensor and its shape (row-major).
type ParamSpec struct {
	Name  string
	Shape []int
}

// Size is the number of elements.
func (p ParamSpec) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// ParamSpecs lists the parameters of cfg in canonical order: embed.weight,
// then per layer k weight_ih, weight_hh, bias_ih, bias_hh, then head.weight,
// head.bias. Names and shapes are those of docs/ENGINE.md.
func ParamSpecs(cfg Config) []ParamSpec {
	H, E := cfg.Hidden, cfg.Embed
	specs := []ParamSpec{{"embed.weight", []int{256, E}}}
	for k := 0; k < cfg.Layers; k++ {
		in := H
		if k == 0 {
			in = E
		}
		specs = append(specs,
			ParamSpec{fmt.Sprintf("gru.weight_ih_l%d", k), []int{3 * H, in}},
			ParamSpec{fmt.Sprintf("gru.weight_hh_l%d", k), []int{3 * H, H}},
			ParamSpec{fmt.Sprintf("gru.bias_ih_l%d", k), []int{3 * H}},
			ParamSpec{fmt.Sprintf("gru.bias_hh_l%d", k), []int{3 * H}},
		)
	}
	return append(specs,
		ParamSpec{"head.weight", []int{256, H}},
		ParamSpec{"head.bias", []int{256}},
	)
}

// ParamCount is the number of float parameters of cfg.
func (c Config) ParamCount() int {
	n := 0
	for _, s := range ParamSpecs(c) {
		n += s.Size()
	}
	return n
}

// Weights holds the float parameters of a model by name (see ParamSpecs).
type Weights struct {
	Config  Config
	Tensors map[string][]float32
}

// NewWeights returns all-zero weights for cfg.
func NewWeights(cfg Config) (*Weights, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Weights{Config: cfg, Tensors: map[string][]float32{}}
	for _, s := range ParamSpecs(cfg) {
		w.Tensors[s.Name] = make([]float32, s.Size())
	}
	return w, nil
}

// RandomWeights returns weights drawn like torch's defaults for nn.GRU and
// nn.Linear (uniform in ±1/sqrt(H)) and N(0,1) embeddings, from a fixed seed.
func RandomWeights(cfg Config, seed uint64) (*Weights, error) {
	w, err := NewWeights(cfg)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x7a706e67))
	bound := 1 / math.Sqrt(float64(cfg.Hidden))
	for _, s := range ParamSpecs(cfg) {
		t := w.Tensors[s.Name]
		for i := range t {
			if s.Name == "embed.weight" {
				t[i] = float32(rng.NormFloat64())
			} else {
				t[i] = float32((2*rng.Float64() - 1) * bound)
			}
		}
	}
	return w, nil
}

// Tensor returns the named tensor, or nil.
func (w *Weights) Tensor(name string) []float32 { return w.Tensors[name] }

// Clone returns a deep copy.
func (w *Weights) Clone() *Weights {
	c := &Weights{Config: w.Config, Tensors: make(map[string][]float32, len(w.Tensors))}
	for k, v := range w.Tensors {
		c.Tensors[k] = append([]float32(nil), v...)
	}
	return c
}

// Validate checks that w has exactly the tensors of its config, with the
// right sizes and finite values.
func (w *Weights) Validate() error {
	if err := w.Config.Validate(); err != nil {
		return err
	}
	specs := ParamSpecs(w.Config)
	if len(w.Tensors) != len(specs) {
		for name := range w.Tensors {
			if !hasSpec(specs, name) {
				return fmt.Errorf("model: unexpected tensor %q for a %v model", name, w.Config)
			}
		}
	}
	for _, s := range specs {
		t, ok := w.Tensors[s.Name]
		if !ok {
			return fmt.Errorf("model: tensor %q missing", s.Name)
		}
		if len(t) != s.Size() {
			return fmt.Errorf("model: tensor %q has %d values, want %d (shape %v)", s.Name, len(t), s.Size(), s.Shape)
		}
		if i := firstNonFinite(t); i >= 0 {
			return fmt.Errorf("model: tensor %q value %d is %v", s.Name, i, t[i])
		}
	}
	return nil
}

func hasSpec(specs []ParamSpec, name string) bool {
	for _, s := range specs {
		if s.Name == name {
			return true
		}
	}
	return false
}
