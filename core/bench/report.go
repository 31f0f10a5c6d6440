package bench

import (
	"fmt"
	"time"
)

// Total sums one method over all files.
type Total struct {
	Method                  string
	Original, Packed        int64
	Compress, Decompress    time.Duration
	CompressRSS, RestoreRSS int64 // the largest peak over the files, KiB
	Failed                  int   // files that did not round-trip
}

// Complete reports whether every file round-tripped, so that the sums mean
// what they say.
func (t *Total) Complete() bool { return t.Failed == 0 }

// BPB is the overall bits per byte: total compressed over total original.
func (t *Total) BPB() float64 { return bpb(t.Packed, t.Original) }

// Totals returns one Total per method, in report order.
func (r *Report) Totals() []*Total {
	ts := make([]*Total, len(r.Methods))
	for j, name := range r.Methods {
		t := &Total{Method: name}
		for i := range r.Files {
			row := r.Rows[i][j]
			t.Original += row.Original
			t.Packed += row.Packed
			t.Compress += row.Compress
			t.Decompress += row.Decompress
			t.CompressRSS = max(t.CompressRSS, row.CompressRSS)
			t.RestoreRSS = max(t.RestoreRSS, row.RestoreRSS)
			if !row.OK {
				t.Failed++
			}
		}
		ts[j] = t
	}
	return ts
}

// baselineIndex is the column of the baseline method, or -1.
func (r *Report) baselineIndex() int {
	for j, name := range r.Methods {
		if name == r.Baseline {
			return j
		}
	}
	return -1
}

// speedRatios returns how many times faster row i, j compressed and
// restored than the baseline on the same file (0: not comparable).
func (r *Report) speedRatios(i, j int) (compress, restore float64) {
	b := r.baselineIndex()
	if b < 0 {
		return 0, 0
	}
	row, base := r.Rows[i][j], r.Rows[i][b]
	if row.Compressed && base.Compressed {
		compress = ratio(base.Compress, row.Compress)
	}
	if row.OK && base.OK {
		restore = ratio(base.Decompress, row.Decompress)
	}
	return compress, restore
}

// totalRatios is speedRatios over all files; only complete totals compare.
func (r *Report) totalRatios(ts []*Total, j int) (compress, restore float64) {
	b := r.baselineIndex()
	if b < 0 || !ts[j].Complete() || !ts[b].Complete() {
		return 0, 0
	}
	return ratio(ts[b].Compress, ts[j].Compress), ratio(ts[b].Decompress, ts[j].Decompress)
}

// ratio is the speed of a run that took d relative to one that took base:
// the same bytes, so base/d.
func ratio(base, d time.Duration) float64 {
	if d <= 0 || base <= 0 {
		return 0
	}
	return base.Seconds() / d.Seconds()
}

// speed is bytes per second.
func speed(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func seconds(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s >= 100:
		return fmt.Sprintf("%.0f s", s)
	case s >= 10:
		return fmt.Sprintf("%.1f s", s)
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.3f s", s)
}

// rate formats bytes per second: 1.23 MB/s.
func rate(bps float64) string {
	units := []string{"B/s", "kB/s", "MB/s", "GB/s"}
	i := 0
	for bps >= 1000 && i < len(units)-1 {
		bps /= 1000
		i++
	}
	switch {
	case bps >= 99.95:
		return fmt.Sprintf("%.0f %s", bps, units[i])
	case bps >= 9.995:
		return fmt.Sprintf("%.1f %s", bps, units[i])
	}
	return fmt.Sprintf("%.2f %s", bps, units[i])
}

func mib(kib int64) string {
	if kib <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f MiB", float64(kib)/1024)
}
