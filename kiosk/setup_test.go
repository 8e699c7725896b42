package kiosk

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/npskiosk/npskiosk/sync/wire"
)

// fakeSetup is a collector that knows one code and its setup PIN.
type fakeSetup struct {
	checks, enrolls []string // "collector code pin" of each call
	syncer          Syncer
}

const (
	fakeCode = "ABCDE-FGHJK"
	fakePIN  = "482913"
)

func (f *fakeSetup) Check(_ context.Context, collector string, req wire.EnrollRequest) (wire.EnrollPreview, error) {
	f.checks = append(f.checks, collector+" "+req.Code+" "+req.SetupPIN)
	if req.Code != fakeCode || req.SetupPIN != fakePIN {
		return wire.EnrollPreview{}, errors.New("enroll: the collector said 401 Unauthorized: the setup PIN is wrong")
	}
	return wire.EnrollPreview{StoreID: "S042", StoreName: "Main Street", DeviceName: "Till 3"}, nil
}

func (f *fakeSetup) Enroll(_ context.Context, collector string, req wire.EnrollRequest) (Enrolled, error) {
	f.enrolls = append(f.enrolls, collector+" "+req.Code+" "+req.SetupPIN)
	return Enrolled{Sync: f.syncer}, nil
}

type idleSyncer struct{}

func (idleSyncer) Status() SyncStatus { return SyncStatus{} }
func (idleSyncer) SyncNow()           {}

func newSetupHarness(t *testing.T, size fyne.Size, setup *fakeSetup) *harness {
	t.Helper()
	return openHarnessConfig(t, filepath.Join(t.TempDir(), "kiosk.db"), size, nil, func(c *Config) { c.Setup = setup })
}

// A kiosk that is not set up says so and records nothing; staff set it up on the
// screen: the address, code and PIN typed on the on-screen keyboard, a connection test
// that names the store, confirmation; then the survey starts and taps are recorded.
func TestSetupScreenEnrollsTheKioskThenTheSurveyStarts(t *testing.T) {
	setup := &fakeSetup{syncer: idleSyncer{}}
	h := newSetupHarness(t, landscape, setup)
	h.requireShowing("This kiosk is not set up yet")
	if h.showing("How likely") {
		t.Fatal("a kiosk that is not set up shows the survey")
	}
	test.Tap(h.button("Set up"))
	h.requireShowing("Collector address")
	h.requireShowing("https://|") // the address field has the focus

	// Nothing but the address: the test says what is missing, asks no collector.
	h.typeOnKeyboard("nps.example.com")
	test.Tap(h.button("Test connection"))
	h.requireShowing("Enter the enrollment code")
	test.Tap(h.button("Done")) // on to the code
	h.typeOnKeyboard("abcde-fghjk")
	h.requireShowing(fakeCode + "|") // codes are typed in capitals
	test.Tap(h.button("Done"))       // on to the PIN
	h.typeOnKeyboard("482910")
	h.requireShowing("••••••|") // the PIN is not shown
	if h.showing("482910") {
		t.Fatal("the setup PIN shows on screen")
	}
	test.Tap(h.button("Done")) // Done on the PIN tests the connection
	h.requireShowing("Not set up: enroll: the collector said 401 Unauthorized: the setup PIN is wrong")
	test.Tap(h.button("Delete"))
	h.typeOnKeyboard("3")
	test.Tap(h.button("Test connection"))
	h.requireShowing("https://nps.example.com answered over a secure connection.")
	h.requireShowing("This kiosk joins Main Street (S042)")
	h.requireShowing("as the device “Till 3”.")
	if len(setup.enrolls) != 0 {
		t.Fatalf("the connection test enrolled: %q", setup.enrolls)
	}
	test.Tap(h.button("Confirm and start"))
	want := "https://nps.example.com " + fakeCode + " " + fakePIN
	if len(setup.enrolls) != 1 || setup.enrolls[0] != want {
		t.Fatalf("enrollments %q, want [%q]", setup.enrolls, want)
	}
	h.requireShowing("How likely")
	test.Tap(h.button("9"))
	if n := h.outbox(); n.Pending+n.Open == 0 {
		t.Fatalf("a tap after setup was not recorded: %+v", n)
	}
}

// The setup screen forgets what was typed when it is left alone, and Cancel goes back to
// "not set up"; a plain-HTTP collector is named as such.
func TestSetupScreenTimesOutAndWarnsOfPlainHTTP(t *testing.T) {
	setup := &fakeSetup{syncer: idleSyncer{}}
	h := newSetupHarness(t, fyne.NewSize(800, 1280), setup)
	test.Tap(h.button("Set up"))
	test.Tap(h.button("Cancel"))
	h.requireShowing("This kiosk is not set up yet")

	test.Tap(h.button("Set up"))
	for range len("https://") {
		test.Tap(h.button("Delete"))
	}
	h.typeOnKeyboard("http://10.0.0.5:8080")
	test.Tap(h.button("Done"))
	h.typeOnKeyboard("abcde-fghjk")
	test.Tap(h.button("Done"))
	h.typeOnKeyboard(fakePIN)
	test.Tap(h.button("Test connection"))
	h.requireShowing("http://10.0.0.5:8080 answered over plain HTTP, without encryption")
	test.Tap(h.button("Back"))
	h.requireShowing("••••••")
	h.clock.Advance(setupIdle + time.Second)
	h.requireShowing("This kiosk is not set up yet")
	test.Tap(h.button("Set up"))
	if h.showing("••••••") || h.showing(fakeCode) {
		t.Fatal("the setup screen kept what was typed after it timed out")
	}
	if len(setup.enrolls) != 0 {
		t.Fatalf("enrolled without confirmation: %q", setup.enrolls)
	}
}

// TestSetupScreensMatchGoldenMarkup renders the setup screens in both orientations (see
// TestScreensMatchGoldenMarkup); scripts/setup-screen.sh taps by their coordinates.
func TestSetupScreensMatchGoldenMarkup(t *testing.T) {
	screens := []struct {
		name string
		do   func(h *harness)
	}{
		{"not_set_up", func(h *harness) {}},
		{"setup_form", fillSetupForm},
		{"setup_confirm", func(h *harness) {
			fillSetupForm(h)
			test.Tap(h.button("Test connection"))
		}},
	}
	for _, size := range []fyne.Size{landscape, fyne.NewSize(800, 1280)} {
		for _, sc := range screens {
			name := sc.name + "_" + sizeString(size)
			t.Run(name, func(t *testing.T) {
				h := newSetupHarness(t, size, &fakeSetup{syncer: idleSyncer{}})
				sc.do(h)
				test.AssertRendersToMarkup(t, name+".xml", h.win.Canvas())
			})
		}
	}
}

// fillSetupForm opens the setup form and types the fake collector's code and PIN.
func fillSetupForm(h *harness) {
	test.Tap(h.button("Set up"))
	h.typeOnKeyboard("nps.example.com")
	test.Tap(h.button("Done"))
	h.typeOnKeyboard("abcde-fghjk")
	test.Tap(h.button("Done"))
	h.typeOnKeyboard(fakePIN)
}
