package bench

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// palette tells up to ten methods apart (Tableau 10).
var palette = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0xe1, 0x57, 0x59, 0xff},
	{0x76, 0xb7, 0xb2, 0xff}, {0x59, 0xa1, 0x4f, 0xff}, {0xed, 0xc9, 0x48, 0xff},
	{0xb0, 0x7a, 0xa1, 0xff}, {0xff, 0x9d, 0xa7, 0xff}, {0x9c, 0x75, 0x5f, 0xff},
	{0xba, 0xb0, 0xac, 0xff},
}

// WritePNG draws bits per byte per file, one bar per method side by side,
// with the overall figure as a last group. A method that failed on a file
// has no bar there.
func (r *Report) WritePNG(w io.Writer) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Bits per byte per file (lower is better) — %s", r.Date.Format("2006-01-02"))
	p.Y.Label.Text = "bits per byte"
	p.Y.Min = 0
	p.Add(plotter.NewGrid()) // first, so that it lies behind the bars

	groups := len(r.Files) + 1
	n := len(r.Methods)
	// Bars of a group fill 80% of its slot; the data area is about the
	// width less 70 points of axis.
	width := max(vg.Points(720), vg.Length(groups*(n+2))*vg.Points(7)+vg.Points(70))
	barWidth := (width - vg.Points(70)) / vg.Length(groups) * 0.8 / vg.Length(max(n, 1))
	p.X.Min, p.X.Max = -0.5, float64(groups)-0.5
	ts := r.Totals()
	top := 0.0
	for j, name := range r.Methods {
		vals := make(plotter.Values, groups)
		for i := range r.Files {
			if row := r.Rows[i][j]; row.OK {
				vals[i] = row.BPB()
			}
		}
		if ts[j].Complete() {
			vals[groups-1] = ts[j].BPB()
		}
		for _, v := range vals {
			top = math.Max(top, v)
		}
		bars, err := plotter.NewBarChart(vals, barWidth)
		if err != nil {
			return err
		}
		bars.Color = palette[j%len(palette)]
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(float64(j)-float64(n-1)/2) * barWidth
		p.Add(bars)
		label := name
		if ts[j].Failed > 0 {
			label += fmt.Sprintf(" (%d failed)", ts[j].Failed)
		}
		p.Legend.Add(label, bars)
	}
	// Room above the bars for the legend, about 13 of 340 points a line.
	p.Y.Max = math.Max(top, 1) / math.Max(0.3, 0.92-0.04*float64(n))
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(8)
	names := make([]string, 0, groups)
	for _, f := range r.Files {
		names = append(names, f.Name)
	}
	p.NominalX(append(names, "total")...)
	p.X.Tick.Label.Rotation = math.Pi / 6
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter

	wt, err := p.WriterTo(width, vg.Points(400), "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
