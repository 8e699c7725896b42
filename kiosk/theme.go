package kiosk

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Colours: dark text on white, one strong blue for actions. NPS categories use blue,
// grey and orange (distinguishable with the common colour-vision deficiencies) and are
// always labelled in words as well.
var (
	colorBackground = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	colorText       = color.NRGBA{0x11, 0x11, 0x11, 0xff}
	colorMuted      = color.NRGBA{0x4a, 0x4f, 0x57, 0xff}
	colorPrimary    = color.NRGBA{0x0b, 0x3d, 0x91, 0xff}
	colorOnPrimary  = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	colorSecondary  = color.NRGBA{0xe6, 0xe9, 0xef, 0xff}
	colorBorder     = color.NRGBA{0x5f, 0x66, 0x70, 0xff}
	colorError      = color.NRGBA{0xa8, 0x1c, 0x1c, 0xff}
	colorPromoter   = color.NRGBA{0x1f, 0x6f, 0xd1, 0xff}
	colorPassive    = color.NRGBA{0xa7, 0xad, 0xb5, 0xff}
	colorDetractor  = color.NRGBA{0xe0, 0x6c, 0x00, 0xff}
	colorOverlay    = color.NRGBA{0x00, 0x00, 0x00, 0xb0}
)

// Text sizes, in Fyne units (one unit is a pixel at scale 1). A shopper reads the
// question from a step away; buttons are at least touchMin tall.
const (
	textCaption  = 18 // the smallest text: chart axes
	textBody     = 24
	textLarge    = 32
	textTitle    = 40
	textScore    = 44
	textHuge     = 64
	touchMin     = 64
	gap          = 16
	cornerRadius = 10
)

// Theme is the kiosk's light, high-contrast theme with larger text.
type Theme struct{}

var _ fyne.Theme = Theme{}

// Color implements fyne.Theme.
func (Theme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	switch n {
	case theme.ColorNameBackground, theme.ColorNameInputBackground, theme.ColorNameOverlayBackground,
		theme.ColorNameMenuBackground:
		return colorBackground
	case theme.ColorNameForeground:
		return colorText
	case theme.ColorNamePrimary, theme.ColorNameFocus, theme.ColorNameHyperlink:
		return colorPrimary
	case theme.ColorNameForegroundOnPrimary:
		return colorOnPrimary
	case theme.ColorNameButton:
		return colorSecondary
	case theme.ColorNameSeparator, theme.ColorNameInputBorder:
		return colorBorder
	case theme.ColorNameError:
		return colorError
	case theme.ColorNamePlaceHolder, theme.ColorNameDisabled:
		return colorMuted
	}
	return theme.DefaultTheme().Color(n, theme.VariantLight)
}

// Font implements fyne.Theme.
func (Theme) Font(s fyne.TextStyle) fyne.Resource { return theme.DefaultTheme().Font(s) }

// Icon implements fyne.Theme.
func (Theme) Icon(n fyne.ThemeIconName) fyne.Resource { return theme.DefaultTheme().Icon(n) }

// Size implements fyne.Theme.
func (Theme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNameCaptionText:
		return textCaption
	case theme.SizeNameText:
		return textBody
	case theme.SizeNameHeadingText:
		return textTitle
	case theme.SizeNameSubHeadingText:
		return textLarge
	case theme.SizeNamePadding:
		return 8
	case theme.SizeNameInnerPadding:
		return 12
	case theme.SizeNameScrollBar:
		return 16
	}
	return theme.DefaultTheme().Size(n)
}
