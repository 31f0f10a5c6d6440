// Package engine defines what the compression pipeline needs from a model
// engine: integer-exact next-byte prediction of the integer model
// (model.Quantized) for the coders, and the code length it gives. The
// pure-Go engine (core/engine/goengine), the native C engine
// (core/engine/native) and the libtorch engine (core/engine/torch) register
// themselves here.
package engine

import (
	"fmt"
	"sort"
	"sync"

	"zpng/core/model"
)

// ProbBits is the log2 of the total of every frequency table (see docs/ENGINE.md).
const ProbBits = 16

// Predictor steps B independent streams in lockstep with integer-exact arithmetic.
type Predictor interface {
	// Batch is the number of streams B.
	Batch() int
	// Step consumes in[b] for every stream b (len(in) == Batch()) and writes the
	// frequency table of each stream's next byte into freqs[b*256:(b+1)*256].
	// Every row sums to 1<<ProbBits and every entry is at least 1.
	Step(in []byte, freqs []uint16) error
	// Reset returns every stream to the start state (zero state, as before byte 0).
	Reset()
	Close() error
}

// Factory opens predictors for an integer model on one engine.
type Factory interface {
	Name() string
	// Available reports whether the engine can run here, and on which device.
	Available() (device string, ok bool)
	NewPredictor(m *model.Quantized, batch int, opt Options) (Predictor, error)
}

// A Loader is a Factory whose engine loads a library on first use (the
// torch engine's libtorch). Load returns nil once the library is loaded,
// else why it cannot be; NewPredictor loads it too.
type Loader interface {
	Load() error
}

// Options select where and how an engine runs.
type Options struct {
	Device  string // "auto", "cpu" or "cuda"
	Threads int    // 0: the engine's default
}

var (
	mu        sync.Mutex
	factories = map[string]Factory{}
)

// Register makes an engine available by name; engines call it from init.
func Register(f Factory) {
	mu.Lock()
	defer mu.Unlock()
	factories[f.Name()] = f
}

// Lookup returns the named engine.
func Lookup(name string) (Factory, error) {
	mu.Lock()
	defer mu.Unlock()
	f, ok := factories[name]
	if !ok {
		return nil, fmt.Errorf("engine %q is not built into this zpng (have: %v)", name, namesLocked())
	}
	return f, nil
}

// Names lists the registered engines.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	return namesLocked()
}

func namesLocked() []string {
	var n []string
	for k := range factories {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
