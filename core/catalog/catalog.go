// Package catalog finds model files by name or identity: the models shipped
// in the binary and those in a user models folder. Of several shipped files
// with the same name the newest wins for new images; the older ones stay
// reachable by identity so that their images restore.
package catalog

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"zpng/core/model"
	"zpng/weights"
)

// ErrMissing: the model a job needs is neither shipped with this zpng nor in
// the models folder.
var ErrMissing = errors.New("model not found")

// Shipped is the Source of a model embedded in the binary.
const Shipped = "shipped"

// DefaultDir is the models folder used when none is given: $ZPNG_MODELS if
// set, else <user config dir>/zpng/models.
func DefaultDir() string {
	if d := os.Getenv("ZPNG_MODELS"); d != "" {
		return d
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "zpng", "models")
}

// Model is one model file: shipped, in the models folder, or named by path.
type Model struct {
	Name   string // the preset name from the file's metadata, else the file name
	File   string // the file name without ".safetensors", e.g. "small-v1"
	Source string // Shipped or the file's path
	ID     [32]byte
	Meta   model.Meta
	data   []byte // shipped models only; others are read when used
}

// IDHex is the identity in hex.
func (m *Model) IDHex() string { return hex.EncodeToString(m.ID[:]) }

// Label names the model for messages: "small (2x256, shipped)".
func (m *Model) Label() string {
	return fmt.Sprintf("%s (%v, %s)", m.Name, m.Meta.Config, m.Source)
}

// Weights loads and validates the float weights.
func (m *Model) Weights() (*model.Weights, error) {
	data := m.data
	if data == nil {
		var err error
		if data, err = os.ReadFile(m.Source); err != nil {
			return nil, err
		}
		if sha256.Sum256(data) != m.ID {
			return nil, fmt.Errorf("model file %s changed while zpng was using it", m.Source)
		}
	}
	w, _, err := model.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.Label(), err)
	}
	return w, nil
}

// Parse describes a model file from its bytes, reading only the safetensors
// header. source is Shipped (the model then keeps data) or the file's path.
func Parse(data []byte, source, fileName string) (*Model, error) {
	meta, err := peekMeta(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fileName, err)
	}
	m := &Model{Name: meta.Preset, File: strings.TrimSuffix(filepath.Base(fileName), ".safetensors"),
		Source: source, ID: sha256.Sum256(data), Meta: meta}
	if m.Name == "" {
		m.Name = m.File
	}
	if source == Shipped {
		m.data = data
	}
	return m, nil
}

// peekMeta reads the zpng metadata of a safetensors file without decoding
// its tensors. The config must be present and valid.
func peekMeta(data []byte) (model.Meta, error) {
	var meta model.Meta
	if len(data) < 8 {
		return meta, errors.New("not a safetensors file")
	}
	n := binary.LittleEndian.Uint64(data)
	if n < 2 || n > uint64(len(data)-8) || n > 1<<20 {
		return meta, errors.New("not a safetensors file")
	}
	var hdr struct {
		Meta map[string]string `json:"__metadata__"`
	}
	if err := json.Unmarshal(data[8:8+n], &hdr); err != nil {
		return meta, fmt.Errorf("safetensors header: %w", err)
	}
	s, ok := hdr.Meta[model.MetaKey]
	if !ok {
		return meta, errors.New("no zpng metadata in the safetensors header")
	}
	if err := json.Unmarshal([]byte(s), &meta); err != nil {
		return meta, fmt.Errorf("zpng metadata: %w", err)
	}
	return meta, meta.Config.Validate()
}

// embedded is the models shipped in the binary, parsed once.
var embedded = sync.OnceValue(func() []*Model {
	var ms []*Model
	for _, w := range weights.Models() {
		m, err := Parse(w.Data, Shipped, w.Name)
		if err != nil {
			continue // weights' own test keeps broken files out
		}
		ms = append(ms, m)
	}
	return ms
})

