//go:build !notorch

package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"zpng/core/engine/torch"
	"zpng/core/model"
)

// PretrainOptions configure Pretrain. Zero values take the defaults noted.
type PretrainOptions struct {
	Preset string       // recorded in the model's metadata
	Config model.Config // the model's shape
	Steps  int          // default 20000
	Batch  int          // windows per step, default 128
	Seq    int          // bytes per window, default 256
	LR     float64      // peak learning rate, default 2e-3
	Warmup int          // default min(500, Steps/20)
	Final  float64      // final LR as a fraction of LR, default 0.1
	Clip   float64      // default 1
	Seed   uint64
	CRLF   float64 // share of LF-text windows given CRLF line endings (Windows.CRLF); 0: none

	// Init, when set, starts the run from these weights instead of random
	// ones (fresh Adam); InitDesc names them in the model's metadata.
	Init     *model.Weights
	InitDesc string

	Device  string // auto, cpu or cuda
	Threads int    // CPU threads, 0: libtorch's default

	Out             string        // final model file (safetensors)
	DType           model.DType   // of the final model, default F32
	Resume          string        // checkpoint directory to continue from
	CheckpointEvery int           // steps, default 1000; 0 < n
	ValEvery        int           // steps, default 500
	ValBytes        int           // validation bytes per evaluation, default 65536
	TimeLimit       time.Duration // stop (with a checkpoint and a model) after this long; 0: none
	Progress        func(Progress)
}

// Progress reports a pretraining step.
type Progress struct {
	Step, Steps int
	BPB         float64 // training loss of this step, bits per byte
	LR          float64
	BytesPerSec float64 // training bytes per second over the last steps
	Elapsed     time.Duration
	ETA         time.Duration
	ValBPB      float64 // set on steps that ran validation
	Checkpoint  string  // set on steps that wrote a checkpoint
}

// Result summarises a pretraining run.
type Result struct {
	Steps   int
	ValBPB  float64
	Seconds float64 // training time, all runs of a resumed job included
	Device  string
	Stopped bool // the time limit ended the run before Steps
}

// state is the checkpoint's JSON, beside the weights and Adam moments.
type state struct {
	Preset    string       `json:"preset"`
	Config    model.Config `json:"config"`
	Step      int          `json:"step"`
	AdamSteps int64        `json:"adam_steps"`
	RNG       []byte       `json:"rng"`
	Seconds   float64      `json:"seconds"`
	ValBPB    float64      `json:"validation_bpb"`
	Corpus    string       `json:"corpus"`
	Steps     int          `json:"steps"`
	Batch     int          `json:"batch"`
	Seq       int          `json:"seq"`
	LR        float64      `json:"lr"`
	Warmup    int          `json:"warmup"`
	Final     float64      `json:"final"`
	Clip      float64      `json:"clip"`
	Seed      uint64       `json:"seed"`
	CRLF      float64      `json:"crlf,omitempty"`
	Init      string       `json:"init,omitempty"`
}

// CheckpointDir is where Pretrain keeps the checkpoint of a run writing out.
func CheckpointDir(out string) string { return out + ".ckpt" }

func (o *PretrainOptions) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Steps, 20000)
	def(&o.Batch, 128)
	def(&o.Seq, 256)
	def(&o.Warmup, min(500, max(1, o.Steps/20)))
	def(&o.CheckpointEvery, 1000)
	def(&o.ValEvery, 500)
	def(&o.ValBytes, 65536)
	if o.LR == 0 {
		o.LR = 2e-3
	}
	if o.Final == 0 {
		o.Final = 0.1
	}
	if o.Clip == 0 {
		o.Clip = 1
	}
	if o.DType == "" {
		o.DType = model.F32
	}
}

