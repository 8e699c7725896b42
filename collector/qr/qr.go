// Package qr draws printable QR codes for survey links: the code as a PNG and an SVG
// image, and an A4 or Letter poster (PDF) with the code, a question and the short URL.
// It knows nothing of links, stores or languages: callers pass the text to print.
package qr

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"

	"github.com/skip2/go-qrcode"
)

// QuietZone is the blank margin around a code, in modules, that scanners need.
const QuietZone = 4

// MaxText bounds what a code may carry: a survey link is short, and a long text makes a
// dense code that cheap phone cameras misread off paper.
const MaxText = 512

// Code is an encoded QR code, its quiet zone included.
type Code struct {
	modules [][]bool // [y][x], true is dark
}

// Encode makes the QR code of text with high error correction (about 30 % of the code
// may be smudged or covered), for codes that live on paper.
func Encode(text string) (Code, error) {
	if text == "" || len(text) > MaxText {
		return Code{}, fmt.Errorf("qr: the text must be 1 to %d bytes, got %d", MaxText, len(text))
	}
	q, err := qrcode.New(text, qrcode.High)
	if err != nil {
		return Code{}, fmt.Errorf("qr: %w", err)
	}
	q.DisableBorder = true
	inner := q.Bitmap()
	n := len(inner) + 2*QuietZone
	modules := make([][]bool, n)
	for y := range modules {
		modules[y] = make([]bool, n)
		if i := y - QuietZone; i >= 0 && i < len(inner) {
			copy(modules[y][QuietZone:], inner[i])
		}
	}
	return Code{modules: modules}, nil
}

// Size is the code's width and height in modules, its quiet zone included.
func (c Code) Size() int { return len(c.modules) }

// Dark reports whether the module at column x, row y is dark.
func (c Code) Dark(x, y int) bool {
	return y >= 0 && y < len(c.modules) && x >= 0 && x < len(c.modules[y]) && c.modules[y][x]
}

// runs calls f for each horizontal run of dark modules: its row, first column and length.
// Drawing runs rather than single modules keeps SVG and PDF files small, and leaves no
// hairline gaps between neighbours when a viewer anti-aliases.
func (c Code) runs(f func(y, x, n int)) {
	for y, row := range c.modules {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			f(y, start, x-start)
		}
	}
}

// Image returns the code with scale pixels a module, black on white.
func (c Code) Image(scale int) (image.Image, error) {
	if c.Size() == 0 {
		return nil, errors.New("qr: empty code")
	}
	if scale < 1 || scale*c.Size() > 8000 {
		return nil, fmt.Errorf("qr: scale %d gives no usable image", scale)
	}
	px := c.Size() * scale
	img := image.NewPaletted(image.Rect(0, 0, px, px), color.Palette{color.White, color.Black})
	c.runs(func(y, x, n int) {
		for py := y * scale; py < (y+1)*scale; py++ {
			row := img.Pix[py*img.Stride:]
			for px := x * scale; px < (x+n)*scale; px++ {
				row[px] = 1
			}
		}
	})
	return img, nil
}

// PNG writes the code as a PNG image with scale pixels a module.
func (c Code) PNG(w io.Writer, scale int) error {
	img, err := c.Image(scale)
	if err != nil {
		return err
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("qr: write PNG: %w", err)
	}
	return nil
}

// SVG writes the code as an SVG image of one path, one unit a module, drawn sizeMM
// millimetres wide when printed as it is; it scales without loss.
func (c Code) SVG(w io.Writer, sizeMM float64) error {
	if c.Size() == 0 {
		return errors.New("qr: empty code")
	}
	var b strings.Builder
	n := c.Size()
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%gmm" height="%gmm" viewBox="0 0 %d %d" shape-rendering="crispEdges">`+"\n", sizeMM, sizeMM, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", n, n)
	b.WriteString(`<path fill="#000" d="`)
	c.runs(func(y, x, n int) { fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, n, n) })
	b.WriteString("\"/>\n</svg>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("qr: write SVG: %w", err)
	}
	return nil
}
