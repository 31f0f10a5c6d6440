package enginetest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// GoSource returns the first n bytes of a few files of the Go toolchain's
// own source: real text for the tests that train the float model. It skips
// the test where the sources are not installed.
func GoSource(t testing.TB, n int) []byte {
	t.Helper()
	var buf []byte
	for _, f := range []string{"fmt/print.go", "fmt/format.go", "fmt/scan.go", "strings/strings.go", "bufio/bufio.go", "bytes/bytes.go", "net/http/server.go"} {
		b, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", f))
		if err != nil {
			t.Skipf("Go sources not found: %v", err)
		}
		buf = append(buf, b...)
	}
	if len(buf) < n {
		t.Fatalf("only %d bytes of Go source", len(buf))
	}
	return buf[:n]
}
