//go:build !purego

package cm

import "unsafe"

// prefetch starts loading the cache line at p, without waiting for it: a
// later read of what the model is about to need then finds it in the
// cache, its miss overlapped with other work.
//
//go:noescape
func prefetch(p unsafe.Pointer)
