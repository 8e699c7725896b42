package kiosk

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/npskiosk/npskiosk/sync/wire"
)

// Setup enrolls a kiosk that is not set up from its setup screen. Its calls block on the
// network: the screen makes them off the UI goroutine.
type Setup interface {
	// Check tests the connection to the collector and says which store the request would
	// join, spending nothing.
	Check(ctx context.Context, collector string, req wire.EnrollRequest) (wire.EnrollPreview, error)
	// Enroll enrolls the kiosk, saves its identity and starts syncing; what it returns is
	// what the kiosk captures with from then on.
	Enroll(ctx context.Context, collector string, req wire.EnrollRequest) (Enrolled, error)
}

// Enrolled is what a kiosk set up from its setup screen runs with.
type Enrolled struct {
	Sync         Syncer       // required
	CaseContacts CaseContacts // may be nil
}

const (
	// setupIdle returns an abandoned setup screen to "not set up", forgetting what was
	// typed (the PIN, above all).
	setupIdle = 2 * time.Minute
	// setupTimeout bounds each call to the collector.
	setupTimeout = 30 * time.Second
	// setupFieldLimit bounds what the keyboard types into a field, and setupFieldShown
	// how much of it its box shows.
	setupFieldLimit = 200
	setupFieldShown = 40
)

// notSetUp reports whether the kiosk has no collector yet and can be set up on screen:
// then it captures nothing.
func (a *App) notSetUp() bool { return a.cfg.Sync == nil && a.cfg.Setup != nil }

// showNotSetUp tells whoever looks that this kiosk is not set up, with a button for
// staff to set it up: an unenrolled kiosk never pretends to be a store.
func (a *App) showNotSetUp() {
	a.reset()
	a.show(func() fyne.CanvasObject {
		title := text(a.t("setup.not_set_up"), textTitle, true, fyne.TextAlignCenter, theme.ColorNameForeground)
		body := text(a.t("setup.not_set_up_body"), textBody, false, fyne.TextAlignCenter, theme.ColorNameForeground)
		start := primaryButton(a.t("setup.start"), a.showSetup)
		start.minSize = fyne.NewSize(320, 96)
		return container.New(layout.NewCustomPaddedLayout(48, 48, 64, 64),
			container.NewVBox(layout.NewSpacer(), title, spacer(24), body, spacer(48), container.NewCenter(start), layout.NewSpacer()))
	})
}

// setupField is one of the setup form's fields.
type setupField int

const (
	setupCollector setupField = iota
	setupCode
	setupPIN
	setupFields
)

// setupScreen is the technician's form: the collector's address, the enrollment code or
// key, and the setup PIN, typed on the on-screen keyboard; then the connection test,
// the store it joins, and confirmation.
type setupScreen struct {
	app    *App
	values [setupFields]string
	focus  setupField
	busy   bool // a call to the collector is under way
	root   *fyne.Container
	status *widget.RichText
	stop   func()
}

func (a *App) showSetup() {
	s := &setupScreen{app: a}
	s.values[setupCollector] = a.cfg.SetupCollector
	if s.values[setupCollector] == "" {
		s.values[setupCollector] = "https://"
	}
	a.show(s.content)
}

func (s *setupScreen) content() fyne.CanvasObject {
	s.root = container.NewStack(s.form())
	s.touched()
	return s.root
}

// touched restarts the timer that returns an abandoned setup screen to "not set up".
func (s *setupScreen) touched() {
	if s.stop != nil {
		s.stop()
	}
	s.stop = s.app.after(setupIdle, s.app.showNotSetUp)
}