// Pretrain trains a model on c and writes it to o.Out, with checkpoints in
// CheckpointDir(o.Out) so that a run can be resumed (o.Resume).
func Pretrain(c *Corpus, o PretrainOptions) (*Result, error) {
	var st *state
	if o.Resume != "" {
		var err error
		if st, err = readState(o.Resume); err != nil {
			return nil, err
		}
		// The run continues as recorded; only the total may change.
		steps := o.Steps
		o.Preset, o.Config, o.Batch, o.Seq, o.LR = st.Preset, st.Config, st.Batch, st.Seq, st.LR
		o.Warmup, o.Final, o.Clip, o.Seed, o.Steps = st.Warmup, st.Final, st.Clip, st.Seed, st.Steps
		o.CRLF, o.Init, o.InitDesc = st.CRLF, nil, st.Init
		if steps > 0 {
			o.Steps = steps
		}
	}
	o.defaults()
	if o.Out == "" {
		return nil, errors.New("train: no output file")
	}
	if o.Init != nil && o.Init.Config != o.Config {
		return nil, fmt.Errorf("train: the initial model is %s, the run is %s", o.Init.Config, o.Config)
	}
	if o.CRLF < 0 || o.CRLF > 1 {
		return nil, fmt.Errorf("train: CRLF share %g is not in [0, 1]", o.CRLF)
	}
	if o.Steps < 1 || o.Batch < 1 || o.Seq < 2 || o.LR <= 0 || o.CheckpointEvery < 1 || o.ValEvery < 1 {
		return nil, fmt.Errorf("train: bad options: %d steps, batch %d, seq %d, lr %g", o.Steps, o.Batch, o.Seq, o.LR)
	}
	if len(c.Train) < o.Seq+1 {
		return nil, fmt.Errorf("train: corpus has %d training bytes, fewer than one window of %d", len(c.Train), o.Seq)
	}
	if o.Threads > 0 {
		torch.SetThreads(o.Threads)
	}
	m, err := torch.NewModel(o.Config, o.Device, o.Seed)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if o.Init != nil {
		if err := m.SetWeights(o.Init); err != nil {
			return nil, err
		}
	}
	m.SetAdam(torch.Adam{LR: o.LR, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8})

	rng := rand.NewPCG(o.Seed, 0x7072657472)
	if st == nil {
		st = &state{Preset: o.Preset, Config: o.Config, Corpus: c.Desc}
	} else {
		if err := resume(m, o.Resume, st, rng); err != nil {
			return nil, err
		}
	}
	st.Steps, st.Batch, st.Seq, st.LR, st.Warmup, st.Final, st.Clip, st.Seed =
		o.Steps, o.Batch, o.Seq, o.LR, o.Warmup, o.Final, o.Clip, o.Seed
	st.CRLF, st.Init = o.CRLF, o.InitDesc

	win := &Windows{Data: c.Train, Starts: c.Starts, Batch: o.Batch, Seq: o.Seq, CRLF: o.CRLF}
	val := validationSet(c.Val, o.ValBytes)
	sched := Schedule{Peak: o.LR, Warmup: o.Warmup, Final: o.Final, Steps: o.Steps}
	r := rand.New(rng)
	start := time.Now()
	base := st.Seconds
	res := &Result{Device: m.Device()}
	lastT, lastStep := start, st.Step
	speed := 0.0
	for st.Step < o.Steps {
		lr := sched.LR(st.Step)
		m.SetLR(lr)
		in, tgt := win.Next(r)
		loss, err := m.Backward(in, tgt, o.Batch, o.Seq)
		if err != nil {
			return nil, err
		}
		if _, err := m.Step(o.Clip); err != nil {
			return nil, fmt.Errorf("train: step %d: %w", st.Step+1, err)
		}
		st.Step++
		now := time.Now()
		st.Seconds = base + now.Sub(start).Seconds()
		if d := now.Sub(lastT); d >= 2*time.Second || st.Step == o.Steps {
			speed = float64((st.Step-lastStep)*o.Batch*o.Seq) / d.Seconds()
			lastT, lastStep = now, st.Step
		}
		p := Progress{Step: st.Step, Steps: o.Steps, BPB: BitsPerByte(loss), LR: lr, BytesPerSec: speed,
			Elapsed: time.Duration(st.Seconds * float64(time.Second))}
		if speed > 0 {
			p.ETA = time.Duration(float64((o.Steps-st.Step)*o.Batch*o.Seq) / speed * float64(time.Second))
		}
		stop := o.TimeLimit > 0 && now.Sub(start) >= o.TimeLimit
		last := st.Step == o.Steps || stop
		if st.Step%o.ValEvery == 0 || last {
			if st.ValBPB, err = evaluate(m, val); err != nil {
				return nil, err
			}
			p.ValBPB = st.ValBPB
		}
		if st.Step%o.CheckpointEvery == 0 || last {
			if err := checkpoint(m, CheckpointDir(o.Out), st, rng); err != nil {
				return nil, err
			}
			p.Checkpoint = CheckpointDir(o.Out)
		}
		if o.Progress != nil {
			o.Progress(p)
		}
		if stop {
			res.Stopped = st.Step < o.Steps
			break
		}
	}
	w, err := m.Weights()
	if err != nil {
		return nil, err
	}
	meta := &model.Meta{Preset: o.Preset, Config: o.Config, Training: &model.Training{
		Steps: st.Step, Device: m.Device(), Seconds: st.Seconds, Corpus: st.Corpus, ValidationBPB: st.ValBPB,
	}, Extra: map[string]string{
		"batch": fmt.Sprint(o.Batch), "seq": fmt.Sprint(o.Seq), "lr": fmt.Sprint(o.LR),
		"schedule": fmt.Sprintf("warmup %d, cosine to %g×", o.Warmup, o.Final), "clip": fmt.Sprint(o.Clip),
		"seed": fmt.Sprint(o.Seed), "libtorch": torch.Version(),
	}}
	if o.CRLF > 0 {
		meta.Extra["crlf"] = fmt.Sprint(o.CRLF)
	}
	if st.Init != "" {
		meta.Extra["init"] = st.Init
	}
	if err := model.Save(o.Out, w, meta, o.DType); err != nil {
		return nil, err
	}
	res.Steps, res.ValBPB, res.Seconds = st.Step, st.ValBPB, st.Seconds
	return res, nil
}

