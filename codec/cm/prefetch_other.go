//go:build !amd64 || purego

package cm

import "unsafe"

// prefetch does nothing here: the model's reads simply wait for memory.
func prefetch(p unsafe.Pointer) {}
