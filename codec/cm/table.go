package cm

import (
	"fmt"
	"math/bits"
	"os"
	"sync"
)

// A model's APMs have a number of contexts fixed by the method (up to 2^18
// of 33 points: 34 MiB each), and its hashed tables at least 2^10 slots,
// whatever the input's size. So that a model of a small input does not
// spend its time clearing memory it never uses, a table a model is done
// with goes back to a pool of tables of its kind and size with only the
// chunks that the model wrote cleared, and the next model in the process
// (fuzzing, tests, the groups of method hybrid) takes it from there. Every
// table starts as zeroed memory: fresh counters, slots and APM curves
// (apmStart).

// A table is an array of a model's state that records which chunks of
// 2^chunkBits entries have been written.
type table[T comparable] struct {
	t         []T
	dirty     []bool // chunk i of t has been written
	chunkBits uint
	pool      *sync.Pool
}

// Pools of released tables by kind and log2 of their number of contexts
// (APMs) or slots.
var apm16Pools, apm32Pools, slotPools [32]sync.Pool

// newTable returns a zeroed table of n entries from pool.
func newTable[T comparable](pool *sync.Pool, n int, chunkBits uint) *table[T] {
	if a, ok := pool.Get().(*table[T]); ok {
		return a
	}
	return &table[T]{t: makeTable[T](n), dirty: make([]bool, n>>chunkBits+1), chunkBits: chunkBits, pool: pool}
}

// touch records that entry i is written.
func (a *table[T]) touch(i int) { a.dirty[i>>a.chunkBits] = true }

// checkTables, from ZPNG_CHECK_TABLES=1 (make test sets it), makes release
// verify that nothing was written outside the chunks it was told of. A
// write without its touch would leave state behind for the next model of
// the process, and the compressor's own check could miss it, since its
// decoder may take the very table the encoder released.
var checkTables = os.Getenv("ZPNG_CHECK_TABLES") == "1"

// release clears what has been written and returns the table to its pool;
// the caller must not use it again.
func (a *table[T]) release() {
	if checkTables {
		a.mustBeClean()
	}
	for i, d := range a.dirty {
		if d {
			clear(a.t[i<<a.chunkBits : min((i+1)<<a.chunkBits, len(a.t))])
			a.dirty[i] = false
		}
	}
	a.pool.Put(a)
}

// apmStart[j] is point j of every context's starting curve, the identity:
// squash((j − 16)·128)·16. An APM's table holds each point's value XOR its
// start, so that zeroed memory holds the starting curves.
var apmStart = func() (t [33]uint32) {
	for j := range t {
		t[j] = uint32(squash(int32(j-16)*128) * 16)
	}
	return t
}()

// newAPMTable returns the table of an APM of a power of 2 of contexts, 33
// points each, written in chunks of 2^10 points.
func newAPMTable[T uint16 | uint32](contexts int) *table[T] {
	pools := &apm16Pools
	var zero T
	if _, ok := any(zero).(uint32); ok {
		pools = &apm32Pools
	}
	return newTable[T](&pools[bits.Len(uint(contexts))-1], contexts*33, 10)
}

// newOrder1Table returns the order-1 counters (T1), 2^16, written in rows
// of 2^8 (one per previous byte).
func newOrder1Table() *table[uint32] { return newTable[uint32](&order1Pool, 1<<16, 8) }

var order1Pool sync.Pool

// newMixerWeights returns sets sets of n first-layer mixer weights, each
// 1/4 (×2^-16), as revisions 2 and 3 start them.
func newMixerWeights(n, sets int) []int32 {
	set := make([]int32, n)
	for i := range set {
		set[i] = 1 << 14
	}
	return repeatWeights(set, sets)
}

// newSlotTable returns a hashed table of 2^slotBits slots, written in
// chunks of 2^6 slots (4 KiB).
func newSlotTable(slotBits uint) *table[slot] {
	return newTable[slot](&slotPools[slotBits], 1<<slotBits, 6)
}

// mustBeClean panics if an entry outside the written chunks is not zero.
func (a *table[T]) mustBeClean() {
	var zero T
	for i, d := range a.dirty {
		if d {
			continue
		}
		for j := i << a.chunkBits; j < min((i+1)<<a.chunkBits, len(a.t)); j++ {
			if a.t[j] != zero {
				panic(fmt.Sprintf("cm: entry %d of a table of %d written without its touch", j, len(a.t)))
			}
		}
	}
}
