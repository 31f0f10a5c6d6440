package cm

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"zpng/codec"
	"zpng/codec/entropy"
)

// TestAblation measures what each part of method cm buys: with
// CM_ABLATION=DIR it codes every file of DIR with cm2, cm3 and cm as it
// is, then as it would be with each variant of CM_VARIANTS (a
// comma-separated list: pN profile N, x86 / nox86 the filter on or off,
// offN input N of revision 3 switched off) and prints the bytes. A
// measurement, not a check: it is skipped without CM_ABLATION.
func TestAblation(t *testing.T) {
	dir := os.Getenv("CM_ABLATION")
	if dir == "" {
		t.Skip("CM_ABLATION is not set")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	sort.Strings(files)
	variants := append([]string{"cm2", "cm3", "cm"}, strings.Split(os.Getenv("CM_VARIANTS"), ",")...)
	if variants[len(variants)-1] == "" {
		variants = variants[:len(variants)-1]
	}
	sizes := make([][]int, len(files))
	var wg sync.WaitGroup
	sem := make(chan bool, 2)
	for i, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sizes[i] = make([]int, len(variants))
		for j, v := range variants {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- true
				defer func() { <-sem }()
				sizes[i][j] = variantSize(t, v, src)
			}()
		}
	}
	wg.Wait()
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s", "file")
	for _, v := range variants {
		fmt.Fprintf(&b, " %9s", v)
	}
	b.WriteString("\n")
	total := make([]int, len(variants))
	for i, f := range files {
		fmt.Fprintf(&b, "%-16s", filepath.Base(f))
		for j := range variants {
			fmt.Fprintf(&b, " %9d", sizes[i][j])
			total[j] += sizes[i][j]
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%-16s", "total")
	for j := range variants {
		fmt.Fprintf(&b, " %9d", total[j])
	}
	t.Log("\n" + b.String())
}

// variantSize codes src with a variant of TestAblation and returns the bytes.
func variantSize(t *testing.T, v string, src []byte) int {
	if v == "cm2" {
		return len(cmCompressMethod(t, codec.MethodCM2, 0, src))
	}
	flags := Flags(src)
	if v == "cm3" {
		return len(cmCompressMethod(t, codec.MethodCM3, flags, src))
	}
	var off uint32
	switch {
	case v == "cm":
	case v == "x86":
		flags |= flagX86
	case v == "nox86":
		flags &^= flagX86
	case strings.HasPrefix(v, "p"):
		p, _ := strconv.Atoi(v[1:])
		flags = flags&^flagProfile | uint16(p)
	case strings.HasPrefix(v, "off"):
		n, _ := strconv.Atoi(v[3:])
		off = 1 << n
	default:
		t.Fatalf("unknown variant %q", v)
	}
	if off == 0 {
		return len(cmCompressMethod(t, codec.MethodCM, flags, src))
	}
	m := newModel3(int64(len(src)), profile(flags&flagProfile))
	m.off = off
	m.predict()
	return len(encodeWith(m, flags, src))
}

func cmCompressMethod(t testing.TB, m codec.Method, flags uint16, src []byte) []byte {
	var buf bytes.Buffer
	w, err := NewFlagCompressor(m, &buf, int64(len(src)), flags)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(src)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// encodeWith codes src with the model m, as method cm with flags would.
func encodeWith(m predictor, flags uint16, src []byte) []byte {
	var buf bytes.Buffer
	c := &writer{w: &buf, size: int64(len(src)), enc: entropy.NewBinEncoder(), m: m}
	if flags&flagX86 != 0 {
		c.filter = &x86Filter{n: int64(len(src))}
	}
	c.Write(src)
	c.Close()
	return buf.Bytes()
}
