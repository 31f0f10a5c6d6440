package core

import (
	"fmt"
	"slices"
	"strings"

	"zpng/codec"
	"zpng/core/neural"
)

// Levels trade time for size, from 1 (fastest) to 9 (smallest). A level
// decides which methods compete, which model the hybrid method runs and
// whether it fine-tunes; the decision depends only on the input and the
// level, never on the machine, so the same input and level give the same
// image everywhere.
const (
	MinLevel     = 1
	MaxLevel     = 9
	DefaultLevel = 6
)

// FinetuneByLevel in Options.FinetuneSteps leaves the fine-tune to the level.
const FinetuneByLevel = -1

// levelPlan is what a level does.
type levelPlan struct {
	classical []codec.Method // the classical candidates
	hybrid    bool           // the hybrid method competes where its sample estimate is close
	// largeUpTo: files up to this many bytes run the large model, larger
	// ones the small model (about 3.5 times faster); -1: always large.
	largeUpTo int64
	finetune  int  // fine-tune steps
	exactTune bool // code the file with and without the fine-tune and keep the smaller
	oneGroup  bool // the hybrid in one group of streams: smallest, on one core
	// shortSegments: files of 16-64 KiB in up to 4 streams of at least
	// 8 KiB (neural.Settings.ShortSegments): faster, about 1% larger.
	shortSegments bool
	// hybridMargin, when not 0, replaces the policy's HybridMargin: the
	// fraction of the classical size the hybrid must be estimated at to run.
	hybridMargin float64
	// regions: on a file of mixed content (mixed), method regions replaces
	// cm and the hybrid, which code the file as one piece on one core;
	// with wholeToo it competes with them instead. Level 6 runs it in their
	// place (its copies find the repeats that lie far apart, which whole-file
	// cm found), levels 7-9 beside them; levels up to 5 do not run it.
	regions, wholeToo bool
}

var (
	fastClassical = []codec.Method{codec.MethodStored, codec.MethodZstd}
	allClassical  = []codec.Method{codec.MethodStored, codec.MethodZstd, codec.MethodXz, codec.MethodCM}
)

var levels = [MaxLevel + 1]levelPlan{
	1: {classical: fastClassical},
	2: {classical: []codec.Method{codec.MethodStored, codec.MethodZstd, codec.MethodXz}},
	3: {classical: allClassical},
	4: {classical: allClassical, hybrid: true, largeUpTo: 0, shortSegments: true},
	5: {classical: allClassical, hybrid: true, largeUpTo: 256 << 10, shortSegments: true},
	6: {classical: allClassical, hybrid: true, largeUpTo: 1 << 20, shortSegments: true, regions: true},
	7: {classical: allClassical, hybrid: true, largeUpTo: 16 << 20, regions: true, wholeToo: true},
	8: {classical: allClassical, hybrid: true, largeUpTo: -1, finetune: 50, oneGroup: true, hybridMargin: 1, regions: true, wholeToo: true},
	9: {classical: allClassical, hybrid: true, largeUpTo: -1, finetune: 50, exactTune: true, oneGroup: true, hybridMargin: 1, regions: true, wholeToo: true},
}

// CheckLevel returns an error unless level is 0 (the default) or in
// MinLevel..MaxLevel.
func CheckLevel(level int) error {
	if level != 0 && (level < MinLevel || level > MaxLevel) {
		return fmt.Errorf("level %d: want %d (fastest) to %d (smallest); the default is %d", level, MinLevel, MaxLevel, DefaultLevel)
	}
	return nil
}

// plan is the level's plan for the options (0 means DefaultLevel).
func (o *Options) plan() levelPlan {
	if o.Level == 0 {
		return levels[DefaultLevel]
	}
	return levels[o.Level]
}

// modelFor is the model the options run on n bytes: Options.Model, or the
// level's preset when that is auto.
func (o *Options) modelFor(n int64) string {
	if o.Model != "" && o.Model != "auto" {
		return o.Model
	}
	if p := o.plan(); p.largeUpTo < 0 || n <= p.largeUpTo {
		return "large"
	}
	return "small"
}

// finetuneSteps is Options.FinetuneSteps, or the level's.
func (o *Options) finetuneSteps() int {
	if o.FinetuneSteps == FinetuneByLevel {
		return o.plan().finetune
	}
	return o.FinetuneSteps
}

// Limits of the options that Check enforces.
const (
	MaxFinetuneSteps = 1000
	MaxThreads       = 256
)

// Check returns an error that lists what is allowed when an option has a
// value no job can honour; callers check before any work.
func (o *Options) Check() error {
	if err := CheckLevel(o.Level); err != nil {
		return err
	}
	if o.FinetuneSteps != FinetuneByLevel && (o.FinetuneSteps < 0 || o.FinetuneSteps > MaxFinetuneSteps) {
		return fmt.Errorf("fine-tune steps %d: want 0 (none) to %d", o.FinetuneSteps, MaxFinetuneSteps)
	}
	if o.Threads < 0 || o.Threads > MaxThreads {
		return fmt.Errorf("threads %d: want 1 to %d, or 0 for all cores", o.Threads, MaxThreads)
	}
	switch o.Device {
	case "", "auto", "cpu", "cuda":
	default:
		return fmt.Errorf("device %q: want auto, cpu or cuda", o.Device)
	}
	if o.Engine != "" && !slices.Contains(neural.Engines(), o.Engine) {
		return fmt.Errorf("engine %q: this zpng has %s", o.Engine, strings.Join(neural.Engines(), ", "))
	}
	// A named engine or CUDA must be able to run, and an asked-for
	// fine-tune too; only these load libtorch before the work needs it.
	if o.Engine != "" || o.Device == "cuda" {
		if err := neural.EngineReady(o.Engine, o.Device); err != nil {
			return fmt.Errorf("%s: %v", engineDevice(o), err)
		}
	}
	if o.FinetuneSteps > 0 {
		if err := neural.TrainerReady(); err != nil {
			return fmt.Errorf("fine-tune steps %d: %v", o.FinetuneSteps, err)
		}
	}
	return nil
}

// engineDevice names the engine and device options that were given, for messages.
func engineDevice(o *Options) string {
	var s []string
	if o.Engine != "" {
		s = append(s, "engine "+o.Engine)
	}
	if o.Device != "" && o.Device != "auto" {
		s = append(s, "device "+o.Device)
	}
	return strings.Join(s, ", ")
}
