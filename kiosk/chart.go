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
		t.TextSize = textCaption
		t.Alignment = fyne.TextAlignTrailing
		r.yLabels = append(r.yLabels, t)
	}
	for _, d := range c.days {
		fill := colorPromoter
		if d.NPS() < 0 {
			fill = colorDetractor
		}
		bar := canvas.NewRectangle(fill)
		bar.Hidden = d.Total() == 0
		r.bars = append(r.bars, bar)
		// Every day gets a label; Layout shows as many as fit without touching.
		t := canvas.NewText(d.Day.Format("Jan 2"), colorMuted)
		t.TextSize = textCaption
		t.Alignment = fyne.TextAlignCenter
		r.xLabels = append(r.xLabels, t)
	}
	return r
}

type chartRenderer struct {
	c         *trendChart
	gridLines []*canvas.Line
	yLabels   []*canvas.Text
	bars      []*canvas.Rectangle
	xLabels   []*canvas.Text // one per day, most hidden
}

// labelGap is the least space between two axis labels.
const labelGap = 12

func (r *chartRenderer) Layout(size fyne.Size) {
	// The left margin and the bottom band are as big as the labels, which are as big
	// as the theme's caption text, whatever the window.
	var left, labelH float32
	for _, l := range r.yLabels {
		m := l.MinSize()
		left = max(left, m.Width+8)
		labelH = max(labelH, m.Height)
	}
	bottom := labelH + 8
	top := labelH / 2 // room for the top label's upper half
	plotW := size.Width - left
	plotH := size.Height - bottom - top
	yOf := func(v float64) float32 { return top + plotH*float32((100-v)/200) }
	for i, v := range []float64{100, 50, 0, -50, -100} {
		y := yOf(v)
		r.gridLines[i].Position1 = fyne.NewPos(left, y)
		r.gridLines[i].Position2 = fyne.NewPos(size.Width, y)
		lbl := r.yLabels[i]
		lbl.Move(fyne.NewPos(0, y-labelH/2))
		lbl.Resize(fyne.NewSize(left-8, labelH))
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
		x := left + float32(i)*slot + (slot-w)/2
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

	// Label every step-th day back from the last (today), a week apart or a multiple
	// of a week when a week of bars is narrower than a label.
	var labelW float32
	for _, l := range r.xLabels {
		labelW = max(labelW, l.MinSize().Width)
	}
	step := 7
	for float32(step)*slot < labelW+labelGap && step < n {
		step += 7
	}
	last := n - 1
	nextStart := size.Width + labelGap // left edge of the label shown to the right
	for i := last; i >= 0; i-- {
		l := r.xLabels[i]
		l.Hide()
		if (last-i)%step != 0 {
			continue
		}
		lw := l.MinSize().Width
		cx := left + float32(i)*slot + slot/2
		x := min(max(cx-lw/2, 0), size.Width-lw) // kept inside the chart
		if x+lw+labelGap > nextStart {
			continue // pushed into its neighbour by the edge
		}
		l.Move(fyne.NewPos(x, size.Height-bottom+4))
		l.Resize(fyne.NewSize(lw, labelH))
		l.Show()
		nextStart = x
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
		objs = append(objs, l)
	}
	return objs
}

func (r *chartRenderer) Destroy() {}
