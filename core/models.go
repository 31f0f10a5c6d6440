package core

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

// ErrModelMissing: the model a job needs is neither shipped with this zpng
// nor in the models folder (ModelsDir).
var ErrModelMissing = errors.New("model not found")

// ModelsDir is the folder searched for models besides the shipped ones:
// $ZPNG_MODELS if set, else <user config dir>/zpng/models.
func ModelsDir() string {
	if d := os.Getenv("ZPNG_MODELS"); d != "" {
		return d
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "zpng", "models")
}

// modelFile is one model the pipeline can use: shipped, in the models
// folder, or named by path.
type modelFile struct {
	name   string // the preset name from the file's metadata, else the file name
	file   string // the file name without ".safetensors", e.g. "small-v1"
	source string // "shipped" or the file's path
	id     [32]byte
	meta   model.Meta
	data   []byte // shipped models only; others are read when used
}

// IDHex is the identity in hex.
func (m *modelFile) idHex() string { return hex.EncodeToString(m.id[:]) }

// label names the model for messages: "small (2x256, shipped)".
func (m *modelFile) label() string {
	return fmt.Sprintf("%s (%v, %s)", m.name, m.meta.Config, m.source)
}

// weights loads and validates the float weights.
func (m *modelFile) weights() (*model.Weights, error) {
	data := m.data
	if data == nil {
		var err error
		if data, err = os.ReadFile(m.source); err != nil {
			return nil, err
		}
		if sha256.Sum256(data) != m.id {
			return nil, fmt.Errorf("model file %s changed while zpng was using it", m.source)
		}
	}
	w, _, err := model.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.label(), err)
	}
	return w, nil
}

// newModelFile describes a model file from its bytes, reading only the
// safetensors header.
func newModelFile(data []byte, source, fileName string) (*modelFile, error) {
	meta, err := peekMeta(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fileName, err)
	}
	m := &modelFile{name: meta.Preset, file: strings.TrimSuffix(filepath.Base(fileName), ".safetensors"),
		source: source, id: sha256.Sum256(data), meta: meta}
	if m.name == "" {
		m.name = m.file
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

// shippedModels lists the models embedded in the binary; a variable so that
// tests can run without them.
var shippedModels = sync.OnceValue(func() []*modelFile {
	var ms []*modelFile
	for _, w := range weights.Models() {
		m, err := newModelFile(w.Data, "shipped", w.Name)
		if err != nil {
			continue // weights' own test keeps broken files out
		}
		m.data = w.Data
		ms = append(ms, m)
	}
	return ms
})

// folderModels lists the valid model files in ModelsDir, in name order.
// Files that are not models are passed over.
func folderModels() []*modelFile {
	dir := ModelsDir()
	if dir == "" {
		return nil
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	sort.Strings(names)
	var ms []*modelFile
	for _, p := range names {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if m, err := newModelFile(data, p, p); err == nil {
			ms = append(ms, m)
		}
	}
	return ms
}

// currentShipped is the shipped models without the superseded ones: of
// several with the same name (small-v1, small-v2: both "small"), the last in
// weights.Models' order (file names, numbers by value). The older ones stay
// shipped so that their images restore.
func currentShipped() []*modelFile {
	all := shippedModels()
	var out []*modelFile
	for i, m := range all {
		superseded := false
		for _, later := range all[i+1:] {
			superseded = superseded || later.name == m.name
		}
		if !superseded {
			out = append(out, m)
		}
	}
	return out
}

// catalog is every model that names and auto choose from: the current
// shipped ones first, then the models folder.
func catalog() []*modelFile {
	return append(currentShipped(), folderModels()...)
}

// modelByName resolves --model: a name (small, large, …) found in the
// catalog, a shipped file's name (small-v1, also when superseded), or a path
// to a model file. "auto" is resolved elsewhere.
func modelByName(spec string) (*modelFile, error) {
	ms := catalog()
	for _, m := range ms {
		if m.meta.Preset == spec || m.name == spec {
			return m, nil
		}
	}
	for _, m := range shippedModels() {
		if m.file == spec {
			return m, nil
		}
	}
	data, err := os.ReadFile(spec)
	if err == nil {
		return newModelFile(data, spec, spec)
	}
	if errors.Is(err, fs.ErrNotExist) {
		have := []string{}
		for _, m := range ms {
			have = append(have, m.name)
		}
		return nil, fmt.Errorf("%w: %q is neither a model of this zpng (have: %s; models folder %s) nor a file",
			ErrModelMissing, spec, strings.Join(have, ", "), ModelsDir())
	}
	return nil, err
}

// modelByID finds the model with the given identity among the shipped ones
// and in the models folder, then in extra (models this job was given by path).
// name is what the image calls it, for the error.
func modelByID(id [32]byte, name string, extra []*modelFile) (*modelFile, error) {
	for _, m := range append(shippedModels(), extra...) {
		if m.id == id {
			return m, nil
		}
	}
	for _, m := range folderModels() {
		if m.id == id {
			return m, nil
		}
	}
	if name == "" {
		name = "unnamed"
	}
	return nil, fmt.Errorf("%w: this image needs the model %q with identity %x; it is not shipped with this zpng — put the model file in %s",
		ErrModelMissing, name, id, ModelsDir())
}
