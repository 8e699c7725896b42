package kiosk

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
)

// themedAnswers fills the store with 85 answers of the last hour (detractors 40, passives
// 10, promoters 35: NPS −6), enough for two themes to be ranked with the default minimum
// of 30 answers:
//
//	40 × 2   "The queue was far too long"  wait_time
//	30 × 10  "Lovely staff"                staff
//	10 × 8   no comment
//	 5 × 9   "Good deals"                  price: 5 < 30, few answers
//
//	wait_time  impact 40/85 = 47.1 % ± 1.96·√(0.4706·0.5294/85) = ± 10.6
//	           with −100 (unanimous, ± 0), without P35 p10 (n 45) +77.8 ± 12.2:
//	           Δ −177.8 ± 12.2, a real difference
//	staff      impact 0/85 = 0 ± 0 (no detractor mentions it)
//	           with +100 (± 0), without P5 p10 D40 (n 55) −63.6 ± 17.0:
//	           Δ +163.6 ± 17.0, a real difference
func themedAnswers(t *testing.T, h *harness) {
	t.Helper()
	groups := []struct {
		n       int
		score   int
		comment string
	}{{40, 2, "The queue was far too long"}, {30, 10, "Lovely staff"}, {10, 8, ""}, {5, 9, "Good deals"}}
	i := 0
	for _, g := range groups {
		for range g.n {
			i++
			at := testNow.Add(-time.Duration(i) * 30 * time.Second)
			r := store.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: g.score, Comment: g.comment, Locale: "en",
				SurveyVersion: 1, CreatedAt: at, CompletedAt: at.Add(10 * time.Second), Outcome: response.OutcomeSubmitted}
			if err := h.db.Insert(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// openDashboard unlocks the manager view in the language whose button is lang ("" for
// the default).
func openDashboard(h *harness, lang string) {
	if lang != "" {
		test.Tap(h.button(lang))
	}
	openPIN(h)
	enterPIN(h, "2468")
	h.requireShowing(h.app.t("manager.title"))
}

// textsInOrder is every text on screen once, as written, however it wraps.
func textsInOrder(h *harness) []string {
	var texts []string
	for _, o := range objects(h.win.Content()) {
		if rt, ok := o.(*widget.RichText); ok {
			texts = append(texts, rt.String())
		}
	}
	return texts
}

// The manager view shows the store's top themes by impact, each with how many mention it,
// the points it would give back if fixed and whether it makes a real difference, in the
// manager's language; the themes with too few answers after them, unranked; and a plain
// sentence when no comment names a theme yet.
func TestManagerShowsTopThemes(t *testing.T) {
	tests := []struct {
		name   string
		data   bool
		lang   string
		thread bool // compute on a real goroutine, as the kiosk does
		want   []string
	}{
		{"ranked", true, "", false, []string{"Top themes (30 days)",
			"1. Waiting time",
			"+47 NPS if fixed ± 11 · 40 mention it\nWith it vs without: -178 NPS ± 12 · a real difference",
			"2. Staff",
			"+0 NPS if fixed ± 0 · 30 mention it\nWith it vs without: +164 NPS ± 17 · a real difference",
			"Few answers (under 30), not ranked: Prices (5)",
			"“If fixed”: the NPS points this kiosk would gain if the theme's detractors had been passives. From this kiosk's own answers; the chain's figures are not used."}},
		{"in German", true, "Deutsch", false, []string{"Top-Themen (30 Tage)",
			"1. Wartezeit",
			"+47 NPS, wenn behoben ± 11 · 40 nennen es\nMit vs. ohne: -178 NPS ± 12 · ein echter Unterschied",
			"2. Personal",
			"+0 NPS, wenn behoben ± 0 · 30 nennen es\nMit vs. ohne: +164 NPS ± 17 · ein echter Unterschied",
			"Wenige Antworten (unter 30), ohne Rang: Preise (5)"}},
		{"counted off the UI goroutine", true, "", true, []string{"Top themes (30 days)", "1. Waiting time"}},
		{"no themes yet", false, "", false, []string{"Top themes (30 days)",
			"No themes yet: no comment or reason of the last 30 days names one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, landscape)
			if tt.data {
				themedAnswers(t, h)
			}
			// Threaded, the count runs on its own goroutine and hands the drawing to a
			// queue this test drains, as the Fyne driver's main loop does.
			ui := make(chan func(), 1)
			if tt.thread {
				h.app.background = func(f func()) { go f() }
				h.app.onUI = func(f func()) { ui <- f }
			}
			openDashboard(h, tt.lang)
			if tt.thread {
				h.requireShowing("Reading the comments…")
				select {
				case f := <-ui:
					f()
				case <-time.After(10 * time.Second):
					t.Fatal("the themes were never counted")
				}
			}
			texts := textsInOrder(h)
			i := slices.Index(texts, tt.want[0])
			if i < 0 || len(texts) < i+len(tt.want) || !slices.Equal(texts[i:i+len(tt.want)], tt.want) {
				t.Errorf("the dashboard shows\n%q\nwant\n%q", texts[max(i, 0):min(len(texts), max(i, 0)+len(tt.want))], tt.want)
			}
		})
	}
}

// TestManagerThemesScreenshot saves the dashboard, scrolled to its themes, as a PNG in
// the folder NPSKIOSK_SCREENSHOTS names, for a person to look at; without it, it skips.
func TestManagerThemesScreenshot(t *testing.T) {
	dir := os.Getenv("NPSKIOSK_SCREENSHOTS")
	if dir == "" {
		t.Skip("NPSKIOSK_SCREENSHOTS is not set")
	}
	for _, size := range []fyne.Size{landscape, fyne.NewSize(800, 1280)} {
		h := newHarness(t, size)
		themedAnswers(t, h)
		openDashboard(h, "")
		var scroll *container.Scroll
		var heading *widget.RichText
		for _, o := range objects(h.win.Content()) {
			switch v := o.(type) {
			case *container.Scroll:
				scroll = v
			case *widget.RichText:
				if v.String() == "Top themes (30 days)" {
					heading = v
				}
			}
		}
		if scroll == nil || heading == nil {
			t.Fatal("no scroll or no themes heading")
		}
		scroll.ScrollToOffset(fyne.NewPos(0, absolute(heading).Y-absolute(scroll).Y-24))
		path := filepath.Join(dir, "manager_themes_"+sizeString(size)+".png")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, h.win.Canvas().Capture()); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		t.Log("saved", path)
	}
}
