//go:build !linux

package cm

// makeTable returns a zeroed slice of n entries.
func makeTable[T any](n int) []T { return make([]T, n) }
