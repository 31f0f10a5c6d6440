package cm

import (
	"syscall"
	"unsafe"
)

const (
	hugePage     = 1 << 21 // bytes in a huge page of x86-64 and arm64
	madvHugePage = 14      // MADV_HUGEPAGE, linux/mman.h
)

// makeTable returns a zeroed slice of n entries. One of a huge page or
// more starts on a huge page's boundary, its pages advised huge (where
// transparent huge pages are on for madvise): the model reads its large
// tables at random, and with 4 KiB pages nearly every such read also
// misses the TLB. The slice's memory is a huge page more than it needs,
// whose untouched pages cost address space only.
func makeTable[T any](n int) []T {
	var zero T
	size := unsafe.Sizeof(zero)
	bytes := uintptr(n) * size
	if bytes < hugePage || hugePage%size != 0 {
		return make([]T, n)
	}
	span := (bytes + hugePage - 1) &^ (hugePage - 1) // whole huge pages
	buf := make([]T, (span+hugePage)/size)
	base := uintptr(unsafe.Pointer(&buf[0]))
	off := ((base+hugePage-1)&^(hugePage-1) - base) / size
	// An error (an old kernel, no THP) leaves the table on small pages.
	syscall.Madvise(unsafe.Slice((*byte)(unsafe.Pointer(&buf[off])), span), madvHugePage)
	return buf[off : off+uintptr(n) : off+uintptr(n)]
}
