package kiosk

import (
	"image"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	qrcode "github.com/skip2/go-qrcode"
)

// qrSide is the thank-you QR code's side: big enough for a phone held a step away.
const qrSide = 280

// thanksScreen thanks the shopper for a few seconds, then the rating screen returns.
// When the survey has a thank-you link it also shows it as a QR code, to tell more on
// a phone.
type thanksScreen struct {
	app *App
	// qrFor and qr cache the last QR code made: the link changes rarely, shoppers often.
	qrFor string
	qr    image.Image
}

func newThanksScreen(a *App) *thanksScreen { return &thanksScreen{app: a} }

func (s *thanksScreen) content() fyne.CanvasObject {
	a := s.app
	body := a.t("thanks.body")
	if t := a.survey.ThankYou[a.lang]; t != "" {
		body = strings.ReplaceAll(t, "{store}", a.survey.StoreName)
	}
	title := canvas.NewText(a.t("thanks.title"), colorPrimary)
	title.TextSize = textHuge
	title.TextStyle.Bold = true
	title.Alignment = fyne.TextAlignCenter
	parts := []fyne.CanvasObject{layout.NewSpacer(), title,
		text(body, textLarge, false, fyne.TextAlignCenter, theme.ColorNameForeground)}
	if img := s.qrCode(a.survey.ThankYouLink); img != nil {
		code := canvas.NewImageFromImage(img)
		code.FillMode = canvas.ImageFillContain
		code.ScaleMode = canvas.ImageScalePixels // crisp modules, no smoothing between them
		code.SetMinSize(fyne.NewSize(qrSide, qrSide))
		parts = append(parts, container.NewCenter(code),
			text(a.t("thanks.qr"), textBody, true, fyne.TextAlignCenter, theme.ColorNameForeground))
	}
	return container.NewVBox(append(parts, layout.NewSpacer())...)
}

// qrCode is the QR code of link, nil when there is none or it cannot be encoded (the
// survey's validation bounds its length, so that means a bug, logged once).
func (s *thanksScreen) qrCode(link string) image.Image {
	if link == "" {
		return nil
	}
	if link != s.qrFor {
		s.qrFor, s.qr = link, nil
		// Medium error correction survives a scratched or smudged screen protector.
		q, err := qrcode.New(link, qrcode.Medium)
		if err != nil {
			s.app.log.Error("thank-you QR code", "link", link, "err", err)
			return nil
		}
		s.qr = q.Image(qrSide)
	}
	return s.qr
}
