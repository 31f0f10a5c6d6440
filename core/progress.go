package core

import (
	"context"
	"io"
	"time"

	"zpng/codec"
	"zpng/core/catalog"
)

// job carries one operation's options and progress.
type job struct {
	opt      Options
	progress *progress
	models   []*catalog.Model // models named by path for this job
	bar      int64            // auto: the best classical size so far (0: no comparison)
}

func newJob(opt Options) *job {
	return &job{opt: opt, progress: &progress{fn: opt.Progress}}
}

// progress turns phase updates into Progress reports, at most ten a second.
// The phases of a job are weighted by plan so that Fraction runs once from
// 0 to 1 over the whole job.
type progress struct {
	fn         func(Progress)
	phase      string
	total      int64
	phaseStart time.Time
	last       time.Time
	base, span float64 // the current phase's share of the job
	next       float64 // where the next phase starts
	weights    []float64
}

// plan sets the relative weights of the phases to come.
func (p *progress) plan(weights ...float64) {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	p.weights = p.weights[:0]
	for _, w := range weights {
		p.weights = append(p.weights, w/sum)
	}
	p.next = 0
}

// begin starts a phase of total units.
func (p *progress) begin(phase string, total int64) {
	p.phase, p.total, p.phaseStart = phase, total, time.Now()
	p.base, p.span = p.next, 0
	if len(p.weights) > 0 {
		p.span = p.weights[0]
		p.weights = p.weights[1:]
	}
	p.next = min(p.base+p.span, 1)
	p.last = time.Time{}
	p.update(0, 0, true)
}

// update reports done units of the current phase.
func (p *progress) update(done int64, loss float64, force bool) {
	if p.fn == nil {
		return
	}
	now := time.Now()
	if !force && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	r := Progress{Phase: p.phase, Done: done, Total: p.total, Loss: loss, Fraction: p.base}
	if p.total > 0 {
		f := float64(done) / float64(p.total)
		r.Fraction = min(p.base+p.span*f, 1)
		if el := now.Sub(p.phaseStart).Seconds(); el > 0.2 && done > 0 {
			r.BytesPerSec = float64(done) / el
			r.ETA = time.Duration(float64(p.total-done) / r.BytesPerSec * float64(time.Second))
		}
	}
	p.fn(r)
}

// finish reports the job complete.
func (p *progress) finish() {
	if p.fn != nil {
		p.fn(Progress{Phase: "done", Done: p.total, Total: p.total, Fraction: 1})
	}
}

// copyWithProgress copies r to w, reporting bytes as the current phase and
// stopping when ctx is cancelled.
func copyWithProgress(ctx context.Context, j *job, w io.Writer, r io.Reader) error {
	buf := make([]byte, 256<<10)
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			done += int64(n)
			j.progress.update(done, 0, false)
		}
		if err == io.EOF {
			j.progress.update(done, 0, true)
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// reporter hands the current phase's share of the job to a method that
// divides it among phases of its own.
func (p *progress) reporter() *slotReporter {
	return &slotReporter{p: p, base: p.base, span: p.span}
}

// slotReporter is a neural.Reporter over one share of a job's progress.
type slotReporter struct {
	p          *progress
	base, span float64
}

// Phase starts a phase of total units that runs over the part [from, to]
// of the share.
func (r *slotReporter) Phase(name string, total int64, from, to float64) {
	p := r.p
	p.phase, p.total, p.phaseStart = name, total, time.Now()
	p.base, p.span = r.base+r.span*from, r.span*(to-from)
	p.last = time.Time{}
	p.update(0, 0, true)
}

// Update reports done units of the current phase.
func (r *slotReporter) Update(done int64, loss float64) { r.p.update(done, loss, false) }

// phaseCost is the rough time per megabyte of coding with a method on a
// 2-core CPU, in seconds, to coding and to decoding. It only shares out the
// progress bar among a job's phases, so that its fraction and ETA follow
// time; no choice depends on it.
func phaseCost(id codec.Method, opt *Options, n int64) (encode, decode float64) {
	switch id {
	case codec.MethodStored:
		return 0.01, 0.01
	case codec.MethodZstd:
		return 0.5, 0.02
	case codec.MethodXz:
		return 1.5, 0.05
	case codec.MethodCM, codec.MethodCM3, codec.MethodCM2, codec.MethodCM1:
		return 3.3, 3.3
	case codec.MethodRegions:
		return 2, 2 // cm on two cores, the hybrid on some text
	}
	c := 8.0 // the small model
	if opt.modelFor(n) != "small" {
		c = 30
	}
	if opt.finetuneSteps() > 0 {
		encode += float64(opt.finetuneSteps()) * 0.4 / max(float64(n)/1e6, 0.01)
	}
	return encode + c, c
}

// compressPlan weights a compression's phases: read, each candidate, write,
// read back, and the check, which decodes the most expensive candidate.
func compressPlan(ms []method, opt *Options, n int64) []float64 {
	w := []float64{0.01}
	var check float64
	for _, m := range ms {
		e, d := phaseCost(m.id(), opt, n)
		if c, ok := m.(classical); ok && c.isCM() && followsCoding(int(n)) {
			d = 0.01 // checked while it codes; the check reads the file back
		}
		w = append(w, e)
		check = max(check, d)
	}
	return append(w, 0.01, 0.01, check)
}
