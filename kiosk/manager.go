package kiosk

import (
	"context"
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
	"fyne.io/fyne/v2/widget"

	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/store"
)

// managerScreen is the store manager's dashboard, drawn from local data so it works
// offline. It locks itself after a minute without a touch.
type managerScreen struct {
	app    *App
	root   *fyne.Container // the dashboard, with the exit confirmation over it
	sync   *fyne.Container
	cases  *fyne.Container // the Follow-ups section; nil without cases
	themes *fyne.Container // the Top themes section; nil without theme figures
	stop   func()
	status func()
}

// managerFigures is everything the dashboard shows, read in one go.
type managerFigures struct {
	today, week, month store.RangeTally
	days               []store.DayTally
	reasons            []store.ReasonCount
	comments           []store.Comment
	outbox             store.OutboxStats
	// channels is the store's NPS per channel from the collector; hasChannels is false
	// until the collector sent some.
	channels    store.ChannelFigures
	hasChannels bool
	// monthStart and end bound the 30 days, for the figures read after the first frame.
	monthStart, end time.Time
}

func newManagerScreen(a *App) *managerScreen { return &managerScreen{app: a} }

func (s *managerScreen) load(ctx context.Context) (managerFigures, error) {
	a := s.app
	st := a.cfg.Stats
	now := a.clock.Now().In(a.loc)
	today := midnightIn(now)
	end := now.Add(time.Second)
	var (
		f   managerFigures
		err error
	)
	if f.today, err = st.Tally(ctx, today, end); err != nil {
		return f, err
	}
	if f.week, err = st.Tally(ctx, today.AddDate(0, 0, -6), end); err != nil {
		return f, err
	}
	monthStart := today.AddDate(0, 0, -29)
	f.monthStart, f.end = monthStart, end
	if f.month, err = st.Tally(ctx, monthStart, end); err != nil {
		return f, err
	}
	if f.days, err = st.Daily(ctx, monthStart, now, a.loc); err != nil {
		return f, err
	}
	if f.reasons, err = st.ReasonCounts(ctx, monthStart, end, 5); err != nil {
		return f, err
	}
	if f.comments, err = st.RecentComments(ctx, monthStart, 6); err != nil {
		return f, err
	}
	if f.outbox, err = st.Outbox(ctx); err != nil {
		return f, err
	}
	if cs := a.channelStats(); cs != nil {
		// HQ's figures are extra: without them the kiosk's own still show.
		if f.channels, f.hasChannels, err = cs.ChannelFigures(ctx); err != nil {
			a.log.Warn("manager view could not read the store's figures per channel", "err", err)
			f.hasChannels = false
		}
	}
	return f, nil
}

