package kiosk

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
)

// thanksScreen thanks the shopper for a few seconds, then the rating screen returns.
type thanksScreen struct{ app *App }

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
	return container.NewVBox(layout.NewSpacer(),
		title,
		text(body, textLarge, false, fyne.TextAlignCenter, theme.ColorNameForeground),
		layout.NewSpacer())
}
