//go:build cgo

package native

import (
	"testing"

	"zpng/core/engine/enginetest"
)

// BenchmarkInference compares every path of this CPU with the pure-Go
// engine in the same run (x-go). core/engine/torch's BenchmarkInference adds
// the torch engine.
func BenchmarkInference(b *testing.B) {
	engines := []enginetest.BenchEngine{{Label: "go", Name: "go"}}
	for _, path := range Paths() {
		engines = append(engines, enginetest.BenchEngine{Label: "native-" + path, Name: "native", Env: map[string]string{IsaEnv: path}})
	}
	enginetest.BenchInference(b, []int{1, 16, 64, 256}, engines, []string{"go"}, nil, nil)
}
