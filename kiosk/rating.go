package kiosk

import (
	"errors"
	"fmt"
	"image/color"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"

	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
)

// ratingScreen asks the question and records the tap.
type ratingScreen struct {
	app    *App
	tapped bool // one response per visit: a double tap or a tap mid-transition is ignored
	corner []int64
	status *fyne.Container
	// amend is the open follow-up of a shopper who came back to change their score;
	// nil for a new shopper.
	amend *followUpScreen
}

func newRatingScreen(a *App, amend *followUpScreen) *ratingScreen {
	return &ratingScreen{app: a, amend: amend}
}

func (s *ratingScreen) content() fyne.CanvasObject {
	a := s.app
	if s.amend == nil && a.storageFull() {
		return s.outOfService()
	}
	if w, ok := a.sleepWindow(); ok && s.amend == nil {
		now := a.clock.Now().In(a.loc)
		if w.Contains(now) {
			return s.closed(w, now)
		}
		// Awake: the screen closes when the sleep hours begin.
		a.after(w.Until(now), a.showRating)
	}
	store := a.survey.StoreName
	question := a.t("rating.question", "store", store)
	if q := a.survey.Question[a.lang]; q != "" {
		question = strings.ReplaceAll(q, "{store}", store)
	}

	scores := make([]fyne.CanvasObject, 0, 11)
	for score := 0; score <= 10; score++ {
		b := newButton(strconv.Itoa(score), textScore, colorPrimary, colorOnPrimary, func() { s.tap(score) })
		b.bold = true
		b.minSize = fyne.NewSize(touchMin, 96)
		scores = append(scores, b)
	}
	low := text(a.t("rating.low"), textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground)
	high := text(a.t("rating.high"), textBody, false, fyne.TextAlignTrailing, theme.ColorNameForeground)
	low.Wrapping, high.Wrapping = fyne.TextWrapOff, fyne.TextWrapOff
	labels := container.NewGridWithColumns(2, low, high)

	var langs []fyne.CanvasObject
	for _, l := range a.survey.Languages {
		name := a.cfg.Catalog.T(l, "language.name")
		var b *button
		if l == a.lang {
			b = newButton(name, textBody, colorPrimary, colorOnPrimary, nil)
			b.bold = true
		} else {
			b = newButton(name, textBody, colorSecondary, colorText, func() { a.switchLanguage(l, s.amend) })
			b.border = colorBorder
		}
		b.minSize = fyne.NewSize(150, touchMin)
		langs = append(langs, b)
	}

	name := label(store, textLarge, true, fyne.TextAlignLeading, theme.ColorNameForeground)
	var header fyne.CanvasObject
	if a.win.Canvas().Size().Width >= 1100 {
		header = container.NewBorder(nil, nil, nil, container.NewHBox(langs...), name)
	} else {
		header = container.NewVBox(name, container.NewGridWithColumns(len(langs), langs...))
	}

	// The manager's corner: an invisible target over the top-left corner. Not while a
	// shopper's response is open: they are mid-answer.
	overlay := container.NewWithoutLayout()
	if s.amend == nil {
		corner := newTapArea(fyne.NewSize(96, 96), s.cornerTap)
		corner.Resize(corner.MinSize())
		overlay.Add(corner)
	}

	s.status = container.NewVBox()
	if s.amend != nil {
		s.status.Add(text(a.t("rating.current_score", "score", strconv.Itoa(s.amend.score)),
			textBody, true, fyne.TextAlignCenter, theme.ColorNameForeground))
		// The response is open: a shopper who walks away now is timed out as on the
		// follow-up, keeping the score they had.
		idle := time.Duration(a.survey.IdleTimeoutSeconds) * time.Second
		a.after(idle, func() { s.amend.finish(response.OutcomeTimedOut) })
	}
	body := container.NewVBox(
		layout.NewSpacer(),
		text(question, textTitle, true, fyne.TextAlignCenter, theme.ColorNameForeground),
		spacer(32),
		container.New(&scoreLayout{width: a.win.Canvas().Size().Width - 64}, scores...),
		labels,
		s.status,
		layout.NewSpacer(),
	)
	return container.NewStack(
		container.NewBorder(container.New(layout.NewCustomPaddedLayout(8, 8, 24, 8), header), nil, nil, nil,
			container.New(layout.NewCustomPaddedLayout(0, 0, 32, 32), body)),
		overlay)
}

// tap records the score before anything else happens on screen (capture rule 1).
func (s *ratingScreen) tap(score int) {
	if s.tapped {
		return
	}
	s.tapped = true
	a := s.app
	ctx, cancel := a.ctx()
	defer cancel()
	if s.amend != nil {
		if err := a.cfg.Capture.Rescore(ctx, s.amend.rec.ID, storeTap(score, a)); err != nil {
			a.log.Error("could not change a score", "id", s.amend.rec.ID, "score", score, "err", err)
			s.saveFailed()
			return
		}
		s.amend.rescored(score)
		a.show(s.amend.content)
		return
	}
	rec, err := a.cfg.Capture.Record(ctx, storeTap(score, a))
	if errors.Is(err, store.ErrStorageFull) {
		a.log.Error("the disk is full: out of service until space returns", "err", err)
		a.showRating()
		return
	}
	if err != nil {
		a.log.Error("could not record a tap", "score", score, "err", err)
		s.saveFailed()
		return
	}
	a.showFollowUp(rec, score)
}

