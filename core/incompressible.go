package core

import (
	"github.com/klauspost/compress/zstd"
)

// incompressibleFrom is the size from which a file that a fast zstd pass
// cannot shrink is stored at once: random bytes, or data that is already
// compressed (JPEG, video, archives).
const incompressibleFrom = 4 << 10

// incompressible reports whether zstd's fastest level saves less than
// 1/1024 of src. It runs at hundreds of MB/s, so a file of random bytes
// is stored in about the time it takes to read and check it rather than
// after every method has tried and failed. Data that a fast pass cannot
// shrink at all holds no repeats or skew that the slower methods find.
func incompressible(src []byte) bool {
	if len(src) < incompressibleFrom {
		return false
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), zstd.WithWindowSize(1<<20))
	if err != nil {
		return false
	}
	defer enc.Close()
	var saved int
	for off := 0; off < len(src); off += 1 << 20 {
		part := src[off:min(off+1<<20, len(src))]
		saved += len(part) - len(enc.EncodeAll(part, nil))
	}
	return saved < len(src)/1024
}
