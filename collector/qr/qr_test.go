package qr

import (
	"bytes"
	"image"
	"image/png"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

const link = "https://nps.example.com/s/7hk3m9pq"

// decode reads a QR code off an image as a phone would.
func decode(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the code does not scan: %v", err)
	}
	return res.GetText()
}

func TestPNGScansBackToTheLink(t *testing.T) {
	c, err := Encode(link)
	if err != nil {
		t.Fatal(err)
	}
	if c.Dark(0, 0) || !c.Dark(QuietZone, QuietZone) {
		t.Error("no quiet zone, or no finder pattern where one belongs")
	}
	var buf bytes.Buffer
	if err := c.PNG(&buf, 8); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("the PNG does not decode: %v", err)
	}
	if got := img.Bounds().Dx(); got != c.Size()*8 {
		t.Errorf("width %d px, want %d", got, c.Size()*8)
	}
	if got := decode(t, img); got != link {
		t.Errorf("scanned %q, want %q", got, link)
	}
}

func TestSVGDrawsTheSameModules(t *testing.T) {
	c, _ := Encode(link)
	var buf bytes.Buffer
	if err := c.SVG(&buf, 50); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	if !strings.HasPrefix(svg, `<svg xmlns="http://www.w3.org/2000/svg" width="50mm"`) {
		t.Errorf("SVG starts %q", svg[:min(80, len(svg))])
	}
	// Paint the path's runs back into a bitmap and compare module by module.
	n := c.Size()
	got := make([][]bool, n)
	for y := range got {
		got[y] = make([]bool, n)
	}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-\d+z`).FindAllStringSubmatch(svg, -1) {
		var x, y, w int
		for i, p := range []*int{&x, &y, &w} {
			for _, d := range m[i+1] {
				*p = *p*10 + int(d-'0')
			}
		}
		for i := range w {
			got[y][x+i] = true
		}
	}
	for y := range n {
		for x := range n {
			if got[y][x] != c.Dark(x, y) {
				t.Fatalf("module %d,%d differs between the SVG and the code", x, y)
			}
		}
	}
}

func TestPoster(t *testing.T) {
	c, _ := Encode(link)
	created := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, paper := range []Paper{A4, Letter} {
		var a, b bytes.Buffer
		p := Poster{Paper: paper, Title: "¿Qué probabilidad hay de que recomiende Main Street a un amigo o familiar?",
			Call: "Escanee con la cámara de su teléfono", URL: link, Footer: "Main Street · Caja", Created: created}
		if err := WritePoster(&a, c, p); err != nil {
			t.Fatal(err)
		}
		WritePoster(&b, c, p)
		pdf := a.String()
		if !strings.HasPrefix(pdf, "%PDF-") || a.Len() < 3000 {
			t.Errorf("%s: not a PDF with content (%d bytes)", paper, a.Len())
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: the same poster twice differs", paper)
		}
		box := map[Paper]string{A4: "595.28 841.89", Letter: "612.00 792.00"}[paper]
		if !strings.Contains(pdf, "/MediaBox [0 0 "+box+"]") {
			t.Errorf("%s: page size is not %s pt", paper, box)
		}
	}
}

func TestRefusesWhatCannotPrint(t *testing.T) {
	if _, err := Encode(""); err == nil {
		t.Error("an empty text encoded")
	}
	if _, err := Encode(strings.Repeat("x", MaxText+1)); err == nil {
		t.Error("an overlong text encoded")
	}
	c, _ := Encode(link)
	var buf bytes.Buffer
	for _, scale := range []int{0, -1, 1000} {
		if err := c.PNG(&buf, scale); err == nil {
			t.Errorf("PNG at scale %d", scale)
		}
	}
	if err := WritePoster(&buf, c, Poster{Paper: "A3"}); err == nil {
		t.Error("a poster on A3")
	}
	if err := WritePoster(&buf, Code{}, Poster{Paper: A4}); err == nil {
		t.Error("a poster of no code")
	}
}