// form shows the three fields over the keyboard, which types into the focused one.
func (s *setupScreen) form() fyne.CanvasObject {
	a := s.app
	// The form and the keyboard just fit 800 px: the title is no larger than the labels.
	title := text(a.t("setup.title"), textBody, true, fyne.TextAlignLeading, theme.ColorNameForeground)
	title.Wrapping = fyne.TextWrapOff
	s.status = text(" ", textBody, false, fyne.TextAlignLeading, theme.ColorNameError)
	// A portrait screen puts each label over its box, and the buttons under the fields.
	narrow := a.win.Canvas().Size().Width < 1100
	fields := container.NewVBox()
	labels := [setupFields]string{a.t("setup.collector"), a.t("setup.code"), a.t("setup.pin")}
	for f := range setupFields {
		fields.Add(s.fieldRow(f, labels[f], narrow))
	}
	cancel := secondaryButton(a.t("setup.cancel"), a.showNotSetUp)
	check := primaryButton(a.t("setup.check"), s.check)
	check.minSize = fyne.NewSize(300, 80)
	form := container.NewBorder(nil, nil, nil, container.NewVBox(check, cancel), fields)
	if narrow {
		form = container.NewVBox(fields, container.NewBorder(nil, nil, cancel, check))
	}
	kb := newKeyboard(a, keyboardHandler{typed: s.typed, backspace: s.backspace, done: s.next})
	top := container.NewVBox(title, form, s.status)
	return container.New(layout.NewCustomPaddedLayout(8, 8, 24, 24),
		container.NewBorder(top, kb, nil, nil, layout.NewSpacer()))
}

// fieldRow is a field's label and its box; a tap on the box focuses it.
func (s *setupScreen) fieldRow(f setupField, label string, narrow bool) fyne.CanvasObject {
	frame := canvas.NewRectangle(colorBackground)
	frame.StrokeColor = colorBorder
	frame.StrokeWidth = 2
	if f == s.focus {
		frame.StrokeColor = colorPrimary
		frame.StrokeWidth = 4
	}
	frame.CornerRadius = cornerRadius
	frame.SetMinSize(fyne.NewSize(0, touchMin))
	shown := s.values[f]
	if f == setupPIN {
		shown = strings.Repeat("•", utf8.RuneCountInString(shown))
	}
	// A long address shows its end, where the typing is.
	if r := []rune(shown); len(r) > setupFieldShown {
		shown = "…" + string(r[len(r)-setupFieldShown+1:])
	}
	if f == s.focus {
		shown += "|"
	}
	name := text(label, textBody, true, fyne.TextAlignLeading, theme.ColorNameForeground)
	name.Wrapping = fyne.TextWrapOff
	value := text(shown, textBody, false, fyne.TextAlignLeading, theme.ColorNameForeground)
	value.Wrapping = fyne.TextWrapOff
	box := container.NewStack(frame,
		container.New(layout.NewCustomPaddedLayout(4, 4, 12, 12), value),
		newTapArea(fyne.NewSize(0, 0), func() {
			s.touched()
			s.focus = f
			s.redraw()
		}))
	if narrow {
		return container.NewVBox(name, box)
	}
	return container.NewBorder(nil, nil, container.New(layout.NewGridWrapLayout(fyne.NewSize(280, touchMin)), container.NewCenter(name)), nil, box)
}

// redraw shows the form again with the fields' current values, keeping the status.
func (s *setupScreen) redraw() {
	msg := s.status.String()
	s.root.Objects = []fyne.CanvasObject{s.form()}
	s.root.Refresh()
	setText(s.status, msg)
}

func (s *setupScreen) typed(r string) {
	s.touched()
	v := &s.values[s.focus]
	switch s.focus {
	case setupCode:
		r = strings.ToUpper(r)
	case setupPIN:
		if strings.Trim(r, "0123456789") != "" {
			return
		}
	}
	if utf8.RuneCountInString(*v)+utf8.RuneCountInString(r) <= setupFieldLimit {
		*v += r
		s.redraw()
	}
}

func (s *setupScreen) backspace() {
	s.touched()
	v := &s.values[s.focus]
	if _, size := utf8.DecodeLastRuneInString(*v); size > 0 {
		*v = (*v)[:len(*v)-size]
		s.redraw()
	}
}

// next moves to the next field; Done on the last one tests the connection.
func (s *setupScreen) next() {
	s.touched()
	if s.focus == setupPIN {
		s.check()
		return
	}
	s.focus++
	s.redraw()
}

// request is the enrollment the form describes.
func (s *setupScreen) request() (collector string, req wire.EnrollRequest) {
	collector = strings.TrimSpace(s.values[setupCollector])
	req.Code = strings.ToUpper(strings.TrimSpace(s.values[setupCode]))
	req.SetupPIN = strings.TrimSpace(s.values[setupPIN])
	return collector, req
}

