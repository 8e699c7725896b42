package bench

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

const (
	screenW, screenH = 1280, 800
	// contentColours is how many distinct colours a frame needs to count as the first
	// frame: a blank window has one or two, text and buttons bring many more.
	contentColours = 8
)

// BenchmarkFootprint starts the real kiosk window, and beside it Debian's Chromium in
// kiosk mode showing the same rating screen as a static page (the web kiosk most
// competitors ship), one after the other under the same Xvfb. For each it reports the
// time from exec to the first frame with content (the median of three starts), the
// memory of its whole process tree once settled, and its CPU use while idle. -short idles
// 3 s instead of 60.
func BenchmarkFootprint(b *testing.B) {
	idle := 60 * time.Second
	if testing.Short() {
		idle = 3 * time.Second
	}
	kiosk := program(b, "npskiosk")
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		b.Fatal("chromium is not installed (make deps installs it)")
	}
	page, err := filepath.Abs("testdata/nps.html")
	if err != nil {
		b.Fatal(err)
	}
	display := startXvfb(b)
	// The kiosk enrolled and syncing, as in a store: unenrolled it shows its setup screen.
	collector := startStoreCollector(b)
	apps := []struct {
		name string
		argv func(dir string) []string
	}{
		{"npskiosk", func(dir string) []string {
			cfg := collector.kioskConfig(b, dir)
			return []string{kiosk, "--config", cfg, "--window-size", fmt.Sprintf("%dx%d", screenW, screenH)}
		}},
		{"chromium", func(dir string) []string {
			// Without a window manager --kiosk alone leaves the default window size.
			return []string{chromium, "--kiosk", "--window-position=0,0", fmt.Sprintf("--window-size=%d,%d", screenW, screenH), "--no-first-run", "--no-default-browser-check", "--noerrdialogs",
				"--password-store=basic", "--user-data-dir=" + filepath.Join(dir, "profile"),
				// Chromium refuses to run as root with its sandbox; the benchmark runs as root in CI.
				"--no-sandbox", "file://" + page}
		}},
	}
	for _, app := range apps {
		b.Run(app.name, func(b *testing.B) {
			// The timer runs throughout: a run of over a minute keeps b.Loop to one.
			for b.Loop() {
				m := measureApp(b, display, app.argv(b.TempDir()), idle)
				b.ReportMetric(ms(m.firstFrame), "first-frame-ms")
				b.ReportMetric(float64(m.rss)/(1<<20), "rss-MiB")
				b.ReportMetric(float64(m.pss)/(1<<20), "pss-MiB")
				b.ReportMetric(m.idleCPU, "idle-cpu-%")
				b.ReportMetric(float64(m.processes), "processes")
				if dir := os.Getenv("NPS_BENCH_SHOTS"); dir != "" {
					savePNG(b, filepath.Join(dir, "footprint-"+app.name+".png"), m.frame)
				}
			}
		})
	}
}

type footprint struct {
	firstFrame time.Duration
	rss, pss   int64
	idleCPU    float64 // percent of one core
	processes  int
	frame      image.Image
}

// firstFrameRuns is how many cold starts time the first frame; the median is reported.
const firstFrameRuns = 3

// measureApp starts argv on the display a few times to time its first frame with content,
// then, on the last start, lets it settle and samples its memory and its CPU time over idle.
func measureApp(b *testing.B, x *xDisplay, argv []string, idle time.Duration) footprint {
	var (
		m      footprint
		frames []time.Duration
	)
	for run := range firstFrameRuns {
		// Dirty pages from earlier benchmarks are written back now, not during the start.
		syscall.Sync()
		time.Sleep(time.Second)
		app := startApp(b, x, argv)
		frame := app.waitFirstFrame(b, x)
		frames = append(frames, frame)
		if run < firstFrameRuns-1 {
			app.stop(x)
			continue
		}
		time.Sleep(5 * time.Second) // settle: fonts, caches, the renderer's first GC
		tree := procTree(app.cmd.Process.Pid)
		m.processes = len(tree)
		m.rss, m.pss = memory(tree)
		before := cpuTime(tree)
		t0 := time.Now()
		time.Sleep(idle)
		m.idleCPU = 100 * (cpuTime(procTree(app.cmd.Process.Pid)) - before).Seconds() / time.Since(t0).Seconds()
		m.frame = x.capture(b)
		app.stop(x)
	}
	m.firstFrame = percentile(sortedCopy(frames), 0.5)
	return m
}

// runningApp is one start of an app under test.
type runningApp struct {
	cmd   *exec.Cmd
	out   string
	start time.Time
}

func startApp(b testing.TB, x *xDisplay, argv []string) *runningApp {
	if !x.blank() {
		b.Fatal("the screen is not blank before the start")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.name, "HOME="+b.TempDir(), "LANG=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // to stop the whole tree
	outPath := filepath.Join(b.TempDir(), "app.log")
	out, err := os.Create(outPath)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	app := &runningApp{cmd: cmd, out: outPath, start: time.Now()}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { app.stop(x) })
	return app
}

