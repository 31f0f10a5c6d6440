//go:build !purego

package cm

import "unsafe"

// prefetch2 and prefetch3 start loading the cache lines of the 2 or 3
// times 64 bytes from p, without waiting for them: a later read of what
// the model is about to need then finds it in the cache, its miss
// overlapped with other work.
//
//go:noescape
func prefetch2(p unsafe.Pointer)

//go:noescape
func prefetch3(p unsafe.Pointer)
