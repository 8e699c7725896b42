package kiosk

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
)

// keyboardHandler receives what the on-screen keyboard types.
type keyboardHandler struct {
	typed     func(s string)
	backspace func()
	done      func()
}

// keyLayouts are the letter rows per language; a language not listed uses "en".
var keyLayouts = map[string][]string{
	"en": {"qwertyuiop", "asdfghjkl", "zxcvbnm"},
	"es": {"qwertyuiop", "asdfghjklñ", "zxcvbnm"},
	"fr": {"azertyuiop", "qsdfghjklm", "wxcvbn"},
	"de": {"qwertzuiopü", "asdfghjklöä", "yxcvbnmß"},
}

// accentRows hold the accented letters a language needs beyond its letter rows.
var accentRows = map[string]string{
	"es": "áéíóúü¿¡",
	"fr": "éèêëàâçùûôîïœ",
	"de": "",
	"en": "",
}

const (
	keyDigits  = "1234567890"
	keySymbols = "@.,-_'!?+:/"

	keyMinWidth = 60
)

// keyboard is the on-screen keyboard built into the app: full-screen kiosks on Linux
// have no usable system keyboard.
type keyboard struct {
	app     *App
	handler keyboardHandler
	shift   bool
	letters []*button
	box     *fyne.Container
}

func newKeyboard(a *App, h keyboardHandler) fyne.CanvasObject {
	k := &keyboard{app: a, handler: h}
	rows := []string{keyDigits}
	layout, ok := keyLayouts[a.lang]
	if !ok {
		layout = keyLayouts["en"]
	}
	rows = append(rows, layout...)
	if acc := accentRows[a.lang]; acc != "" {
		rows = append(rows, acc)
	}
	rows = append(rows, keySymbols)

	k.box = container.NewVBox()
	for _, row := range rows {
		var keys []fyne.CanvasObject
		for _, r := range row {
			key := string(r)
			b := newButton(key, textLarge, colorSecondary, colorText, nil)
			b.border = colorBorder
			// Eleven keys a row must fit a portrait screen 800 px wide; keys keep the
			// full touch height.
			b.minSize = fyne.NewSize(keyMinWidth, touchMin)
			b.onTap = func() { k.handler.typed(b.text) }
			if strings.ToUpper(key) != key {
				k.letters = append(k.letters, b)
			}
			keys = append(keys, b)
		}
		k.box.Add(container.NewGridWithColumns(len(keys), keys...))
	}
	shift := newButton(a.t("keyboard.shift"), textBody, colorSecondary, colorText, k.toggleShift)
	shift.border = colorBorder
	shift.minSize = fyne.NewSize(140, touchMin)
	space := newButton(a.t("keyboard.space"), textBody, colorSecondary, colorText, func() { k.handler.typed(" ") })
	space.border = colorBorder
	back := newButton(a.t("keyboard.delete"), textBody, colorSecondary, colorText, k.handler.backspace)
	back.border = colorBorder
	back.minSize = fyne.NewSize(140, touchMin)
	done := primaryButton(a.t("keyboard.done"), k.handler.done)
	done.minSize = fyne.NewSize(180, touchMin)
	k.box.Add(container.NewBorder(nil, nil, shift, container.NewHBox(back, done), space))
	return k.box
}

func (k *keyboard) toggleShift() {
	k.shift = !k.shift
	for _, b := range k.letters {
		if k.shift {
			b.SetText(strings.ToUpper(b.text))
		} else {
			b.SetText(strings.ToLower(b.text))
		}
	}
}
