package qr

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// Paper is a poster's page size.
type Paper string

// The paper sizes a poster prints on.
const (
	A4     Paper = "A4"     // 210 × 297 mm, most of the world
	Letter Paper = "Letter" // 8.5 × 11 in, North America
)

// Poster is what a printed poster says around its code. The text is printed in the
// PDF's standard Helvetica, whose Windows-1252 glyphs cover English, Spanish, French
// and German; a character outside them prints as a dot.
type Poster struct {
	Paper  Paper
	Title  string // the question, large, above the code
	Call   string // what to do, under the code: "Scan with your phone's camera"
	URL    string // the short link, for those without a camera app
	Footer string // small print at the bottom: the store, where the poster hangs
	// Created is the PDF's creation date (zero: now). A fixed one makes the file the
	// same byte for byte each time.
	Created time.Time
}

// WritePoster writes p as a one-page PDF with code in the middle, drawn as vector
// squares so it prints sharp at any size.
func WritePoster(w io.Writer, code Code, p Poster) error {
	if code.Size() == 0 {
		return errors.New("qr: poster: empty code")
	}
	if p.Paper != A4 && p.Paper != Letter {
		return fmt.Errorf("qr: poster: paper %q is not A4 or Letter", p.Paper)
	}
	pdf := fpdf.New("P", "mm", string(p.Paper), "")
	pdf.SetTitle(p.Title, true)
	pdf.SetCreator("npscollector", true)
	created := p.Created
	if created.IsZero() {
		created = time.Now()
	}
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	pdf.SetCatalogSort(true) // fonts in a fixed order: the same poster is the same file
	pdf.SetAutoPageBreak(false, 0)
	const margin = 18.0
	pdf.SetMargins(margin, margin, margin)
	pdf.AddPage()
	tr := pdf.UnicodeTranslatorFromDescriptor("") // Windows-1252, embedded in fpdf
	pageW, pageH := pdf.GetPageSize()
	textW := pageW - 2*margin

	// A band of colour across the top, so the poster reads as a poster from afar.
	pdf.SetFillColor(13, 59, 142)
	pdf.Rect(0, 0, pageW, 10, "F")

	pdf.SetTextColor(20, 24, 33)
	pdf.SetFont("Helvetica", "B", 26)
	const titleLine = 11.5
	lines := wrap(pdf, tr(p.Title), textW)
	if len(lines) > 5 { // a question that long would push the code off the page
		lines = lines[:5]
	}
	y := 24.0
	for _, l := range lines {
		pdf.SetXY(margin, y)
		pdf.CellFormat(textW, titleLine, l, "", 0, "C", false, 0, "")
		y += titleLine
	}

	// The code takes what is left above the call, the URL and the footer.
	below := 52.0
	side := math.Min(140, math.Min(textW, pageH-y-10-below))
	module := side / float64(code.Size())
	x0, y0 := (pageW-side)/2, y+8
	pdf.SetFillColor(0, 0, 0)
	code.runs(func(row, col, n int) {
		pdf.Rect(x0+float64(col)*module, y0+float64(row)*module, float64(n)*module, module, "F")
	})
	y = y0 + side + 6

	pdf.SetFont("Helvetica", "", 18)
	pdf.SetXY(margin, y)
	pdf.MultiCell(textW, 8, tr(p.Call), "", "C", false)
	y = pdf.GetY() + 3
	pdf.SetFont("Courier", "B", 17)
	pdf.SetXY(margin, y)
	pdf.MultiCell(textW, 8, tr(p.URL), "", "C", false)

	if p.Footer != "" {
		pdf.SetFont("Helvetica", "", 10)
		pdf.SetTextColor(80, 86, 99)
		pdf.SetXY(margin, pageH-margin-5)
		pdf.CellFormat(textW, 5, tr(p.Footer), "", 0, "C", false, 0, "")
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("qr: poster: %w", err)
	}
	return nil
}

// wrap breaks text (already in the font's code page) into lines no wider than width at
// the current font, between words; a word wider than a line stands alone.
func wrap(pdf *fpdf.Fpdf, text string, width float64) []string {
	var (
		lines []string
		line  string
	)
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case pdf.GetStringWidth(line+" "+word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