// validationSet cuts up to n bytes of val into evenly spaced windows.
type valSet struct {
	in, tgt []byte
	batch   int
	seq     int
}

const valSeq = 1024

func validationSet(val []byte, n int) valSet {
	seq := min(valSeq, len(val))
	count := max(1, min(n, len(val))/max(seq, 1))
	vs := valSet{batch: count, seq: seq}
	if seq == 0 {
		return vs
	}
	for i := range count {
		o := (len(val) - seq) * i / max(1, count-1)
		if count == 1 {
			o = 0
		}
		if o > 0 {
			vs.in = append(vs.in, val[o-1])
		} else {
			vs.in = append(vs.in, 0)
		}
		vs.in = append(vs.in, val[o:o+seq-1]...)
		vs.tgt = append(vs.tgt, val[o:o+seq]...)
	}
	return vs
}

// Validation is the float loss of w on up to n bytes of c's held-out part,
// in bits per byte: the figure Pretrain reports, on a sample of any size.
func Validation(c *Corpus, w *model.Weights, device string, n int) (float64, error) {
	m, err := torch.NewModel(w.Config, device, 0)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	if err := m.SetWeights(w); err != nil {
		return 0, err
	}
	return evaluate(m, validationSet(c.Val, n))
}

// evaluate is the float model's loss on the validation windows, in bits
// per byte, computed a few windows at a time.
func evaluate(m *torch.Model, v valSet) (float64, error) {
	if v.seq == 0 {
		return 0, nil
	}
	const group = 8
	total := 0.0
	for b := 0; b < v.batch; b += group {
		n := min(group, v.batch-b)
		lo, hi := b*v.seq, (b+n)*v.seq
		l, err := m.Loss(v.in[lo:hi], v.tgt[lo:hi], n, v.seq)
		if err != nil {
			return 0, err
		}
		total += l * float64(n)
	}
	return BitsPerByte(total / float64(v.batch)), nil
}

// Checkpoint files.
const (
	ckptWeights = "weights.safetensors"
	ckptMom     = "adam-m.safetensors"
	ckptVel     = "adam-v.safetensors"
	ckptState   = "state.json"
)

// checkpoint writes the model, Adam state, step and RNG to dir, replacing
// the previous checkpoint only once the new one is complete.
func checkpoint(m *torch.Model, dir string, st *state, rng *rand.PCG) error {
	w, err := m.Weights()
	if err != nil {
		return err
	}
	adamSteps, mom, vel, err := m.AdamState()
	if err != nil {
		return err
	}
	st.AdamSteps = adamSteps
	if st.RNG, err = rng.MarshalBinary(); err != nil {
		return err
	}
	js, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := dir + ".new"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	for _, f := range []struct {
		name string
		w    *model.Weights
	}{{ckptWeights, w}, {ckptMom, mom}, {ckptVel, vel}} {
		if err := model.Save(filepath.Join(tmp, f.name), f.w, &model.Meta{Preset: st.Preset}, model.F32); err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, ckptState), js, 0o644); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	old := dir + ".old"
	os.RemoveAll(old)
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	os.RemoveAll(old)
	return nil
}

func readState(dir string) (*state, error) {
	js, err := os.ReadFile(filepath.Join(dir, ckptState))
	if err != nil {
		return nil, fmt.Errorf("train: resume: %w", err)
	}
	st := &state{}
	if err := json.Unmarshal(js, st); err != nil {
		return nil, fmt.Errorf("train: resume: %s: %w", ckptState, err)
	}
	if err := st.Config.Validate(); err != nil {
		return nil, fmt.Errorf("train: resume: %w", err)
	}
	return st, nil
}

// resume loads the weights, Adam state and RNG of a checkpoint into m.
func resume(m *torch.Model, dir string, st *state, rng *rand.PCG) error {
	load := func(name string) (*model.Weights, error) {
		w, _, err := model.Load(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		if w.Config != st.Config {
			return nil, fmt.Errorf("train: resume: %s is %v, checkpoint says %v", name, w.Config, st.Config)
		}
		return w, nil
	}
	w, err := load(ckptWeights)
	if err != nil {
		return err
	}
	mom, err := load(ckptMom)
	if err != nil {
		return err
	}
	vel, err := load(ckptVel)
	if err != nil {
		return err
	}
	if err := m.SetWeights(w); err != nil {
		return err
	}
	if err := m.SetAdamState(st.AdamSteps, mom, vel); err != nil {
		return err
	}
	if err := rng.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("train: resume: rng: %w", err)
	}
	return nil
}