// A Catalog is the models a job can use: the shipped ones, in the order of
// weights.Models (file names, numbers by value), and the model files in a
// folder.
type Catalog struct {
	shipped []*Model
	dir     string
}

// New returns a catalog of the given shipped models and the folder dir.
func New(shipped []*Model, dir string) *Catalog {
	return &Catalog{shipped: shipped, dir: dir}
}

// Default returns the catalog of the models shipped in this binary and the
// folder dir ("" = DefaultDir()).
func Default(dir string) *Catalog {
	if dir == "" {
		dir = DefaultDir()
	}
	return New(embedded(), dir)
}

// Dir is the models folder.
func (c *Catalog) Dir() string { return c.dir }

// Shipped lists every shipped model, superseded ones included.
func (c *Catalog) Shipped() []*Model { return c.shipped }

// Folder lists the valid model files in the models folder, in name order.
// Files that are not models are passed over.
func (c *Catalog) Folder() []*Model {
	if c.dir == "" {
		return nil
	}
	names, _ := filepath.Glob(filepath.Join(c.dir, "*.safetensors"))
	sort.Strings(names)
	var ms []*Model
	for _, p := range names {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if m, err := Parse(data, p, p); err == nil {
			ms = append(ms, m)
		}
	}
	return ms
}

// current is the shipped models without the superseded ones: of several
// with the same name (small-v1, small-v2: both "small"), the last.
func (c *Catalog) current() []*Model {
	var out []*Model
	for i, m := range c.shipped {
		superseded := false
		for _, later := range c.shipped[i+1:] {
			superseded = superseded || later.Name == m.Name
		}
		if !superseded {
			out = append(out, m)
		}
	}
	return out
}

// Models is every model that names and auto choose from: the current
// shipped ones first, then the models folder.
func (c *Catalog) Models() []*Model {
	return append(c.current(), c.Folder()...)
}

// ByName resolves --model: a name (small, large, …) of Models, a shipped
// file's name (small-v1, also when superseded), or a path to a model file.
// "auto" is resolved elsewhere.
func (c *Catalog) ByName(spec string) (*Model, error) {
	ms := c.Models()
	for _, m := range ms {
		if m.Meta.Preset == spec || m.Name == spec {
			return m, nil
		}
	}
	for _, m := range c.shipped {
		if m.File == spec {
			return m, nil
		}
	}
	data, err := os.ReadFile(spec)
	if err == nil {
		return Parse(data, spec, spec)
	}
	if errors.Is(err, fs.ErrNotExist) {
		have := []string{}
		for _, m := range ms {
			have = append(have, m.Name)
		}
		return nil, fmt.Errorf("%w: %q is neither a model of this zpng (have: %s; models folder %s) nor a file",
			ErrMissing, spec, strings.Join(have, ", "), c.dir)
	}
	return nil, err
}

// ByID finds the model with the given identity among the shipped ones and
// in extra (models a job was given by path), then in the models folder.
// name is what the image calls it, for the error.
func (c *Catalog) ByID(id [32]byte, name string, extra []*Model) (*Model, error) {
	for _, m := range append(c.shipped[:len(c.shipped):len(c.shipped)], extra...) {
		if m.ID == id {
			return m, nil
		}
	}
	for _, m := range c.Folder() {
		if m.ID == id {
			return m, nil
		}
	}
	if name == "" {
		name = "unnamed"
	}
	file := ""
	if d := Superseded(id); d != "" {
		file = " (" + d + ")"
	}
	return nil, fmt.Errorf("%w: this image needs the model %q%s with identity %x; it is not shipped with this zpng — put the model file in %s, or name its folder with --models-dir",
		ErrMissing, name, file, id, c.dir)
}

// Unique drops models whose identity came earlier (a shipped model also
// copied into the models folder).
func Unique(ms []*Model) []*Model {
	seen := map[[32]byte]bool{}
	var out []*Model
	for _, m := range ms {
		if !seen[m.ID] {
			seen[m.ID] = true
			out = append(out, m)
		}
	}
	return out
}
