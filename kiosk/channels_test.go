package kiosk

import (
	"context"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/npskiosk/npskiosk/store"
)

// storeFigures is what the collector sent for the store: its kiosks, QR codes at the
// checkout and a link of its own label.
var storeFigures = store.ChannelFigures{From: "2026-10-22", To: "2026-11-20", AsOf: time.Date(2026, 11, 20, 14, 5, 0, 0, time.UTC),
	Channels: []store.ChannelTally{
		{Channel: "kiosk", Promoters: 120, Passives: 60, Detractors: 40}, // +36 ± 10, n 220
		{Channel: "qr", Promoters: 10, Passives: 12, Detractors: 18},     // −20 ± 25, n 40
		{Channel: "sms", Promoters: 3, Passives: 1, Detractors: 0},       // +75 ± 42, n 4
		{Channel: "email"}, // no answers: no line
	}}

// The manager view shows the store's NPS per channel, as HQ last counted it, when the
// store has answers from other channels than its kiosks; with kiosk figures only, or none
// yet, it shows no such table. The figures are read from the kiosk's store, so they show
// with no collector in reach.
func TestManagerShowsTheStoresChannels(t *testing.T) {
	kioskOnly := store.ChannelFigures{AsOf: storeFigures.AsOf, Channels: storeFigures.Channels[:1]}
	tests := []struct {
		name    string
		figures *store.ChannelFigures
		lang    string
		want    []string // texts shown in this order, nothing between them but the table's
	}{
		{"other channels", &storeFigures, "", []string{"By channel, last 30 days (the whole store)",
			"Channel", "NPS", "n",
			"Kiosks", "+36 ± 10", "220",
			"QR code", "-20 ± 25", "40",
			"sms", "+75 ± 42", "4",
			"As counted at HQ on 2026-11-20 14:05"}},
		{"in German", &storeFigures, "Deutsch", []string{"Nach Kanal, letzte 30 Tage (der ganze Markt)",
			"Kanal", "NPS", "n", "Kioske", "+36 ± 10", "220", "QR-Code", "-20 ± 25", "40"}},
		{"on a phone", &storeFigures, "phone", []string{"By channel, last 30 days (the whole store)",
			"Kiosks", "NPS +36 ± 10 · 220 responses", "QR code", "NPS -20 ± 25 · 40 responses", "sms", "NPS +75 ± 42 · 4 responses",
			"As counted at HQ on 2026-11-20 14:05"}},
		{"kiosks only", &kioskOnly, "", nil},
		{"nothing from HQ yet", nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := landscape
			if tt.lang == "phone" {
				size, tt.lang = phone, ""
			}
			h := newHarness(t, size)
			if tt.figures != nil {
				if err := h.db.ReplaceChannelFigures(context.Background(), *tt.figures); err != nil {
					t.Fatal(err)
				}
			}
			if tt.lang != "" {
				test.Tap(h.button(tt.lang))
			}
			openPIN(h)
			enterPIN(h, "2468")
			if h.win.Canvas().Size() != size {
				h.win.Resize(size) // the PIN pad is wider than a phone
				h.app.showManager()
			}
			if got := h.win.Canvas().Size(); got != size {
				t.Fatalf("the dashboard needs %v, more than the %v window", got, size)
			}
			var texts []string // each text once, as written, however it wraps on screen
			for _, o := range objects(h.win.Content()) {
				if rt, ok := o.(*widget.RichText); ok {
					texts = append(texts, rt.String())
				}
			}
			if tt.want == nil {
				for _, heading := range []string{"By channel, last 30 days (the whole store)", "QR code"} {
					if slices.Contains(texts, heading) {
						t.Errorf("the dashboard shows %q with %s", heading, tt.name)
					}
				}
				return
			}
			i := slices.Index(texts, tt.want[0])
			if i < 0 || len(texts) < i+len(tt.want) || !slices.Equal(texts[i:i+len(tt.want)], tt.want) {
				t.Errorf("the dashboard shows\n%q\nwant\n%q", texts[max(i, 0):min(len(texts), max(i, 0)+len(tt.want))], tt.want)
			}
		})
	}
}

// The manager view with the store's channels matches its golden markup, on a tablet
// held either way.
func TestManagerChannelsMatchGoldenMarkup(t *testing.T) {
	for _, size := range []fyne.Size{landscape, fyne.NewSize(800, 1280)} {
		t.Run(sizeString(size), func(t *testing.T) {
			h := newHarness(t, size)
			if err := h.db.ReplaceChannelFigures(context.Background(), storeFigures); err != nil {
				t.Fatal(err)
			}
			openPIN(h)
			enterPIN(h, "2468")
			test.AssertRendersToMarkup(t, "manager_channels_"+sizeString(size)+".xml", h.win.Canvas())
		})
	}
}
