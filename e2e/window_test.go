package e2e

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The kiosk's colours (kiosk/theme.go): primary buttons, and secondary ones such as
// the keys of the on-screen keyboard.
var (
	colorPrimary   = color.NRGBA{0x0b, 0x3d, 0x91, 0xff}
	colorSecondary = color.NRGBA{0xe6, 0xe9, 0xef, 0xff}
)

// Where things are in a 1280x800 window, from the golden layouts in kiosk/testdata:
// rating_1280x800.xml, followup_1280x800.xml, keyboard_1280x800.xml, pin_1280x800.xml.
var (
	atScore3     = image.Pt(416, 472)
	atWaitTime   = image.Pt(181, 228) // the reason chip "Waiting time", offered to detractors
	atComment    = image.Pt(632, 332)
	atConsent    = image.Pt(632, 420) // "You may contact me…", there when the kiosk has a contact key
	atContact    = image.Pt(632, 508) // the contact field, shown once the shopper consents
	atSubmit     = image.Pt(1138, 736)
	atKeyDone    = image.Pt(1178, 744)
	atKeySpace   = image.Pt(546, 744)
	atCorner     = image.Pt(40, 40) // five quick taps here open the manager PIN pad
	atPINOK      = image.Pt(822, 553)
	atPINDigits  = map[rune]image.Point{'1': {457, 265}, '2': {639, 265}, '3': {822, 265}, '4': {457, 361}}
	keyboardRows = []string{"1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "@.,-_'!?+:/"}
)

// keyAt is where a key of the on-screen keyboard is: the keyboard is 1256 px wide at
// x=12, each row's keys share it with 8 px between them, and its 64 px rows start at
// y=352, 8 px apart. The note editor of the manager view puts it in the same place.
func keyAt(r rune) (image.Point, bool) {
	if r == ' ' {
		return atKeySpace, true
	}
	for i, row := range keyboardRows {
		keys := []rune(row)
		if j := slices.Index(keys, r); j >= 0 {
			w := (1256 - 8*float64(len(keys)-1)) / float64(len(keys))
			return image.Pt(12+int(float64(j)*(w+8)+w/2), 352+i*72+32), true
		}
	}
	return image.Point{}, false
}

// screen is an Xvfb display the kiosk window draws on, driven with xdotool and
// photographed with scrot.
type screen struct {
	h     *harness
	env   []string // DISPLAY=:n
	shots int
}

// startDisplay starts Xvfb on a display number it picks itself (-displayfd).
func (h *harness) startDisplay(w, ht int) *screen {
	h.t.Helper()
	r, wr, err := os.Pipe()
	if err != nil {
		h.t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", w, ht), "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{wr}
	h.spawn("xvfb", cmd)
	wr.Close()
	n, err := readLine(r, 15*time.Second)
	if err != nil {
		h.t.Fatalf("Xvfb did not say which display it took: %v", err)
	}
	s := &screen{h: h, env: []string{"DISPLAY=:" + n}}
	waitFor(h.t, "Xvfb :"+n+" answers", 10*time.Second, func() (bool, error) {
		return s.xdotool("getdisplaygeometry") == nil, nil
	})
	return s
}

func (s *screen) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), s.env...)
	return cmd
}

