package kiosk

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

func absolute(o fyne.CanvasObject) fyne.Position {
	return fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
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
			test.Tap(h.button("Exit kiosk"))
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
				h.requireShowing("Store dashboard")
				test.Tap(h.button("Lock")) // the dashboard works again
				h.requireShowing("How likely are you")
			}
		})
	}
}
