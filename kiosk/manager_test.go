package kiosk

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/simulate"
)

var phone = fyne.NewSize(390, 844)

// openManager fills the store with a month of responses and opens the dashboard at
// size. The rating and PIN screens are wider than a phone, so a phone-sized dashboard
// is drawn again once the window has that size.
func openManager(t *testing.T, size fyne.Size, onExit func()) *harness {
	t.Helper()
	h := newHarness(t, size)
	survey, _ := assets.DefaultSurvey()
	for _, r := range simulate.Responses(rand.New(rand.NewPCG(7, 7)), 300, 30, testNow, survey) {
		if err := h.db.Insert(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if onExit != nil {
		h.app.cfg.OnExit = onExit
	}
	openPIN(h)
	enterPIN(h, "2468")
	h.requireShowing("Store dashboard")
	if h.win.Canvas().Size() != size {
		h.win.Resize(size)
		h.app.showManager()
	}
	if got := h.win.Canvas().Size(); got != size {
		t.Fatalf("the dashboard needs %v, more than the %v window", got, size)
	}
	return h
}

func absolute(o fyne.CanvasObject) fyne.Position {
	return fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
}

func TestManagerHeaderStaysClearOfTheScrolledDashboard(t *testing.T) {
	for _, size := range []fyne.Size{landscape, fyne.NewSize(800, 1280), phone} {
		t.Run(sizeString(size), func(t *testing.T) {
			h := openManager(t, size, nil)
			var scroll *container.Scroll
			var title *widget.RichText
			for _, o := range objects(h.win.Content()) {
				switch v := o.(type) {
				case *container.Scroll:
					scroll = v
				case *widget.RichText:
					if title == nil && v.String() == "Store dashboard · Main Street" {
						title = v
					}
				}
			}
			if scroll == nil || title == nil {
				t.Fatalf("no scroll or no title on screen: %q", h.texts())
			}
			for _, offset := range []float32{0, 300, 10000} {
				scroll.ScrollToOffset(fyne.NewPos(0, offset))
				top := absolute(scroll).Y
				if scroll.Offset.Y == 0 && offset > 0 {
					t.Fatalf("the dashboard did not scroll")
				}
				// Every line of the title, and both buttons, lie wholly above the
				// scrolled content and inside the window.
				var header []fyne.CanvasObject
				for _, o := range test.WidgetRenderer(title).Objects() {
					if line, ok := o.(*canvas.Text); ok {
						header = append(header, line)
						if line.Position().Y+line.Size().Height > title.Size().Height {
							t.Errorf("title line %q overflows its %v box", line.Text, title.Size())
						}
					}
				}
				header = append(header, h.button("Lock"), h.button("Exit kiosk"))
				for _, o := range header {
					pos := absolute(o)
					if !o.Visible() || pos.Y < 0 || pos.Y+o.Size().Height > top ||
						pos.X < 0 || pos.X+o.Size().Width > size.Width {
						t.Errorf("offset %v: header object %T at %v size %v is not clear of the scroll at y=%v in %v",
							offset, o, pos, o.Size(), top, size)
					}
				}
			}
		})
	}
}

func TestExitKioskAsksFirst(t *testing.T) {
	tests := []struct {
		name      string
		language  string // the shopper's language the PIN pad was opened in
		size      fyne.Size
		question  string
		tap       string
		wantExits int
	}{
		{"cancel keeps the kiosk", "", landscape, "Leave kiosk mode?", "Cancel", 0},
		{"confirm exits", "", landscape, "Leave kiosk mode?", "Yes, exit", 1},
		{"confirm on a phone", "", phone, "Leave kiosk mode?", "Yes, exit", 1},
		{"cancel in German", "Deutsch", fyne.NewSize(800, 1280), "Kioskmodus beenden?", "Abbrechen", 0},
		{"confirm in German", "Deutsch", fyne.NewSize(800, 1280), "Kioskmodus beenden?", "Ja, beenden", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exits := 0
			h := newHarness(t, tt.size)
			h.app.cfg.OnExit = func() { exits++ }
			if tt.language != "" {
				test.Tap(h.button(tt.language))
			}
			openPIN(h)
			enterPIN(h, "2468")
			if h.win.Canvas().Size() != tt.size {
				h.win.Resize(tt.size)
				h.app.showManager()
			}
			test.Tap(h.button(h.app.t("manager.exit")))
			h.requireShowing(tt.question)
			if exits != 0 {
				t.Fatal("Exit kiosk left without asking")
			}
			b := h.button(tt.tap)
			if b.Size().Height < touchMin || b.Size().Width < 3*touchMin {
				t.Errorf("%q is %v, not a big touch target", tt.tap, b.Size())
			}
			if pos := absolute(b); pos.X < 0 || pos.X+b.Size().Width > tt.size.Width {
				t.Errorf("%q at %v does not fit the %v window", tt.tap, pos, tt.size)
			}
			test.Tap(b)
			if exits != tt.wantExits {
				t.Errorf("OnExit called %d times, want %d", exits, tt.wantExits)
			}
			if h.showing(tt.question) {
				t.Error("the question is still showing")
			}
			if tt.wantExits == 0 {
				h.requireShowing(h.app.t("manager.title"))
				test.Tap(h.button(h.app.t("manager.lock"))) // the dashboard works again
				h.requireShowing("How likely are you")
			}
		})
	}
}

func TestChartLabelsAreReadableAndApart(t *testing.T) {
	minText := max(float32(14), Theme{}.Size(theme.SizeNameCaptionText))
	for _, size := range []fyne.Size{landscape, fyne.NewSize(800, 1280), phone} {
		t.Run(sizeString(size), func(t *testing.T) {
			h := openManager(t, size, nil)
			var chart *trendChart
			for _, o := range objects(h.win.Content()) {
				if c, ok := o.(*trendChart); ok {
					chart = c
				}
			}
			if chart == nil {
				t.Fatal("no trend chart on screen")
			}
			r := test.WidgetRenderer(chart).(*chartRenderer)
			check := func(kind string, labels []*canvas.Text) (shown []*canvas.Text) {
				for _, l := range labels {
					if !l.Visible() {
						continue
					}
					shown = append(shown, l)
					if l.TextSize < minText || l.MinSize().Height < minText {
						t.Errorf("%s label %q is %v px (%v tall), want at least %v", kind, l.Text, l.TextSize, l.MinSize().Height, minText)
					}
					// The whole text, as drawn, lies inside the chart.
					x0 := l.Position().X
					switch l.Alignment {
					case fyne.TextAlignTrailing:
						x0 += l.Size().Width - l.MinSize().Width
					case fyne.TextAlignCenter:
						x0 += (l.Size().Width - l.MinSize().Width) / 2
					}
					if x0 < 0 || x0+l.MinSize().Width > chart.Size().Width || l.Position().Y+l.MinSize().Height > chart.Size().Height {
						t.Errorf("%s label %q at %v (%v) leaves the %v chart", kind, l.Text, l.Position(), l.MinSize(), chart.Size())
					}
				}
				return shown
			}
			ys := check("y", r.yLabels)
			for i := 1; i < len(ys); i++ {
				if ys[i].Position().Y < ys[i-1].Position().Y+ys[i-1].MinSize().Height {
					t.Errorf("y labels %q and %q overlap", ys[i-1].Text, ys[i].Text)
				}
			}
			xs := check("x", r.xLabels)
			if len(xs) < 2 {
				t.Errorf("%d day labels shown, want at least 2", len(xs))
			}
			if last := r.xLabels[len(r.xLabels)-1]; !last.Visible() {
				t.Errorf("today (%q) is not labelled", last.Text)
			}
			for i := 1; i < len(xs); i++ { // xs runs left to right
				if xs[i].Position().X < xs[i-1].Position().X+xs[i-1].MinSize().Width+8 {
					t.Errorf("day labels %q and %q touch at %v", xs[i-1].Text, xs[i].Text, size)
				}
			}
		})
	}
}

type stubSync struct{ st SyncStatus }

func (s stubSync) Status() SyncStatus { return s.st }
func (stubSync) SyncNow()             {}

// TestManagerShowsTLSProblemsAndPlainHTTP: the sync line names a certificate problem,
// and says so when answers travel over plain HTTP (allow_insecure_http).
func TestManagerShowsTLSProblemsAndPlainHTTP(t *testing.T) {
	h := newHarness(t, landscape)
	h.app.cfg.Sync = stubSync{SyncStatus{Enrolled: true, InsecureHTTP: true,
		LastError: "cannot reach the collector at https://collector.test: TLS: certificate pin mismatch: the collector's key is none of the configured pins (check pins in the config)"}}
	openPIN(h)
	enterPIN(h, "2468")
	h.requireShowing("Sync: Offline")
	h.requireShowing("certificate pin mismatch")
	h.requireShowing("Not encrypted: allow_insecure_http")
}

// The manager view fits a landscape kiosk and a phone in every language, empty and with
// the channel figures: a longer translation must wrap, not widen the window.
func TestManagerFitsInEveryLanguage(t *testing.T) {
	for _, lang := range []string{"English", "Español", "Français", "Deutsch"} {
		for _, size := range []fyne.Size{landscape, phone} {
			for _, figures := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s %v figures %v", lang, size, figures), func(t *testing.T) {
					h := newHarness(t, size)
					if figures {
						if err := h.db.ReplaceChannelFigures(context.Background(), storeFigures); err != nil {
							t.Fatal(err)
						}
					}
					test.Tap(h.button(lang))
					openPIN(h)
					enterPIN(h, "2468")
					if h.win.Canvas().Size() != size {
						h.win.Resize(size) // the PIN pad is wider than a phone
						h.app.showManager()
					}
					h.requireShowing(h.app.t("manager.title"))
					if got := h.win.Canvas().Size(); got != size {
						t.Fatalf("the dashboard needs %v, more than the %v window", got, size)
					}
				})
			}
		}
	}
}