// outOfService stands in for the scores while the disk is full: the kiosk says so
// rather than taking taps it cannot keep. It looks again every storageRecheck and
// shows the scores once the store has room. The manager's corner still opens the PIN pad.
func (s *ratingScreen) outOfService() fyne.CanvasObject {
	a := s.app
	a.after(storageRecheck, a.showRating)
	corner := newTapArea(fyne.NewSize(96, 96), s.cornerTap)
	corner.Resize(corner.MinSize())
	body := container.NewVBox(
		layout.NewSpacer(),
		text(a.t("rating.out_of_service"), textTitle, true, fyne.TextAlignCenter, theme.ColorNameForeground),
		spacer(24),
		text(a.t("rating.storage_full"), textBody, false, fyne.TextAlignCenter, theme.ColorNameForeground),
		layout.NewSpacer(),
	)
	name := label(a.survey.StoreName, textLarge, true, fyne.TextAlignLeading, theme.ColorNameForeground)
	return container.NewStack(
		container.NewBorder(container.New(layout.NewCustomPaddedLayout(8, 8, 24, 8), name), nil, nil, nil,
			container.New(layout.NewCustomPaddedLayout(0, 0, 32, 32), body)),
		container.NewWithoutLayout(corner))
}

// closed stands in for the scores during the sleep hours HQ set (or a local override):
// a dimmed screen that takes no answers. It shows the scores again when the hours end
// (looking at least every sleepRecheck, should the clock be set meanwhile); the
// manager's corner still opens the PIN pad.
func (s *ratingScreen) closed(w devicesettings.SleepWindow, now time.Time) fyne.CanvasObject {
	a := s.app
	a.after(min(w.Until(now), sleepRecheck), a.showRating)
	corner := newTapArea(fyne.NewSize(96, 96), s.cornerTap)
	corner.Resize(corner.MinSize())
	end := fmt.Sprintf("%02d:%02d", w.End/60, w.End%60)
	body := container.NewVBox(
		layout.NewSpacer(),
		text(a.t("rating.closed"), textTitle, true, fyne.TextAlignCenter, theme.ColorNameDisabled),
		spacer(24),
		text(a.t("rating.closed_until", "time", end), textBody, false, fyne.TextAlignCenter, theme.ColorNameDisabled),
		layout.NewSpacer(),
	)
	name := label(a.survey.StoreName, textLarge, true, fyne.TextAlignLeading, theme.ColorNameDisabled)
	dim := canvas.NewRectangle(color.NRGBA{A: 0xe0})
	return container.NewStack(dim,
		container.NewBorder(container.New(layout.NewCustomPaddedLayout(8, 8, 24, 8), name), nil, nil, nil,
			container.New(layout.NewCustomPaddedLayout(0, 0, 32, 32), body)),
		container.NewWithoutLayout(corner))
}

func (s *ratingScreen) saveFailed() {
	s.tapped = false
	s.status.Objects = []fyne.CanvasObject{
		text(s.app.t("rating.save_error"), textBody, true, fyne.TextAlignCenter, theme.ColorNameError)}
	s.status.Refresh()
}

// cornerTap counts taps on the hidden corner target; five within a few seconds open the
// manager's PIN pad. A shopper will not do that by chance.
func (s *ratingScreen) cornerTap() {
	now := s.app.clock.Now().UnixNano()
	cutoff := now - int64(cornerTapWindow)
	kept := s.corner[:0]
	for _, t := range s.corner {
		if t >= cutoff {
			kept = append(kept, t)
		}
	}
	s.corner = append(kept, now)
	if len(s.corner) >= cornerTapsNeeded {
		s.app.showPIN()
	}
}

// scoreLayout puts the eleven score buttons in one row, or in two (0–5 and 6–10) when
// the screen is too narrow for one row of comfortable targets.
type scoreLayout struct {
	width float32 // the last width laid out, so MinSize asks for one row's height or two
}

const (
	scoreMinWidth = 96
	scoreHeight   = 112
	scoreGap      = 10
)

func (l *scoreLayout) rows(width float32) int {
	if width >= 11*scoreMinWidth+10*scoreGap {
		return 1
	}
	return 2
}

func (l *scoreLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	l.width = size.Width
	rows := l.rows(size.Width)
	perRow := (len(objs) + rows - 1) / rows
	w := (size.Width - float32(perRow-1)*scoreGap) / float32(perRow)
	for i, o := range objs {
		row, col := i/perRow, i%perRow
		offset := float32(0)
		if row == rows-1 && rows > 1 {
			// Centre the shorter second row.
			left := len(objs) - row*perRow
			offset = float32(perRow-left) * (w + scoreGap) / 2
		}
		o.Move(fyne.NewPos(offset+float32(col)*(w+scoreGap), float32(row)*(scoreHeight+scoreGap)))
		o.Resize(fyne.NewSize(w, scoreHeight))
	}
}

func (l *scoreLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	// The minimum width is that of two rows; wider screens get one.
	perRow := (len(objs) + 1) / 2
	rows := float32(l.rows(l.width))
	return fyne.NewSize(float32(perRow)*touchMin+float32(perRow-1)*scoreGap, rows*scoreHeight+(rows-1)*scoreGap)
}

func storeTap(score int, a *App) response.Tap {
	return response.Tap{Score: score, Locale: a.lang, SurveyVersion: a.survey.Version, Segment: a.cfg.Segment}
}

// spacer is fixed empty space.
func spacer(height float32) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(0, height))
	return r
}
