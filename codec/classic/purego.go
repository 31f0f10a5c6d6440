//go:build !cgo

package classic

// Native says whether zstd and xz run through the C libraries libzstd and
// liblzma; without cgo they run through the Go ports.
const Native = false

var (
	newZstdWriter = goZstdWriter
	newXzWriter   = goXzWriter
	newZstdReader = goZstdReader
	newXzReader   = goXzReader
)
