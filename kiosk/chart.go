package kiosk

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"

	"github.com/npskiosk/npskiosk/store"
)

// trendChart draws daily NPS as bars above or below a zero line, from −100 to +100,
// with labelled axes. Days without responses draw no bar.
type trendChart struct {
	widget.BaseWidget
	days []store.DayTally
}

func newTrendChart(days []store.DayTally) *trendChart {
	c := &trendChart{days: days}
	c.ExtendBaseWidget(c)
	return c
}

func (c *trendChart) CreateRenderer() fyne.WidgetRenderer {
	r := &chartRenderer{c: c}
	axis := color.NRGBA{0x5f, 0x66, 0x70, 0xff}
	grid := color.NRGBA{0xd5, 0xd9, 0xe0, 0xff}
	for _, v := range []int{100, 50, 0, -50, -100} {
		l := canvas.NewLine(grid)
		if v == 0 {
			l.StrokeColor = axis
			l.StrokeWidth = 2
		}
		r.gridLines = append(r.gridLines, l)
		t := canvas.NewText(fmt.Sprintf("%+d", v), colorMuted)
		if v == 0 {
			t.Text = "0"
		}
		t.TextSize = 16
		t.Alignment = fyne.TextAlignTrailing
		r.yLabels = append(r.yLabels, t)
	}
	for i, d := range c.days {
		fill := colorPromoter
		if d.NPS() < 0 {
			fill = colorDetractor
		}
		bar := canvas.NewRectangle(fill)
		bar.Hidden = d.Total() == 0
		r.bars = append(r.bars, bar)
		last := len(c.days) - 1
		if i%7 == 0 && last-i >= 4 || i == last {
			t := canvas.NewText(d.Day.Format("Jan 2"), colorMuted)
			t.TextSize = 16
			t.Alignment = fyne.TextAlignCenter
			r.xLabels = append(r.xLabels, xLabel{day: i, text: t})
		}
	}
	return r
}

type xLabel struct {
	day  int
	text *canvas.Text
}

type chartRenderer struct {
	c         *trendChart
	gridLines []*canvas.Line
	yLabels   []*canvas.Text
	bars      []*canvas.Rectangle
	xLabels   []xLabel
}

const (
	chartLeft   = 52
	chartBottom = 28
)

func (r *chartRenderer) Layout(size fyne.Size) {
	plotW := size.Width - chartLeft
	plotH := size.Height - chartBottom - 8
	top := float32(8)
	yOf := func(v float64) float32 { return top + plotH*float32((100-v)/200) }
	for i, v := range []float64{100, 50, 0, -50, -100} {
		y := yOf(v)
		r.gridLines[i].Position1 = fyne.NewPos(chartLeft, y)
		r.gridLines[i].Position2 = fyne.NewPos(size.Width, y)
		lbl := r.yLabels[i]
		h := lbl.MinSize().Height
		lbl.Move(fyne.NewPos(0, y-h/2))
		lbl.Resize(fyne.NewSize(chartLeft-8, h))
	}
	n := len(r.bars)
	if n == 0 {
		return
	}
	slot := plotW / float32(n)
	w := slot * 0.7
	zero := yOf(0)
	for i, bar := range r.bars {
		v := r.c.days[i].NPS()
		x := chartLeft + float32(i)*slot + (slot-w)/2
		y := yOf(v)
		if v >= 0 {
			h := max(zero-y, 3) // a zero day still shows a sliver
			bar.Move(fyne.NewPos(x, zero-h))
			bar.Resize(fyne.NewSize(w, h))
		} else {
			bar.Move(fyne.NewPos(x, zero))
			bar.Resize(fyne.NewSize(w, y-zero))
		}
	}
	for _, l := range r.xLabels {
		cx := chartLeft + float32(l.day)*slot + slot/2
		l.text.Move(fyne.NewPos(min(cx-40, size.Width-80), size.Height-chartBottom+4))
		l.text.Resize(fyne.NewSize(80, 20))
	}
}

func (r *chartRenderer) MinSize() fyne.Size { return fyne.NewSize(300, 240) }

func (r *chartRenderer) Refresh() { r.Layout(r.c.Size()) }

func (r *chartRenderer) Objects() []fyne.CanvasObject {
	var objs []fyne.CanvasObject
	for _, l := range r.gridLines {
		objs = append(objs, l)
	}
	for _, l := range r.yLabels {
		objs = append(objs, l)
	}
	for _, b := range r.bars {
		objs = append(objs, b)
	}
	for _, l := range r.xLabels {
		objs = append(objs, l.text)
	}
	return objs
}

func (r *chartRenderer) Destroy() {}
