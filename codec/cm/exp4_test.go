package cm

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestExp4 (measurement only): ZPNG_EXP4="file1 file2" [ZPNG_EXP4_LIMIT=bytes]
func TestExp4(t *testing.T) {
	files := os.Getenv("ZPNG_EXP4")
	if files == "" {
		t.Skip("measurement only")
	}
	limit := 0
	fmt.Sscan(os.Getenv("ZPNG_EXP4_LIMIT"), &limit)
	only3 := os.Getenv("ZPNG_EXP4_NO3") == ""
	t3, t4 := 0, 0
	for _, f := range strings.Fields(files) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if limit > 0 && len(src) > limit {
			src = src[:limit]
		}
		flags := Flags(src)
		n3 := 0
		var d3 time.Duration
		if only3 {
			s := time.Now()
			n3 = len(encodeWith(newModel3(int64(len(src)), profile(flags&flagProfile)), flags, src))
			d3 = time.Since(s)
		}
		s := time.Now()
		n4 := len(encodeWith(newModel4(int64(len(src)), profile(flags&flagProfile)), flags, src))
		d4 := time.Since(s)
		t3 += n3
		t4 += n4
		fmt.Printf("%-14s %9d cm3 %9d %6.2fs cm4 %9d %6.2fs %+.2f%%\n", f[strings.LastIndex(f, "/")+1:], len(src), n3, d3.Seconds(), n4, d4.Seconds(), 100*(float64(n4)/float64(n3)-1))
	}
	fmt.Printf("total cm3 %d cm4 %d %+.2f%%\n", t3, t4, 100*(float64(t4)/float64(t3)-1))
}
