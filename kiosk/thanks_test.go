package kiosk

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// The thank-you screen's QR code, read off the rendered screen as a phone would, is the
// survey's thank-you link; without one there is no code.
func TestThankYouQRCodeScans(t *testing.T) {
	const link = "https://nps.example.com/s/abcd2345"
	for _, size := range []struct{ w, h float32 }{{1280, 800}, {800, 1280}} {
		h := newHarness(t, fyne.NewSize(size.w, size.h))
		h.app.survey.ThankYouLink = link
		test.Tap(h.button("9"))
		test.Tap(h.button("Submit"))
		bmp, err := gozxing.NewBinaryBitmapFromImage(h.win.Canvas().Capture())
		if err != nil {
			t.Fatal(err)
		}
		got, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
		if err != nil || got.GetText() != link {
			t.Fatalf("%vx%v: the screen's QR code reads %v, %v; want %s", size.w, size.h, got, err, link)
		}
	}
	h := newHarness(t, landscape)
	test.Tap(h.button("9"))
	test.Tap(h.button("Submit"))
	bmp, _ := gozxing.NewBinaryBitmapFromImage(h.win.Canvas().Capture())
	if got, err := qrcode.NewQRCodeReader().Decode(bmp, nil); err == nil {
		t.Errorf("a QR code without a thank-you link: %q", got.GetText())
	}
}