func midnightIn(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func (s *managerScreen) content() fyne.CanvasObject {
	a := s.app
	ctx, cancel := a.ctx()
	defer cancel()
	f, err := s.load(ctx)
	if err != nil {
		a.log.Error("manager view could not read local statistics", "err", err)
		return container.NewVBox(text(err.Error(), textBody, false, fyne.TextAlignLeading, theme.ColorNameError),
			secondaryButton(a.t("manager.lock"), a.showRating))
	}

	width := a.win.Canvas().Size().Width
	// A phone-sized window stacks what sits side by side on a tablet.
	narrow := width < 600
	cols := 3
	if narrow {
		cols = 1
	}
	cards := container.NewGridWithColumns(cols,
		s.npsCard(a.t("manager.today"), f.today.Tally),
		s.npsCard(a.t("manager.days7"), f.week.Tally),
		s.npsCard(a.t("manager.days30"), f.month.Tally))

	left := container.NewVBox(cards, s.splitBar(f.month.Tally, cols))
	if f.month.Suspect > 0 {
		left.Add(text(a.t("manager.suspect", "n", strconv.FormatInt(f.month.Suspect, 10)),
			textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground))
	}
	if f.hasChannels && otherChannels(f.channels) {
		left.Add(s.channelTable(f.channels, narrow))
	}
	left.Add(heading(a.t("manager.trend")))
	left.Add(newTrendChart(f.days))

	s.sync = container.NewVBox()
	s.renderSync(f.outbox)
	right := container.NewVBox(s.sync)
	if a.followUps() != nil {
		s.cases = container.NewVBox()
		s.renderCases()
		right.Add(s.cases)
	}
	right.Add(heading(a.t("manager.reasons")))
	right.Add(s.reasonList(f.reasons))
	if s.loadThemes(f.monthStart, f.end); s.themes != nil {
		right.Add(s.themes)
	}
	right.Add(heading(a.t("manager.comments")))
	right.Add(s.commentList(f.comments))

	var columns fyne.CanvasObject
	if width >= 1100 {
		columns = container.NewGridWithColumns(2, left, right)
	} else {
		columns = container.NewVBox(left, right)
	}

	scroll := container.NewVScroll(container.NewPadded(columns))
	scroll.OnScrolled = func(fyne.Position) { s.touched() }
	s.touched()
	s.scheduleStatus()
	// The header sits above the scroll, never in it, and is measured at its real width
	// so a title that wraps pushes the scroll down instead of being drawn over by it.
	s.root = container.NewStack(container.New(layout.NewCustomPaddedLayout(16, 16, 24, 24),
		container.NewBorder(s.header(width-48), nil, nil, nil, scroll)))
	return s.root
}

// header is the title with Lock and Exit: on one row when the title fits beside the
// buttons, else the title above them. width is the width it gets.
func (s *managerScreen) header(width float32) fyne.CanvasObject {
	a := s.app
	buttons := []*button{secondaryButton(a.t("manager.lock"), a.showRating)}
	if a.cfg.OnExit != nil {
		buttons = append(buttons, secondaryButton(a.t("manager.exit"), s.confirmExit))
	}
	actions := container.NewHBox()
	for _, b := range buttons {
		if width < 500 {
			b.minSize.Width = 150 // two still fit a phone; their labels shrink to fit
		}
		actions.Add(b)
	}
	title := text(a.t("manager.title")+" · "+a.survey.StoreName, textTitle, true, fyne.TextAlignLeading, theme.ColorNameForeground)
	oneLine := fyne.MeasureText(title.String(), textTitle, fyne.TextStyle{Bold: true}).Width + 2*theme.InnerPadding()
	actionsWidth := actions.MinSize().Width
	if oneLine+gap+actionsWidth <= width {
		return container.NewBorder(nil, nil, nil, container.NewVBox(actions), title)
	}
	return container.New(&columnLayout{width: width, gap: 8}, title, actions)
}

// confirmExit asks before leaving kiosk mode: a stray tap on Exit would leave the store
// without a kiosk until someone restarts it.
func (s *managerScreen) confirmExit() {
	a := s.app
	s.touched()
	closeDialog := func() {
		s.touched()
		s.root.Objects = s.root.Objects[:1]
		s.root.Refresh()
	}
	exit := primaryButton(a.t("manager.exit_confirm"), func() {
		closeDialog()
		a.cfg.OnExit()
	})
	cancel := secondaryButton(a.t("manager.exit_cancel"), closeDialog)
	card := canvas.NewRectangle(colorBackground)
	card.CornerRadius = cornerRadius
	// The card keeps a margin on a phone-sized window; its buttons stack when two side
	// by side would not fit.
	width := min(520, a.win.Canvas().Size().Width-2*40-32)
	choices := container.NewGridWithColumns(2, cancel, exit)
	if width < 2*cancel.minSize.Width+gap {
		choices = container.NewGridWithColumns(1, exit, cancel)
	}
	title := text(a.t("manager.exit_title"), textTitle, true, fyne.TextAlignCenter, theme.ColorNameForeground)
	body := text(a.t("manager.exit_body"), textBody, false, fyne.TextAlignCenter, theme.ColorNameForeground)
	strut := canvas.NewRectangle(color.Transparent) // holds the card at width
	strut.SetMinSize(fyne.NewSize(width, 0))
	msg := container.New(&columnLayout{width: width, gap: 16}, strut, title, body, choices)
	// The blocker under the card keeps taps off the dashboard while the question is open.
	dialog := container.NewStack(canvas.NewRectangle(colorOverlay),
		newTapArea(fyne.NewSize(0, 0), s.touched),
		container.NewCenter(container.NewStack(card, container.New(layout.NewCustomPaddedLayout(32, 32, 40, 40), msg))))
	s.root.Objects = append(s.root.Objects[:1], dialog)
	s.root.Refresh()
}

// touched restarts the auto-lock countdown.
func (s *managerScreen) touched() {
	if s.stop != nil {
		s.stop()
	}
	s.stop = s.app.after(managerIdleLock, s.app.showRating)
}

// scheduleStatus refreshes the sync panel every few seconds while the view is open.
func (s *managerScreen) scheduleStatus() {
	s.status = s.app.after(statusRefresh, func() {
		ctx, cancel := s.app.ctx()
		defer cancel()
		if ob, err := s.app.cfg.Stats.Outbox(ctx); err == nil {
			s.renderSync(ob)
		}
		s.renderCases() // the sync worker may have pulled new cases or had a move refused
		s.scheduleStatus()
	})
}

func heading(s string) fyne.CanvasObject {
	return container.NewVBox(spacer(8), text(s, textLarge, true, fyne.TextAlignLeading, theme.ColorNameForeground))
}

func (s *managerScreen) npsCard(title string, t nps.Tally) fyne.CanvasObject {
	a := s.app
	bg := canvas.NewRectangle(colorSecondary)
	bg.CornerRadius = cornerRadius
	score := canvas.NewText("–", colorText)
	count, moe := a.t("manager.no_responses"), " "
	if t.Total() > 0 {
		score.Text = formatNPS(t.NPS())
		count = a.t("manager.responses", "n", strconv.FormatInt(t.Total(), 10))
		if t.Total() == 1 {
			count = a.t("manager.one_response")
		}
		moe = a.t("manager.moe", "moe", fmt.Sprintf("%.0f", t.MarginOfError()))
	}
	score.TextSize = textHuge
	score.TextStyle.Bold = true
	score.Alignment = fyne.TextAlignCenter
	return container.NewStack(bg, container.NewPadded(container.NewVBox(
		label(title, textBody, true, fyne.TextAlignCenter, theme.ColorNameForeground),
		score,
		small(count), small(moe))))
}

// small is a short centred line in a card.
func small(s string) *canvas.Text {
	t := canvas.NewText(s, colorText)
	t.TextSize = 20
	t.Alignment = fyne.TextAlignCenter
	return t
}

// formatNPS shows a score with its sign, and 0 without one.
func formatNPS(v float64) string {
	if s := fmt.Sprintf("%+.0f", v); s != "+0" && s != "-0" {
		return s
	}
	return "0"
}

// splitBar shows promoters, passives and detractors as proportional segments, each
// named with its percentage so colour is never the only cue.
func (s *managerScreen) splitBar(t nps.Tally, cols int) fyne.CanvasObject {
	a := s.app
	n := float64(t.Total())
	share := func(c int64) float64 {
		if n == 0 {
			return 0
		}
		return float64(c) / n
	}
	parts := []struct {
		label string
		share float64
		fill  color.Color
	}{
		{a.t("manager.promoters"), share(t.Promoters), colorPromoter},
		{a.t("manager.passives"), share(t.Passives), colorPassive},
		{a.t("manager.detractors"), share(t.Detractors), colorDetractor},
	}
	bar := &proportionLayout{}
	var segs, legend []fyne.CanvasObject
	for _, p := range parts {
		r := canvas.NewRectangle(p.fill)
		segs = append(segs, r)
		bar.shares = append(bar.shares, p.share)
		sw := canvas.NewRectangle(p.fill)
		sw.SetMinSize(fyne.NewSquareSize(24))
		legend = append(legend, container.NewBorder(nil, nil, container.NewVBox(spacer(6), sw), nil,
			text(fmt.Sprintf("%s %.0f%%", p.label, p.share*100), textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground)))
	}
	return container.NewVBox(heading(a.t("manager.split")),
		container.New(bar, segs...), container.NewGridWithColumns(cols, legend...))
}

// proportionLayout lays objects side by side, each as wide as its share.
type proportionLayout struct{ shares []float64 }

func (l *proportionLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	x := float32(0)
	for i, o := range objs {
		w := float32(l.shares[i]) * size.Width
		o.Move(fyne.NewPos(x, 0))
		o.Resize(fyne.NewSize(w, size.Height))
		x += w
	}
}

func (l *proportionLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(100, 40) }

func (s *managerScreen) renderSync(ob store.OutboxStats) {
	a := s.app
	lines := []string{}
	// Anything but "online" is shown in the error colour: it needs someone's attention.
	state, ink := a.t("manager.not_enrolled"), theme.ColorNameError
	var st SyncStatus
	if a.cfg.Sync != nil {
		st = a.cfg.Sync.Status()
	}
	switch {
	case !st.Enrolled:
	case st.Online:
		state, ink = a.t("manager.online"), theme.ColorNameForeground
	default:
		state = a.t("manager.offline")
	}
	lines = append(lines, a.t("manager.waiting", "n", strconv.FormatInt(ob.Pending, 10)))
	if !ob.OldestPending.IsZero() {
		lines = append(lines, a.t("manager.oldest", "age", humanAge(a.clock.Now().Sub(ob.OldestPending))))
	}
	when := a.t("manager.never")
	if !st.LastSuccess.IsZero() {
		when = a.t("manager.ago", "age", humanAge(a.clock.Now().Sub(st.LastSuccess)))
	}
	lines = append(lines, a.t("manager.last_success", "when", when))
	if st.LastError != "" {
		lines = append(lines, a.t("manager.last_error", "error", st.LastError))
	}
	lines = append(lines, a.t("manager.quarantined", "n", strconv.FormatInt(ob.Quarantined, 10)))
	if st.InsecureHTTP {
		lines = append(lines, a.t("manager.insecure_http"))
		ink = theme.ColorNameError
	}

	objs := []fyne.CanvasObject{
		heading(a.t("manager.sync") + ": " + state),
		text(strings.Join(lines, "\n"), textBody, false, fyne.TextAlignLeading, ink),
	}
	if a.cfg.Sync != nil && st.Enrolled {
		objs = append(objs, primaryButton(a.t("manager.sync_now"), func() {
			s.touched()
			a.cfg.Sync.SyncNow()
		}))
	}
	s.sync.Objects = objs
	s.sync.Refresh()
}

func humanAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func (s *managerScreen) reasonList(rs []store.ReasonCount) fyne.CanvasObject {
	a := s.app
	box := container.NewVBox()
	if len(rs) == 0 {
		box.Add(text("–", textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground))
	}
	for _, r := range rs {
		name := r.Reason
		for _, sr := range a.survey.Reasons {
			if sr.Key == r.Reason {
				name = sr.Label(a.lang, a.survey.Languages[0])
			}
		}
		box.Add(container.NewBorder(nil, nil, nil,
			label(strconv.FormatInt(r.Count, 10), textBody, true, fyne.TextAlignTrailing, theme.ColorNameForeground),
			text(name, textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground)))
	}
	return box
}

func (s *managerScreen) commentList(cs []store.Comment) fyne.CanvasObject {
	a := s.app
	box := container.NewVBox()
	if len(cs) == 0 {
		box.Add(text(a.t("manager.no_comments"), textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground))
	}
	for _, c := range cs {
		cat := nps.Score(c.Score).Category()
		fill := map[nps.Category]color.Color{nps.Promoter: colorPromoter, nps.Passive: colorPassive, nps.Detractor: colorDetractor}[cat]
		badge := canvas.NewRectangle(fill)
		badge.CornerRadius = 6
		num := canvas.NewText(strconv.Itoa(c.Score), colorOnPrimary)
		if cat == nps.Passive {
			num.Color = colorText
		}
		num.TextSize = textBody
		num.TextStyle.Bold = true
		num.Alignment = fyne.TextAlignCenter
		badgeBox := container.New(layout.NewGridWrapLayout(fyne.NewSize(52, 44)), container.NewStack(badge, container.NewCenter(num)))
		when := c.CreatedAt.In(a.loc).Format("Jan 2 15:04")
		body := widget.NewLabel(c.Text + "\n" + when)
		body.Wrapping = fyne.TextWrapWord
		box.Add(container.NewBorder(nil, nil, container.NewVBox(badgeBox), nil, body))
	}
	return box
}
