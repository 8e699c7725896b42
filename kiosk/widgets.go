package kiosk

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// button is a large touch target: a filled, rounded box with one line of centred text
// that shrinks to fit rather than being clipped. Fyne's own Button sizes its text from
// the theme only; a kiosk needs a 44-point digit beside a 24-point label.
type button struct {
	widget.BaseWidget
	text     string
	size     float32 // preferred text size
	bold     bool
	fill     color.Color
	ink      color.Color
	border   color.Color
	minSize  fyne.Size
	checkbox *bool // when set, a drawn box (empty or filled) precedes the text
	round    bool  // the box is a circle: one choice of several, like a radio button
	onTap    func()
}

func newButton(text string, size float32, fill, ink color.Color, onTap func()) *button {
	b := makeButton(text, size, fill, ink, onTap)
	b.ExtendBaseWidget(b)
	return b
}

// makeButton is a button not yet extended, for widgets that embed it: they must extend
// the base widget with themselves, or Refresh would redraw a renderer nobody shows.
func makeButton(text string, size float32, fill, ink color.Color, onTap func()) *button {
	return &button{text: text, size: size, fill: fill, ink: ink, onTap: onTap,
		minSize: fyne.NewSize(touchMin, touchMin)}
}

func primaryButton(text string, onTap func()) *button {
	b := newButton(text, textLarge, colorPrimary, colorOnPrimary, onTap)
	b.bold = true
	b.minSize = fyne.NewSize(220, 80)
	return b
}

func secondaryButton(text string, onTap func()) *button {
	b := newButton(text, textLarge, colorSecondary, colorText, onTap)
	b.border = colorBorder
	b.minSize = fyne.NewSize(220, 80)
	return b
}

// Tapped implements fyne.Tappable.
func (b *button) Tapped(*fyne.PointEvent) {
	if b.onTap != nil {
		b.onTap()
	}
}

// SetText changes the label.
func (b *button) SetText(text string) {
	b.text = text
	b.Refresh()
}

// CreateRenderer implements fyne.Widget.
func (b *button) CreateRenderer() fyne.WidgetRenderer {
	r := &buttonRenderer{b: b, bg: canvas.NewRectangle(b.fill), label: canvas.NewText(b.text, b.ink),
		box: canvas.NewRectangle(color.Transparent), tick: canvas.NewRectangle(color.Transparent)}
	r.bg.CornerRadius = cornerRadius
	r.label.Alignment = fyne.TextAlignCenter
	if b.checkbox != nil {
		r.label.Alignment = fyne.TextAlignLeading
	}
	r.box.StrokeWidth = 3
	r.Refresh()
	return r
}

type buttonRenderer struct {
	b         *button
	bg        *canvas.Rectangle
	label     *canvas.Text
	box, tick *canvas.Rectangle
}

const checkboxSide = 32

func (r *buttonRenderer) Layout(size fyne.Size) {
	r.bg.Resize(size)
	left := float32(12)
	if r.b.checkbox != nil {
		y := (size.Height - checkboxSide) / 2
		r.box.Move(fyne.NewPos(left, y))
		r.box.Resize(fyne.NewSquareSize(checkboxSide))
		r.tick.Move(fyne.NewPos(left+7, y+7))
		r.tick.Resize(fyne.NewSquareSize(checkboxSide - 14))
		left += checkboxSide + 12
	}
	avail := size.Width - left - 12
	// Shrink the text until it fits: clipped words are worse than smaller ones.
	r.label.TextSize = r.b.size
	for r.label.TextSize > 14 && r.label.MinSize().Width > avail {
		r.label.TextSize--
	}
	h := r.label.MinSize().Height
	r.label.Move(fyne.NewPos(left, (size.Height-h)/2))
	r.label.Resize(fyne.NewSize(avail, h))
}

func (r *buttonRenderer) MinSize() fyne.Size { return r.b.minSize }

func (r *buttonRenderer) Refresh() {
	r.bg.FillColor = r.b.fill
	r.bg.StrokeColor = r.b.border
	if r.b.border != nil {
		r.bg.StrokeWidth = 2
	} else {
		r.bg.StrokeWidth = 0
	}
	r.label.Text = r.b.text
	r.label.Color = r.b.ink
	r.label.TextStyle = fyne.TextStyle{Bold: r.b.bold}
	r.box.CornerRadius, r.tick.CornerRadius = 4, 0
	if r.b.round {
		r.box.CornerRadius, r.tick.CornerRadius = checkboxSide/2, (checkboxSide-14)/2
	}
	r.box.Hidden = r.b.checkbox == nil
	r.tick.Hidden = r.b.checkbox == nil || !*r.b.checkbox
	r.box.StrokeColor = r.b.ink
	r.tick.FillColor = r.b.ink
	r.Layout(r.b.Size())
	canvas.Refresh(r.b)
}

func (r *buttonRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.bg, r.box, r.tick, r.label}
}

func (r *buttonRenderer) Destroy() {}

// toggle is a button that stays on or off: reason chips and the consent box. Its state
// shows as a filled or empty box and a filled or outlined chip, never by colour alone.
// A round box marks one choice of several (see newChoice).
type toggle struct {
	*button
	on       bool
	onChange func(bool)
}

