package fleetsim

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot size: small enough to commit under docs/, large enough to read.
const (
	plotWidth  = 7 * vg.Inch
	plotHeight = 3 * vg.Inch
	plotDPI    = 96
)

// WritePNG plots the requests per second at the IdP (all, and the
// background refreshes among them) and at the authorization servers over
// the day, with the IdP's org-wide limit when there is one and the
// outages shaded.
func WritePNG(w io.Writer, r *Result, c *Config, title string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time of day (h)"
	p.Y.Label.Text = "requests per second"
	// The night is empty: the legend goes there.
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())

	for _, o := range c.Outages {
		lo, hi := o.Start.Hours(), (o.Start + o.Length).Hours()
		band, err := plotter.NewPolygon(plotter.XYs{{X: lo, Y: 0}, {X: hi, Y: 0}, {X: hi, Y: maxRate(r)}, {X: lo, Y: maxRate(r)}})
		if err != nil {
			return err
		}
		band.Color = color.RGBA{R: 255, G: 200, B: 200, A: 255}
		band.LineStyle.Width = 0
		p.Add(band)
	}
	series := []struct {
		name string
		get  func(Row) float64
		col  color.RGBA
	}{
		{"IdP", func(r Row) float64 { return r.IdP }, color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 255}},
		{"IdP, background", func(r Row) float64 { return r.IdPBackground }, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 255}},
		{"authorization servers", func(r Row) float64 { return r.AS }, color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 255}},
		{"IdP 429s", func(r Row) float64 { return r.IdP429 }, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 255}},
	}
	for _, s := range series {
		pts := make(plotter.XYs, len(r.Series))
		for i, row := range r.Series {
			pts[i] = plotter.XY{X: row.Start.Hours(), Y: s.get(row)}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = s.col
		l.Width = vg.Points(1)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	if c.IdP.OrgLimit > 0 {
		lim := float64(c.IdP.OrgLimit) / 60
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: lim}, {X: c.Duration.Hours(), Y: lim}})
		if err != nil {
			return err
		}
		l.Color = color.Gray{Y: 80}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("IdP limit %d/min", c.IdP.OrgLimit), l)
	}
	p.X.Min, p.X.Max, p.Y.Min = 0, c.Duration.Hours(), 0
	p.X.Tick.Marker = hourTicks{}
	img := vgimg.NewWith(vgimg.UseWH(plotWidth, plotHeight), vgimg.UseDPI(plotDPI))
	p.Draw(draw.New(img))
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

func maxRate(r *Result) float64 {
	m := 1.0
	for _, row := range r.Series {
		m = max(m, row.IdP, row.AS)
	}
	return m
}

// hourTicks marks every second hour.
type hourTicks struct{}

func (hourTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for h := float64(int(lo)); h <= hi; h++ {
		t := plot.Tick{Value: h}
		if int(h)%2 == 0 {
			t.Label = fmt.Sprintf("%02d", int(h))
		}
		ts = append(ts, t)
	}
	return ts
}
