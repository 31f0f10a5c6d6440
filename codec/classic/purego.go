//go:build !cgo || windows

package classic

// Native says whether zstd and xz run through the C libraries libzstd and
// liblzma (a cgo build other than for Windows) or through the Go ports.
const Native = false

var (
	newZstdWriter = goZstdWriter
	newXzWriter   = goXzWriter
	newZstdReader = goZstdReader
	newXzReader   = goXzReader
)