// waitFirstFrame polls the screen until it shows content.
func (a *runningApp) waitFirstFrame(b testing.TB, x *xDisplay) time.Duration {
	for {
		if distinctColours(x.capture(b)) >= contentColours {
			return time.Since(a.start)
		}
		if time.Since(a.start) > 60*time.Second {
			data, _ := os.ReadFile(a.out)
			b.Fatalf("%s showed nothing within 60 s; its output:\n%s", a.cmd.Path, data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop ends the app's process group and waits for the screen to go blank again.
func (a *runningApp) stop(x *xDisplay) {
	if a.cmd.ProcessState != nil {
		return
	}
	syscall.Kill(-a.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	for i := 0; i < 100 && !x.blank(); i++ {
		time.Sleep(50 * time.Millisecond)
	}
}

// xDisplay is an Xvfb server and a connection to it for reading the screen.
type xDisplay struct {
	name string
	conn *xgb.Conn
	root xproto.Window
}

// startXvfb starts Xvfb on a free display with a black root window, so anything an app
// draws shows. It is stopped with SIGTERM when the benchmark ends (stopXvfb).
func startXvfb(tb testing.TB) *xDisplay {
	n := 90
	for ; n < 200; n++ {
		if _, err := os.Stat("/tmp/.X11-unix/X" + strconv.Itoa(n)); os.IsNotExist(err) {
			if _, err := os.Stat(xLock(n)); os.IsNotExist(err) {
				break
			}
		}
	}
	name := ":" + strconv.Itoa(n)
	cmd := exec.Command("Xvfb", name, "-screen", "0", fmt.Sprintf("%dx%dx24", screenW, screenH), "-nolisten", "tcp", "-br")
	if err := cmd.Start(); err != nil {
		tb.Fatalf("Xvfb: %v (make deps installs it)", err)
	}
	tb.Cleanup(func() {
		if err := stopXvfb(cmd, n); err != nil {
			tb.Error(err)
		}
	})
	// xgb logs the connection's end as an error; the benchmark checks every reply itself.
	xgb.Logger = log.New(io.Discard, "", 0)
	for range 100 {
		if conn, err := xgb.NewConnDisplay(name); err == nil {
			tb.Cleanup(conn.Close) // before stopXvfb: cleanups run last first
			return &xDisplay{name: name, conn: conn, root: xproto.Setup(conn).DefaultScreen(conn).Root}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatal("Xvfb did not start")
	return nil
}

func xLock(n int) string { return fmt.Sprintf("/tmp/.X%d-lock", n) }

// stopXvfb ends Xvfb on display n with SIGTERM, on which it removes its lock file and
// socket (SIGKILL would leave both, and the next free-display search would skip it
// forever), and waits for it. It reports a server that needed SIGKILL or left either file.
func stopXvfb(cmd *exec.Cmd, n int) error {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		err = fmt.Errorf("Xvfb :%d did not end within 10 s of SIGTERM: killed", n)
	}
	for _, path := range []string{xLock(n), "/tmp/.X11-unix/X" + strconv.Itoa(n)} {
		if _, serr := os.Stat(path); serr == nil {
			os.Remove(path) // ours: the display was free when Xvfb started on it
			err = errors.Join(err, fmt.Errorf("Xvfb :%d left %s behind", n, path))
		}
	}
	return err
}

// capture reads the whole screen.
func (x *xDisplay) capture(b testing.TB) *image.RGBA {
	img, err := x.read()
	if err != nil {
		b.Fatalf("read the screen: %v", err)
	}
	return img
}

func (x *xDisplay) read() (*image.RGBA, error) {
	reply, err := xproto.GetImage(x.conn, xproto.ImageFormatZPixmap, xproto.Drawable(x.root),
		0, 0, screenW, screenH, 0xffffffff).Reply()
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, screenW, screenH))
	for i := 0; i+3 < len(reply.Data) && i < screenW*screenH*4; i += 4 { // BGRX at depth 24
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = reply.Data[i+2], reply.Data[i+1], reply.Data[i], 0xff
	}
	return img, nil
}

// blank reports whether the screen shows only the black root window.
func (x *xDisplay) blank() bool {
	img, err := x.read()
	if err != nil {
		return false
	}
	for i := 0; i < len(img.Pix); i += 4 {
		if img.Pix[i]|img.Pix[i+1]|img.Pix[i+2] != 0 {
			return false
		}
	}
	return true
}

// distinctColours counts the colours on a grid of every fourth pixel, stopping at 64.
func distinctColours(img *image.RGBA) int {
	seen := map[color.RGBA]bool{}
	for y := 0; y < screenH; y += 4 {
		for x := 0; x < screenW; x += 4 {
			seen[img.RGBAAt(x, y)] = true
			if len(seen) >= 64 {
				return len(seen)
			}
		}
	}
	return len(seen)
}

func savePNG(b testing.TB, path string, img image.Image) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		b.Fatal(err)
	}
}
