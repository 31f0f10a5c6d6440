package codec

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchInputs are Canterbury files, if the benchmark folder is there, and a
// synthetic mixture otherwise.
func benchInputs(b *testing.B) map[string][]byte {
	in := map[string][]byte{}
	for _, name := range []string{"alice29.txt", "kennedy.xls", "ptt5"} {
		if src, err := os.ReadFile(filepath.Join(canterburyDir, name)); err == nil {
			in[name] = src
		}
	}
	if len(in) == 0 {
		in["mixed"] = mixedSample(1 << 20)
	}
	return in
}

func BenchmarkCMCompress(b *testing.B) {
	for name, src := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			var n int
			for b.Loop() {
				n = len(cmCompress(b, src))
			}
			b.ReportMetric(float64(n*8)/float64(len(src)), "bpb")
		})
	}
}

func BenchmarkCMDecompress(b *testing.B) {
	for name, src := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			payload := cmCompress(b, src)
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				r, err := NewDecompressor(MethodCM, payload, int64(len(src)))
				if err != nil {
					b.Fatal(err)
				}
				got, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(got, src) {
					b.Fatalf("round trip failed: %v", err)
				}
			}
		})
	}
}

// BenchmarkXzCompress is the baseline for BenchmarkCMCompress.
func BenchmarkXzCompress(b *testing.B) {
	for name, src := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				var buf bytes.Buffer
				w, _ := NewCompressor(MethodXz, &buf, int64(len(src)))
				w.Write(src)
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
