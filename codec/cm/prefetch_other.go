//go:build !amd64 || purego

package cm

import "unsafe"

// prefetch2 and prefetch3 do nothing here: the model's reads simply wait
// for memory.
func prefetch2(p unsafe.Pointer) {}
func prefetch3(p unsafe.Pointer) {}
