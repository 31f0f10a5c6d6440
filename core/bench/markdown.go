package bench

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the report as Markdown: the machine, bits per byte
// per file and method, totals with speeds and memory, every measurement,
// and the failures.
func (r *Report) WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	ts := r.Totals()
	var original int64
	for _, f := range r.Files {
		original += f.Size
	}

	fmt.Fprintf(b, "# ZPNG benchmark\n\n")
	fmt.Fprintf(b, "- Date: %s\n", r.Date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(b, "- Machine: %s\n", r.Machine)
	if r.Command != "" {
		fmt.Fprintf(b, "- Command: `%s`\n", r.Command)
	}
	if len(r.Versions) > 0 {
		fmt.Fprintf(b, "- Tools: %s\n", strings.Join(r.Versions, "; "))
	}
	fmt.Fprintf(b, "- Input: %d files, %d bytes\n\n", len(r.Files), original)
	fmt.Fprintf(b, "bpb is bits per byte: 8 × compressed bytes / original bytes (lower is better; "+
		"ZPNG's figure is the whole PNG file). Times are the wall time of each child process, start-up included; "+
		"a ZPNG compression includes the decode-and-check it does before writing. Speeds are original bytes per second")
	if r.baselineIndex() >= 0 {
		fmt.Fprintf(b, "; ×%s is a speed divided by %s's on the same files in this run (above 1: faster)", short(r.Baseline), r.Baseline)
	}
	fmt.Fprintf(b, ". Peak RSS is the child's maximum resident set (getrusage), the largest over the files; "+
		"on Linux a child starts from the peak of the process that started it (this one's reached %s), "+
		"so a child's peak that was not above it reads \"≤ %s\".\n\n", mib(r.RSSFloor), mib(r.RSSFloor))
	for _, n := range r.Notes {
		fmt.Fprintf(b, "%s\n\n", n)
	}

	// Bits per byte, file by method; the best of each line in bold.
	fmt.Fprintf(b, "## Bits per byte\n\n| file | bytes |")
	for _, m := range r.Methods {
		fmt.Fprintf(b, " %s |", cell(m))
	}
	fmt.Fprintf(b, "\n|---|---:|%s\n", strings.Repeat("---:|", len(r.Methods)))
	for i, f := range r.Files {
		fmt.Fprintf(b, "| %s | %d |", cell(f.Name), f.Size)
		best := r.best(func(j int) (float64, bool) { return r.Rows[i][j].BPB(), r.Rows[i][j].OK })
		for j := range r.Methods {
			row := r.Rows[i][j]
			switch {
			case !row.OK:
				fmt.Fprintf(b, " failed |")
			case j == best:
				fmt.Fprintf(b, " **%.3f** |", row.BPB())
			default:
				fmt.Fprintf(b, " %.3f |", row.BPB())
			}
		}
		fmt.Fprintln(b)
	}
	best := r.best(func(j int) (float64, bool) { return ts[j].BPB(), ts[j].Complete() })
	fmt.Fprintf(b, "| **total bpb** | %d |", original)
	for j, t := range ts {
		switch {
		case !t.Complete():
			fmt.Fprintf(b, " n/a |")
		case j == best:
			fmt.Fprintf(b, " **%.3f** |", t.BPB())
		default:
			fmt.Fprintf(b, " %.3f |", t.BPB())
		}
	}
	fmt.Fprintf(b, "\n| **total bytes** | |")
	for _, t := range ts {
		if t.Complete() {
			fmt.Fprintf(b, " %d |", t.Packed)
		} else {
			fmt.Fprintf(b, " %d failed |", t.Failed)
		}
	}
	fmt.Fprintf(b, "\n\n")

	// Totals per method.
	x := "×" + short(r.Baseline)
	fmt.Fprintf(b, "## Totals\n\n")
	fmt.Fprintf(b, "| method | bytes | bpb | compress | speed | %s | restore | speed | %s | peak RSS compress | peak RSS restore | round trips |\n", x, x)
	fmt.Fprintf(b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for j, t := range ts {
		ok := fmt.Sprintf("%d/%d ok", len(r.Files)-t.Failed, len(r.Files))
		if !t.Complete() {
			fmt.Fprintf(b, "| %s | n/a | n/a | | | | | | | %s | %s | %s |\n", cell(t.Method), r.rss(t.CompressRSS), r.rss(t.RestoreRSS), ok)
			continue
		}
		cr, rr := r.totalRatios(ts, j)
		fmt.Fprintf(b, "| %s | %d | %.3f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			cell(t.Method), t.Packed, t.BPB(),
			seconds(t.Compress), rate(speed(t.Original, t.Compress)), times(cr),
			seconds(t.Decompress), rate(speed(t.Original, t.Decompress)), times(rr),
			r.rss(t.CompressRSS), r.rss(t.RestoreRSS), ok)
	}

	// Every measurement.
	fmt.Fprintf(b, "\n## Per file\n\n")
	fmt.Fprintf(b, "| file | method | bytes | bpb | compress | speed | %s | restore | speed | %s | peak RSS c / r | check |\n", x, x)
	fmt.Fprintf(b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for i := range r.Files {
		for j := range r.Methods {
			row := r.Rows[i][j]
			cr, rr := r.speedRatios(i, j)
			fmt.Fprintf(b, "| %s | %s |", cell(row.File), cell(row.Method))
			if row.Compressed {
				fmt.Fprintf(b, " %d | %.3f | %s | %s | %s |", row.Packed, row.BPB(),
					seconds(row.Compress), rate(speed(row.Original, row.Compress)), times(cr))
			} else {
				fmt.Fprintf(b, " | | | | |")
			}
			if row.OK {
				fmt.Fprintf(b, " %s | %s | %s |", seconds(row.Decompress), rate(speed(row.Original, row.Decompress)), times(rr))
			} else {
				fmt.Fprintf(b, " | | |")
			}
			fmt.Fprintf(b, " %s / %s |", r.rss(row.CompressRSS), r.rss(row.RestoreRSS))
			check := "ok"
			if !row.OK {
				check = "**FAILED**"
			}
			if row.Note != "" {
				check += " (" + cell(row.Note) + ")"
			}
			fmt.Fprintf(b, " %s |\n", check)
		}
	}

	if bad := r.Failed(); len(bad) > 0 {
		fmt.Fprintf(b, "\n## Failures\n\n")
		for _, row := range bad {
			fmt.Fprintf(b, "- %s, %s: %s\n", row.File, row.Method, oneLine(row.Err))
		}
	}
	return b.Flush()
}

// rss formats a peak RSS figure; 0 is at most the floor.
func (r *Report) rss(kib int64) string {
	if kib == 0 {
		if r.RSSFloor == 0 {
			return "?"
		}
		return "≤ " + mib(r.RSSFloor)
	}
	return mib(kib)
}

// best is the column with the smallest value among those that count, or -1.
func (r *Report) best(value func(j int) (float64, bool)) int {
	best, bv := -1, 0.0
	for j := range r.Methods {
		if v, ok := value(j); ok && (best < 0 || v < bv) {
			best, bv = j, v
		}
	}
	return best
}

// short is the tool's name: "xz" for "xz -9e".
func short(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return "baseline"
}

func times(x float64) string {
	if x <= 0 {
		return "–"
	}
	switch {
	case x >= 10:
		return fmt.Sprintf("%.0f", x)
	case x >= 1:
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.2g", x) // 0.55, 0.0035
}

// cell makes s safe inside a table cell.
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
