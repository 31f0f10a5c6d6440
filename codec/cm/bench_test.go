package cm

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"zpng/codec"
	"zpng/codec/classic"
	"zpng/codec/entropy"
	"zpng/codec/internal/sample"
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
		in["mixed"] = sample.Mixed(1 << 20)
	}
	return in
}

// BenchmarkCMCompress runs method cm and, as its baselines, cm3, cm2 and
// cm1 (revisions 3, 2 and 1 of the model).
func BenchmarkCMCompress(b *testing.B) {
	for name, src := range benchInputs(b) {
		for _, m := range []codec.Method{codec.MethodCM, codec.MethodCM3, codec.MethodCM2, codec.MethodCM1} {
			b.Run(name+"/"+m.String(), func(b *testing.B) {
				b.SetBytes(int64(len(src)))
				var flags uint16
				if m == codec.MethodCM || m == codec.MethodCM3 {
					flags = Flags(src)
				}
				var n int
				cpu := cpuTime()
				for b.Loop() {
					var buf bytes.Buffer
					w, _ := NewFlagCompressor(m, &buf, int64(len(src)), flags)
					w.Write(src)
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
					n = buf.Len()
				}
				reportCPUSpeed(b, len(src), cpuTime()-cpu)
				b.ReportMetric(float64(n*8)/float64(len(src)), "bpb")
			})
		}
	}
}

// reportCPUSpeed reports the speed by the process's CPU time, cpu, over
// b.N runs on n bytes, which a machine shared with other work disturbs
// less than MB/s (wall time); nothing where CPU time is not at hand.
func reportCPUSpeed(b *testing.B, n int, cpu time.Duration) {
	if cpu > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/1e6/cpu.Seconds(), "cpu-MB/s")
	}
}

// BenchmarkMixEncode runs a group of method hybrid (revision 3 of the
// model), method hybrid2 and, as its baseline, hybrid1 on 2 streams of
// alice29.txt (or a synthetic mixture) under a bigram model learnt from
// the input.
func BenchmarkMixEncode(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(canterburyDir, "alice29.txt"))
	if err != nil {
		src = sample.Mixed(1 << 17)
	}
	model := learntModel(src)
	for _, m := range []codec.Method{codec.MethodHybrid, codec.MethodHybrid2, codec.MethodHybrid1} {
		b.Run(m.String(), func(b *testing.B) {
			var flags uint16
			if m == codec.MethodHybrid {
				flags = HybridFlags(src)
			}
			b.SetBytes(int64(len(src)))
			var n int
			cpu := cpuTime()
			for b.Loop() {
				payload, _ := mixEncodeFlags(b, m, flags, src, 2, model)
				n = len(payload)
			}
			reportCPUSpeed(b, len(src), cpuTime()-cpu)
			b.ReportMetric(float64(n*8)/float64(len(src)), "bpb")
		})
	}
}

// BenchmarkMixDecode decodes what BenchmarkMixEncode codes with method
// hybrid (a group's coder, as a restore runs it).
func BenchmarkMixDecode(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(canterburyDir, "alice29.txt"))
	if err != nil {
		src = sample.Mixed(1 << 17)
	}
	model := learntModel(src)
	flags := HybridFlags(src)
	payload, table := mixEncodeFlags(b, codec.MethodHybrid, flags, src, 2, model)
	b.SetBytes(int64(len(src)))
	cpu := cpuTime()
	for b.Loop() {
		got, err := mixDecodeFlags(codec.MethodHybrid, flags, table, payload, int64(len(src)), model)
		if err != nil || !bytes.Equal(got, src) {
			b.Fatalf("round trip failed: %v", err)
		}
	}
	reportCPUSpeed(b, len(src), cpuTime()-cpu)
}

// BenchmarkCMDecompress decodes methods cm and cm3 with the flags Flags
// chooses, as the container does.
func BenchmarkCMDecompress(b *testing.B) {
	for name, src := range benchInputs(b) {
		for _, m := range []codec.Method{codec.MethodCM, codec.MethodCM3} {
			b.Run(name+"/"+m.String(), func(b *testing.B) {
				flags := Flags(src)
				payload := cmCompressMethod(b, m, flags, src)
				b.SetBytes(int64(len(src)))
				cpu := cpuTime()
				for b.Loop() {
					r, err := NewFlagDecompressor(m, payload, int64(len(src)), flags)
					if err != nil {
						b.Fatal(err)
					}
					got, err := io.ReadAll(r)
					if err != nil || !bytes.Equal(got, src) {
						b.Fatalf("round trip failed: %v", err)
					}
				}
				reportCPUSpeed(b, len(src), cpuTime()-cpu)
			})
		}
	}
}

// BenchmarkXzCompress is the baseline for BenchmarkCMCompress.
func BenchmarkXzCompress(b *testing.B) {
	for name, src := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				var buf bytes.Buffer
				w, _ := classic.NewCompressor(codec.MethodXz, &buf, int64(len(src)))
				w.Write(src)
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeCorrupt runs the bodies of FuzzCMDecode and FuzzMixDecode
// on what the fuzzer mostly feeds them: a short payload of noise for a
// declared size of 1 byte (the fixed cost of a decoder) and of 4,000 bytes.
func BenchmarkDecodeCorrupt(b *testing.B) {
	noise := sample.Random(3, 64)
	for _, n := range []int64{1, 4000} {
		b.Run(fmt.Sprintf("cm/%d", n), func(b *testing.B) {
			for b.Loop() {
				cmDecompress(noise, n)
			}
		})
		b.Run(fmt.Sprintf("hybrid2/%d", n), func(b *testing.B) {
			table := entropy.AppendStreamTable(nil, []entropy.Stream{{Symbols: n, Bytes: int64(len(noise))}})
			for b.Loop() {
				mixDecode(codec.MethodHybrid2, table, noise, n, uniformModel())
			}
		})
	}
}

// BenchmarkChooseFlags times the trial of method cm's flags on a sample of
// each input, on one core and on every core Go has (the choice is the
// same).
func BenchmarkChooseFlags(b *testing.B) {
	for name, src := range benchInputs(b) {
		for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("%s/procs=%d", name, procs), func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				want := ChooseFlags(src)
				for b.Loop() {
					if got := ChooseFlags(src); got != want {
						b.Fatalf("flags %d, then %d", want, got)
					}
				}
			})
		}
	}
}
