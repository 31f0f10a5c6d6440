package bench

import (
	"encoding/csv"
	"io"
	"strconv"
)

// WriteCSV writes one line per file and method, then one TOTAL line per
// method (its figures empty unless every file round-tripped). Sizes are in
// bytes, times in seconds, speeds in bytes per second, peak RSS in KiB;
// the *_vs_ columns divide a speed by the baseline's (empty: no baseline).
// A peak RSS is empty where it was not above rss_floor_kib (Report.RSSFloor),
// the figure every child starts from.
func (r *Report) WriteCSV(w io.Writer) error {
	c := csv.NewWriter(w)
	x := short(r.Baseline)
	c.Write([]string{"file", "method", "original_bytes", "compressed_bytes", "bpb",
		"compress_s", "compress_bytes_per_s", "compress_vs_" + x,
		"restore_s", "restore_bytes_per_s", "restore_vs_" + x,
		"compress_peak_rss_kib", "restore_peak_rss_kib", "rss_floor_kib", "round_trip", "note", "error"})
	for i := range r.Files {
		for j := range r.Methods {
			row := r.Rows[i][j]
			cr, rr := r.speedRatios(i, j)
			rec := []string{row.File, row.Method, itoa(row.Original), "", "", "", "", "", "", "", "",
				rssCell(row.CompressRSS), rssCell(row.RestoreRSS), itoa(r.RSSFloor), status(row.OK), row.Note, oneLine(row.Err)}
			if row.Compressed {
				rec[3], rec[4] = itoa(row.Packed), num(row.BPB())
				rec[5], rec[6], rec[7] = num(row.Compress.Seconds()), num(speed(row.Original, row.Compress)), num(cr)
			}
			if row.OK {
				rec[8], rec[9], rec[10] = num(row.Decompress.Seconds()), num(speed(row.Original, row.Decompress)), num(rr)
			}
			c.Write(rec)
		}
	}
	ts := r.Totals()
	for j, t := range ts {
		rec := []string{"TOTAL", t.Method, itoa(t.Original), "", "", "", "", "", "", "", "",
			rssCell(t.CompressRSS), rssCell(t.RestoreRSS), itoa(r.RSSFloor), status(t.Complete()), "", ""}
		if t.Complete() {
			cr, rr := r.totalRatios(ts, j)
			rec[3], rec[4] = itoa(t.Packed), num(t.BPB())
			rec[5], rec[6], rec[7] = num(t.Compress.Seconds()), num(speed(t.Original, t.Compress)), num(cr)
			rec[8], rec[9], rec[10] = num(t.Decompress.Seconds()), num(speed(t.Original, t.Decompress)), num(rr)
		} else {
			rec[16] = strconv.Itoa(t.Failed) + " of " + strconv.Itoa(len(r.Files)) + " files failed"
		}
		c.Write(rec)
	}
	c.Flush()
	return c.Error()
}

func status(ok bool) string {
	if ok {
		return "ok"
	}
	return "failed"
}

func rssCell(kib int64) string {
	if kib == 0 {
		return ""
	}
	return itoa(kib)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// num is a float with enough digits; 0 (not measured) is empty.
func num(v float64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