// check tests the connection and asks the collector which store the code joins.
func (s *setupScreen) check() {
	a := s.app
	s.touched()
	if s.busy {
		return
	}
	collector, req := s.request()
	switch {
	case !isCollectorURL(collector):
		setText(s.status, a.t("setup.need_collector"))
		return
	case req.Code == "":
		setText(s.status, a.t("setup.need_code"))
		return
	case req.SetupPIN == "" && !strings.HasPrefix(req.Code, wire.EnrollmentKeyPrefix):
		setText(s.status, a.t("setup.need_pin"))
		return
	}
	s.busy = true
	setText(s.status, a.t("setup.checking", "collector", collector))
	screen := a.screen
	a.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		p, err := a.cfg.Setup.Check(ctx, collector, req)
		a.onUI(func() {
			s.busy = false
			if a.screen != screen {
				return
			}
			if err != nil {
				a.log.Warn("setup: connection test failed", "collector", collector, "err", err)
				setText(s.status, a.t("setup.failed", "error", err.Error()))
				return
			}
			a.log.Info("setup: connection test passed", "collector", collector, "store", p.StoreID)
			s.root.Objects = []fyne.CanvasObject{s.confirmation(collector, req, p)}
			s.root.Refresh()
		})
	})
}

// isCollectorURL reports whether s could be a collector's address: http(s) and a host.
func isCollectorURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// confirmation shows the connection test's result and the store the kiosk joins.
func (s *setupScreen) confirmation(collector string, req wire.EnrollRequest, p wire.EnrollPreview) fyne.CanvasObject {
	a := s.app
	connected := a.t("setup.connected_secure", "collector", collector)
	if !strings.HasPrefix(collector, "https://") {
		connected = a.t("setup.connected_plain", "collector", collector)
	}
	device := p.DeviceName
	if device == "" {
		device = a.t("setup.device_unnamed")
	}
	title := text(a.t("setup.connected"), textTitle, true, fyne.TextAlignCenter, theme.ColorNameForeground)
	joins := text(a.t("setup.joins", "store", p.StoreName, "id", p.StoreID), textLarge, true, fyne.TextAlignCenter, theme.ColorNameForeground)
	as := text(a.t("setup.as", "device", device), textBody, false, fyne.TextAlignCenter, theme.ColorNameForeground)
	s.status = text(" ", textBody, false, fyne.TextAlignCenter, theme.ColorNameError)
	back := secondaryButton(a.t("setup.back"), func() {
		s.touched()
		if !s.busy {
			s.redraw()
		}
	})
	confirm := primaryButton(a.t("setup.confirm"), func() { s.enroll(collector, req) })
	confirm.minSize = fyne.NewSize(360, 96)
	back.minSize = fyne.NewSize(240, 96)
	return container.New(layout.NewCustomPaddedLayout(48, 48, 64, 64),
		container.NewVBox(layout.NewSpacer(), title, spacer(16),
			text(connected, textBody, false, fyne.TextAlignCenter, theme.ColorNameForeground), spacer(32),
			joins, as, spacer(32), s.status, container.NewCenter(container.NewHBox(back, confirm)), layout.NewSpacer()))
}

// enroll enrolls the kiosk; once it has, the survey starts.
func (s *setupScreen) enroll(collector string, req wire.EnrollRequest) {
	a := s.app
	s.touched()
	if s.busy {
		return
	}
	s.busy = true
	setText(s.status, a.t("setup.joining"))
	screen := a.screen
	a.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		e, err := a.cfg.Setup.Enroll(ctx, collector, req)
		a.onUI(func() {
			s.busy = false
			if err != nil {
				a.log.Error("setup: enrollment failed", "collector", collector, "err", err)
				if a.screen == screen {
					setText(s.status, a.t("setup.failed", "error", err.Error()))
				}
				return
			}
			a.log.Info("setup: this kiosk is enrolled; the survey starts")
			a.cfg.Sync, a.cfg.CaseContacts = e.Sync, e.CaseContacts
			if s.stop != nil {
				s.stop()
			}
			a.showRating()
		})
	})
}