func (s *screen) xdotool(args ...string) error {
	out, err := s.command("xdotool", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("xdotool %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// tap clicks at p as a finger would, then gives the screen pause to change.
func (s *screen) tap(p image.Point, pause time.Duration) {
	s.h.t.Helper()
	if err := s.xdotool("mousemove", fmt.Sprint(p.X), fmt.Sprint(p.Y), "click", "1"); err != nil {
		s.h.t.Fatal(err)
	}
	time.Sleep(pause)
}

// tapUntil taps where find says until shown sees the screen change, three times at
// most: a panel redrawn under the finger (the manager view redraws every 5 s) can
// swallow a tap.
func (s *screen) tapUntil(what string, find func() image.Point, shown func(image.Image) bool) {
	s.h.t.Helper()
	for try := 1; ; try++ {
		s.tap(find(), 250*time.Millisecond)
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			if img, err := s.grab("last.png"); err == nil && shown(img) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		if try == 3 {
			s.h.t.Fatalf("%s: not on screen after 3 taps; see %s", what, s.h.path("last.png"))
		}
	}
}

// typeText taps text on the on-screen keyboard, key by key.
func (s *screen) typeText(text string) {
	s.h.t.Helper()
	for _, r := range text {
		p, ok := keyAt(r)
		if !ok {
			s.h.t.Fatalf("no key %q on the on-screen keyboard", r)
		}
		s.tap(p, 150*time.Millisecond)
	}
}

// grab photographs the display into name (a file in the run's folder).
func (s *screen) grab(name string) (image.Image, error) {
	path := s.h.path(name)
	if out, err := s.command("scrot", "--overwrite", path).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("scrot: %v: %s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}

// shot keeps a numbered screenshot of a step, to look at after the run.
func (s *screen) shot(step string) image.Image {
	s.h.t.Helper()
	s.shots++
	name := fmt.Sprintf("%02d-%s.png", s.shots, step)
	img, err := s.grab(name)
	if err != nil {
		s.h.t.Fatal(err)
	}
	s.h.t.Logf("screenshot %s", filepath.Join(s.h.dir, name))
	return img
}

// waitFor photographs the display until shown finds what it looks for, and returns
// that photo. On timeout the last photo is kept as NAME-timeout.png.
func (s *screen) waitFor(what string, timeout time.Duration, shown func(image.Image) bool) image.Image {
	s.h.t.Helper()
	var img image.Image
	waitFor(s.h.t, what, timeout, func() (bool, error) {
		var err error
		if img, err = s.grab("last.png"); err != nil {
			return false, err
		}
		if shown(img) {
			return true, nil
		}
		return false, fmt.Errorf("not on screen; see %s", s.h.path("last.png"))
	})
	return img
}

// near reports whether c is want, give or take the anti-aliasing.
func near(c color.Color, want color.NRGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) bool { v := int(x>>8) - int(y); return v > -12 && v < 12 }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

// span is a horizontal run of one colour on a row of pixels.
type span struct{ x0, x1 int } // [x0, x1)

// spans finds the runs of want at least minLen long on row y.
func spans(img image.Image, y int, want color.NRGBA, minLen int) []span {
	var out []span
	b := img.Bounds()
	start := -1
	for x := b.Min.X; x <= b.Max.X; x++ {
		in := x < b.Max.X && near(img.At(x, y), want)
		switch {
		case in && start < 0:
			start = x
		case !in && start >= 0:
			if x-start >= minLen {
				out = append(out, span{start, x})
			}
			start = -1
		}
	}
	return out
}

// ratingShown: the eleven score buttons side by side.
func ratingShown(img image.Image) bool {
	for y := 300; y < 700; y += 4 {
		if len(spans(img, y, colorPrimary, 80)) == 11 {
			return true
		}
	}
	return false
}

// followUpShown: the Submit button of the follow-up screen.
func followUpShown(img image.Image) bool {
	return near(img.At(atSubmit.X-80, atSubmit.Y-30), colorPrimary) && near(img.At(atSubmit.X+80, atSubmit.Y+30), colorPrimary)
}

// keyboardShown: the ten keys of the q row.
func keyboardShown(img image.Image) bool {
	return len(spans(img, 456-24, colorSecondary, 90)) == 10 && near(img.At(atKeyDone.X, atKeyDone.Y-25), colorPrimary)
}

// pinShown: the OK key of the PIN pad.
func pinShown(img image.Image) bool {
	return near(img.At(atPINOK.X-70, atPINOK.Y-35), colorPrimary) && near(img.At(atPINOK.X+70, atPINOK.Y+35), colorPrimary)
}

// managerShown: the full-width "Sync now" of the manager view's right column.
func managerShown(img image.Image) bool {
	for y := 100; y < img.Bounds().Max.Y-16; y += 4 {
		for _, sp := range spans(img, y, colorPrimary, 500) {
			if sp.x0 > 620 && sp.x0 < 680 {
				return true
			}
		}
	}
	return false
}

// findResolved waits for the manager view and returns where its case's "Resolved" is,
// scrolling the view down while the button is below the fold (a sync error shown above
// the Follow-ups pushes it there).
func (s *screen) findResolved(timeout time.Duration) image.Point {
	s.h.t.Helper()
	var at image.Point
	waitFor(s.h.t, "the case's Resolved button in the manager view", timeout, func() (bool, error) {
		img, err := s.grab("last.png")
		if err != nil {
			return false, err
		}
		var ok bool
		if at, ok = resolvedButton(img); ok {
			return true, nil
		}
		if managerShown(img) {
			for range 3 {
				if err := s.xdotool("mousemove", "945", "600", "click", "5"); err != nil {
					return false, err
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		return false, fmt.Errorf("not on screen; see %s", s.h.path("last.png"))
	})
	return at
}

// resolvedButton finds a case card's "Resolved" in the manager view: a primary button
// as wide as half the card, on the right of the Follow-ups column (the full-width
// primary button above it is "Sync now"). It reports where to tap, and whether enough
// of the button is on screen to tap it.
func resolvedButton(img image.Image) (image.Point, bool) {
	var rows []int
	var x int
	for y := 100; y < img.Bounds().Max.Y-16; y++ {
		for _, sp := range spans(img, y, colorPrimary, 150) {
			if sp.x0 > 900 && sp.x0 < 1020 && sp.x1 > 1200 {
				rows = append(rows, y)
				x = (sp.x0 + sp.x1) / 2
			}
		}
	}
	if len(rows) < 24 {
		return image.Point{}, false
	}
	return image.Pt(x, rows[len(rows)/2]), true
}
