package cm

import (
	"flag"
	"os"
	"sync"
	"testing"
)

// TestMain checks every released table in this package's tests (not while
// fuzzing, where a check of the whole table per input would dominate).
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f == nil || f.Value.String() == "" {
		checkTables = true
	}
	os.Exit(m.Run())
}

// TestReleaseFindsUntouchedWrites: a write outside the touched chunks is
// found when the table is released, and a touched one is cleared.
func TestReleaseFindsUntouchedWrites(t *testing.T) {
	defer func(on bool) { checkTables = on }(checkTables)
	checkTables = true
	var pool sync.Pool
	a := newTable[uint32](&pool, 1<<12, 8)
	a.t[300] = 7
	a.touch(300)
	a.release()
	if a.t[300] != 0 {
		t.Fatalf("a touched entry is %d after release, want 0", a.t[300])
	}
	b := newTable[uint32](new(sync.Pool), 1<<12, 8)
	b.t[2000] = 1 // no touch
	defer func() {
		if recover() == nil {
			t.Error("a write without its touch was not found")
		}
	}()
	b.release()
}
