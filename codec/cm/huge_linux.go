package cm

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks the kernel to back the whole 2 MiB pages of a table
// with huge pages (where transparent huge pages are on for madvise): the
// model reads its large tables at random, and with 4 KiB pages nearly
// every such read also misses the TLB. It changes no byte of the output.
func adviseHuge[T any](t []T) {
	const huge = 1 << 21
	if len(t) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(&t[0]))
	end := start + uintptr(len(t))*unsafe.Sizeof(t[0])
	lo, hi := (start+huge-1)&^(huge-1), end&^(huge-1)
	if hi <= lo {
		return
	}
	// An error (an old kernel, no THP) leaves the table on small pages.
	p := unsafe.Add(unsafe.Pointer(&t[0]), lo-start)
	syscall.Madvise(unsafe.Slice((*byte)(p), hi-lo), madvHugePage)
}

const madvHugePage = 14 // MADV_HUGEPAGE, linux/mman.h
