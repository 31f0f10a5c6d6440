//go:build !linux

package cm

// adviseHuge does nothing where the kernel has no madvise for huge pages.
func adviseHuge[T any](t []T) {}
