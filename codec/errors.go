package codec

import "errors"

// Errors returned by the reader, always wrapped with specifics; test them
// with errors.Is.
var (
	// ErrNotZPNG: the input is not a PNG, or a PNG that ZPNG did not write.
	ErrNotZPNG = errors.New("not a ZPNG image")
	// ErrTruncated: the input ends early.
	ErrTruncated = errors.New("truncated ZPNG image")
	// ErrCorrupt: a checksum mismatch or an invalid field.
	ErrCorrupt = errors.New("corrupt ZPNG image")
	// ErrUnsupportedVersion: a ZPNG container newer than this reader.
	ErrUnsupportedVersion = errors.New("unsupported ZPNG format version")
	// ErrUnsupportedMethod: a compression method this build cannot decode.
	ErrUnsupportedMethod = errors.New("unsupported compression method")
)
