package core

import (
	"context"
	"io"

	"zpng/codec"
	"zpng/core/catalog"
	"zpng/core/neural"
)

// NeuralMeta is the META section of an image whose method runs a model.
type NeuralMeta = neural.Meta

// ParseNeuralMeta decodes the META section of a neural image (Info.Meta).
func ParseNeuralMeta(meta []byte) (*NeuralMeta, error) { return neural.ParseMeta(meta) }

// RunsModel reports whether the method named (as Info.Method gives it) codes
// with a model, so that its META is a NeuralMeta.
func RunsModel(method string) bool { return neural.RunsModel(method) }

// ErrModelMissing: the model a job needs is neither shipped with this zpng
// nor in the models folder (ModelsDir).
var ErrModelMissing = catalog.ErrMissing

// ModelsDir is the folder searched for models besides the shipped ones when
// Options.ModelsDir is empty: $ZPNG_MODELS if set, else
// <user config dir>/zpng/models.
func ModelsDir() string { return catalog.DefaultDir() }

// neuralMethod runs package neural: method neural, hybrid, or hybrid1,
// hybrid2 and hybrid3, which zpng decodes but does not make. Levels 4 to 9 try hybrid, which codes
// alice29.txt about 30% smaller than neural (large-v3, no fine-tune: 1.694
// against 2.208 bpb) for the cost of the cm model.
type neuralMethod struct{ method codec.Method }

func init() {
	registerMethod(neuralMethod{codec.MethodNeural}, useMake)
	registerMethod(neuralMethod{codec.MethodHybrid}, useMake)
	registerMethod(neuralMethod{codec.MethodHybrid1}, useDecodeOnly)
	registerMethod(neuralMethod{codec.MethodHybrid2}, useDecodeOnly)
	registerMethod(neuralMethod{codec.MethodHybrid3}, useDecodeOnly)
}

func (m neuralMethod) name() string     { return m.method.String() }
func (m neuralMethod) id() codec.Method { return m.method }

func (m neuralMethod) available(opt *Options) error {
	return neural.Available(m.settings(opt, nil, -1))
}

// settings carries the job's options to package neural for a file of n
// bytes (n < 0: not known yet).
func (m neuralMethod) settings(opt *Options, j *job, n int64) neural.Settings {
	model := opt.Model
	prefer := ""
	if model == "auto" || model == "" {
		model, prefer = "auto", opt.modelFor(max(n, 0))
	}
	s := neural.Settings{
		Method: m.method, Model: model, Prefer: prefer, FinetuneSteps: opt.finetuneSteps(), ExactTune: opt.plan().exactTune, OneGroup: opt.plan().oneGroup, ShortSegments: opt.plan().shortSegments,
		SelfContained: opt.SelfContained, Engine: opt.Engine, Device: opt.Device, Threads: opt.Threads,
		Catalog: opt.catalog(),
	}
	if opt.Policy != nil {
		s.Policy = *opt.Policy
	} else if m := opt.plan().hybridMargin; m != 0 {
		s.Policy = neural.DefaultPolicy()
		s.Policy.HybridMargin = m
	}
	if j != nil {
		s.Bar, s.Extra = j.bar, j.models
	}
	return s
}

func (m neuralMethod) encode(ctx context.Context, j *job, src []byte) (*encoded, error) {
	j.progress.begin(m.name(), int64(len(src))) // this method's share of the job
	e, err := neural.Encode(ctx, src, m.settings(&j.opt, j, int64(len(src))), j.progress.reporter())
	if err != nil {
		return nil, err
	}
	if e.File.Source != catalog.Shipped {
		j.models = append(j.models, e.File) // so that the self-check finds a model given by path
	}
	return &encoded{flags: e.Flags, modelID: e.ModelID, sections: e.Sections, model: e.Model, notes: e.Notes}, nil
}

func (m neuralMethod) decode(ctx context.Context, j *job, c *codec.Container, w io.Writer) error {
	return neural.Decode(ctx, c, w, m.settings(&j.opt, j, -1), j.progress.reporter())
}
