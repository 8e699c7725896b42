package bench

import (
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestKioskSleepsWhenIdle checks the patch carried in third_party/fyne.patch on the real
// kiosk window under Xvfb: on the rating screen with nobody touching, the kiosk uses
// next to no CPU (Fyne 2.7's render loop ticks at 60 Hz, about 2 % of a core), and it
// still repaints when woken: a tap (an X event) brings the follow-up screen, Submit the
// thank-you screen, and the thank-you timer (fyne.Do from a timer goroutine, no input)
// brings the rating screen back. NPS_BENCH_SHOTS=dir keeps the screens as PNG files.
func TestKioskSleepsWhenIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the kiosk window for about 30 s")
	}
	for _, tool := range []string{"Xvfb", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps installs it)", tool)
		}
	}
	kiosk := program(t, "npskiosk")
	x := startXvfb(t)
	dir := t.TempDir()
	// Enrolled, and syncing with a collector on loopback, as in a store.
	cfg := startStoreCollector(t).kioskConfig(t, dir)
	app := startApp(t, x, []string{kiosk, "--config", cfg, "--window-size", fmt.Sprintf("%dx%d", screenW, screenH)})
	app.waitFirstFrame(t, x)
	time.Sleep(3 * time.Second) // settle: fonts, caches, the first GC

	// 1 % of a core over 10 s is 100 ms: far above a sleeping loop (about 0.05 %), far
	// below a ticking one, and out of reach of a busy machine's scheduling noise.
	const idle, limit = 10 * time.Second, 1.0
	if cpu := idleCPU(app, idle); cpu >= limit {
		t.Errorf("idle on the rating screen: %.2f %% of a core over %v, want < %.0f %%", cpu, idle, limit)
	} else {
		t.Logf("idle on the rating screen: %.3f %% of a core over %v", cpu, idle)
	}

	shots := os.Getenv("NPS_BENCH_SHOTS")
	rating := x.capture(t)
	tap(t, x, 1085, 515) // score 9 (the 1280x800 layout of scripts/e2e.sh)
	followUp := waitScreen(t, x, "the follow-up screen after a tap", func(img *image.RGBA) bool { return differs(img, rating) })
	time.Sleep(500 * time.Millisecond) // the button's tap animation ends
	followUp = x.capture(t)
	tap(t, x, 1137, 737) // Submit
	thanks := waitScreen(t, x, "the thank-you screen after Submit", func(img *image.RGBA) bool { return differs(img, followUp) })
	// assets/survey.toml shows the thank-you screen for 4 s.
	back := waitScreen(t, x, "the rating screen again, from the thank-you timer", func(img *image.RGBA) bool { return !differs(img, rating) })
	if shots != "" {
		for name, img := range map[string]*image.RGBA{"rating": rating, "follow-up": followUp, "thank-you": thanks, "back": back} {
			savePNG(t, filepath.Join(shots, "idle-"+name+".png"), img)
		}
	}

	// Back on the rating screen the loop sleeps again.
	time.Sleep(2 * time.Second)
	if cpu := idleCPU(app, idle); cpu >= limit {
		t.Errorf("idle after a response: %.2f %% of a core over %v, want < %.0f %%", cpu, idle, limit)
	} else {
		t.Logf("idle after a response: %.3f %% of a core over %v", cpu, idle)
	}
}

// idleCPU is the CPU time of the app's process tree over d, in percent of one core.
func idleCPU(app *runningApp, d time.Duration) float64 {
	pid := app.cmd.Process.Pid
	before, t0 := cpuTime(procTree(pid)), time.Now()
	time.Sleep(d)
	return 100 * (cpuTime(procTree(pid)) - before).Seconds() / time.Since(t0).Seconds()
}

// tap clicks at (x, y) on the display as a finger would.
func tap(t *testing.T, x *xDisplay, px, py int) {
	t.Helper()
	cmd := exec.Command("xdotool", "mousemove", fmt.Sprint(px), fmt.Sprint(py), "click", "1")
	cmd.Env = append(os.Environ(), "DISPLAY="+x.name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xdotool click at %d,%d: %v\n%s", px, py, err, out)
	}
}

// waitScreen polls the screen for up to 10 s until ok says it shows what is wanted.
func waitScreen(t *testing.T, x *xDisplay, what string, ok func(*image.RGBA) bool) *image.RGBA {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		img := x.capture(t)
		if ok(img) {
			return img
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// differs reports whether more than 1 % of the pixels differ between two screens: a new
// screen changes far more, a blinking caret or an antialiasing change far less.
func differs(a, b *image.RGBA) bool {
	n := 0
	for i := 0; i < len(a.Pix); i += 4 {
		if a.Pix[i] != b.Pix[i] || a.Pix[i+1] != b.Pix[i+1] || a.Pix[i+2] != b.Pix[i+2] {
			n++
		}
	}
	return n > len(a.Pix)/4/100
}
