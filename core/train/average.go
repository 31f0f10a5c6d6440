//go:build !notorch

package train

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"zpng/core/engine/torch"
	"zpng/core/model"
)

// AverageOptions say how to average models and whether to measure them.
type AverageOptions struct {
	Corpus   string // a training corpus whose held-out part measures each model and the average ("": none)
	ValBytes int    // held-out bytes to measure on
	Device   string // auto, cpu or cuda
	Threads  int    // CPU threads for libtorch (0: its default)
}

// Averaged is the mean of several models (a model soup) with its metadata.
type Averaged struct {
	Weights *model.Weights
	Meta    *model.Meta
	// With a corpus: its description, each input's and the average's
	// validation bpb.
	Corpus   string
	InputBPB []float64
	BPB      float64
}

// Average reads the model files at paths, trained on from one start, and
// averages them. The result names its inputs in its metadata and carries
// the preset name when all inputs share it.
func Average(paths []string, opt AverageOptions) (*Averaged, error) {
	var (
		ws     []*model.Weights
		names  []string
		preset string
	)
	for i, path := range paths {
		w, meta, desc, err := ReadModelFile(path)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			preset = meta.Preset
		} else if meta.Preset != preset {
			preset = "" // mixed names: the average claims none
		}
		ws = append(ws, w)
		names = append(names, desc)
	}
	avg, err := model.Average(ws...)
	if err != nil {
		return nil, err
	}
	a := &Averaged{Weights: avg, Meta: &model.Meta{Preset: preset, Config: avg.Config, Extra: map[string]string{
		"average_of": strings.Join(names, ", ")}}}
	if opt.Corpus == "" {
		return a, nil
	}
	if opt.Threads > 0 {
		torch.SetThreads(opt.Threads)
	}
	c, err := LoadCorpus(opt.Corpus)
	if err != nil {
		return nil, err
	}
	a.Corpus = c.Desc
	for _, w := range ws {
		v, err := Validation(c, w, opt.Device, opt.ValBytes)
		if err != nil {
			return nil, err
		}
		a.InputBPB = append(a.InputBPB, v)
	}
	if a.BPB, err = Validation(c, avg, opt.Device, opt.ValBytes); err != nil {
		return nil, err
	}
	a.Meta.Extra["validation_bpb"] = fmt.Sprintf("%.4f on about %d held-out bytes of %s", a.BPB, min(opt.ValBytes, len(c.Val)), c.Desc)
	return a, nil
}

// ReadModelFile reads a model file and names it for metadata: its base
// name and identity, from one read of the file.
func ReadModelFile(path string) (*model.Weights, *model.Meta, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, "", err
	}
	w, meta, err := model.Decode(data)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return w, meta, fmt.Sprintf("%s (sha256 %x)", filepath.Base(path), sha256.Sum256(data)), nil
}

// Ready loads libtorch's part of zpng, which training, evaluation and
// averaging with --corpus run on, and returns why it cannot when it cannot.
func Ready() error { return torch.Load() }

// ResolveDevice says which device "auto", "cpu" or "cuda" means here, or
// why it cannot be used.
func ResolveDevice(device string) (string, error) { return torch.ResolveDevice(device) }

// Runtime describes libtorch, the device and the threads a run on device
// with threads CPU threads (0: libtorch's default) uses.
func Runtime(device string, threads int) string {
	dev, _ := torch.ResolveDevice(device)
	t := fmt.Sprintf("%d CPU threads", threads)
	if threads == 0 {
		t = fmt.Sprintf("BLAS on %d CPUs, other operators on %d", runtime.NumCPU(), torch.Threads())
	}
	return fmt.Sprintf("libtorch %s on %s; %s", torch.Version(), dev, t)
}

// PresetNames lists the model shapes Pretrain knows by name.
func PresetNames() []string { return model.PresetNames() }

// Preset is the model shape of a preset name.
func Preset(name string) (model.Config, error) { return model.Preset(name) }

// ParseDType reads a weight type for saved models: F32, F16 or BF16.
func ParseDType(s string) (model.DType, error) {
	switch d := model.DType(s); d {
	case model.F32, model.F16, model.BF16:
		return d, nil
	}
	return "", fmt.Errorf("unknown --dtype %q (want %s, %s or %s)", s, model.F32, model.F16, model.BF16)
}

// Save writes the averaged model to path with weights of type dtype.
func (a *Averaged) Save(path string, dtype model.DType) error {
	return model.Save(path, a.Weights, a.Meta, dtype)
}