func newToggle(text string, onChange func(bool)) *toggle {
	t := &toggle{onChange: onChange}
	t.button = makeButton(text, textBody, colorBackground, colorText, t.flip)
	t.ExtendBaseWidget(t)
	t.button.checkbox = &t.on
	t.button.border = colorBorder
	t.button.minSize = fyne.NewSize(touchMin*3, touchMin+8)
	return t
}

// newChoice is a toggle drawn as one option of a single-choice group: a circle instead
// of a square, so it reads like a radio button. The group's onChange keeps the others off.
func newChoice(text string, onChange func(bool)) *toggle {
	t := newToggle(text, onChange)
	t.round = true
	return t
}

func (t *toggle) flip() {
	t.set(!t.on)
	if t.onChange != nil {
		t.onChange(t.on)
	}
}

// set shows the state without reporting a change.
func (t *toggle) set(on bool) {
	t.on = on
	if on {
		t.fill, t.ink, t.bold = colorPrimary, colorOnPrimary, true
	} else {
		t.fill, t.ink, t.bold = colorBackground, colorText, false
	}
	t.Refresh()
}

// tapArea is an invisible touch target, such as the corner that opens the manager view.
type tapArea struct {
	widget.BaseWidget
	size  fyne.Size
	onTap func()
}

func newTapArea(size fyne.Size, onTap func()) *tapArea {
	t := &tapArea{size: size, onTap: onTap}
	t.ExtendBaseWidget(t)
	return t
}

func (t *tapArea) Tapped(*fyne.PointEvent) { t.onTap() }

func (t *tapArea) MinSize() fyne.Size { return t.size }

func (t *tapArea) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}

// text makes a wrapped label at a given size. Fyne's Label takes its size from the
// theme; RichText lets each line choose.
func text(s string, size float32, bold bool, align fyne.TextAlign, c fyne.ThemeColorName) *widget.RichText {
	seg := &widget.TextSegment{Text: s, Style: widget.RichTextStyle{
		Alignment: align,
		ColorName: c,
		SizeName:  sizeName(size),
		TextStyle: fyne.TextStyle{Bold: bold},
	}}
	rt := widget.NewRichText(seg)
	rt.Wrapping = fyne.TextWrapWord
	return rt
}

// label is a text that never wraps, for places that size themselves to their content
// (box sides, centred boxes), where a wrapping text would shrink to a letter a line.
func label(s string, size float32, bold bool, align fyne.TextAlign, c fyne.ThemeColorName) *widget.RichText {
	rt := text(s, size, bold, align, c)
	rt.Wrapping = fyne.TextWrapOff
	return rt
}

// sizeName maps our text sizes onto the theme's size names.
func sizeName(size float32) fyne.ThemeSizeName {
	switch {
	case size >= textTitle:
		return theme.SizeNameHeadingText
	case size >= textLarge:
		return theme.SizeNameSubHeadingText
	}
	return theme.SizeNameText
}

// setText replaces the text of a label made by text.
func setText(rt *widget.RichText, s string) {
	rt.Segments[0].(*widget.TextSegment).Text = s
	rt.Refresh()
}

// cursorHider wraps a screen so that the pointer is hidden over all of it. Fyne takes the
// cursor from the Cursorable objects under the pointer; none of ours sets one, so the
// wrapper's hidden cursor applies everywhere.
type cursorHider struct {
	widget.BaseWidget
	content fyne.CanvasObject
}

var _ desktop.Cursorable = (*cursorHider)(nil)

func newCursorHider(content fyne.CanvasObject) *cursorHider {
	h := &cursorHider{content: content}
	h.ExtendBaseWidget(h)
	return h
}

func (h *cursorHider) Cursor() desktop.Cursor { return desktop.HiddenCursor }

func (h *cursorHider) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(h.content)
}

// columnLayout stacks objects top to bottom, measuring each at the width it will get.
// A wrapping text is as tall as its width makes it, and Fyne's VBox asks for heights
// before it knows the width: the text then overflows its box and draws over whatever
// comes next. width is the width to measure at until the first layout says otherwise.
type columnLayout struct {
	width float32
	gap   float32
}

func (l *columnLayout) heights(objs []fyne.CanvasObject, width float32) []float32 {
	hs := make([]float32, len(objs))
	for i, o := range objs {
		if !o.Visible() {
			continue
		}
		o.Resize(fyne.NewSize(width, o.Size().Height)) // a wrapping text rewraps at width
		hs[i] = o.MinSize().Height
	}
	return hs
}

func (l *columnLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	l.width = size.Width
	y := float32(0)
	for i, h := range l.heights(objs, size.Width) {
		if !objs[i].Visible() {
			continue
		}
		objs[i].Move(fyne.NewPos(0, y))
		objs[i].Resize(fyne.NewSize(size.Width, h))
		if h > 0 { // a strut that only holds the width takes no gap
			y += h + l.gap
		}
	}
}

func (l *columnLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var w, h float32
	n := 0
	for i, oh := range l.heights(objs, l.width) {
		if !objs[i].Visible() {
			continue
		}
		w = max(w, objs[i].MinSize().Width)
		h += oh
		if oh > 0 {
			n++
		}
	}
	if n > 1 {
		h += float32(n-1) * l.gap
	}
	return fyne.NewSize(w, h)
}
