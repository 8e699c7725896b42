package kiosk

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/devicesettings"
	_ "github.com/npskiosk/npskiosk/internal/cleanlocale"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/simulate"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// fakeClock fires timers when the test advances it. Step sets its wall clock without
// moving its monotonic clock (Elapsed), which the kiosk's store times rapid taps by.
type fakeClock struct {
	now     time.Time
	timers  []*fakeTimer
	stepped time.Duration // the sum of Steps
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time { return c.now }

// Elapsed is the monotonic clock: it moves with Advance only.
func (c *fakeClock) Elapsed() time.Duration { return c.now.Sub(testNow) - c.stepped }

// Step sets the wall clock by d, as NTP or a person setting the clock does.
func (c *fakeClock) Step(d time.Duration) {
	c.now = c.now.Add(d)
	c.stepped += d
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() {
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() { t.stopped = true }
}

// Advance moves time on, firing due timers in order, including ones they start.
func (c *fakeClock) Advance(d time.Duration) {
	end := c.now.Add(d)
	for {
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		i := slices.IndexFunc(c.timers, func(t *fakeTimer) bool { return !t.stopped && !t.at.After(end) })
		if i < 0 {
			break
		}
		t := c.timers[i]
		c.timers = slices.Delete(c.timers, i, i+1)
		c.now = t.at
		t.f()
	}
	c.now = end
}

var testNow = time.Date(2026, 11, 20, 15, 30, 0, 0, time.UTC)

// testPINHash is the argon2id hash of "2468", made once per test binary.
var testPINHash = func() string {
	h, err := devicesettings.HashPIN("2468")
	if err != nil {
		panic(err)
	}
	return h
}()

type harness struct {
	t     *testing.T
	app   *App
	win   fyne.Window
	db    *store.DB
	clock *fakeClock
	path  string
	// ring opens the contacts the follow-up seals: the database holds its public key.
	ring *contactseal.Keyring
}

func newHarness(t *testing.T, size fyne.Size) *harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	return openHarness(t, path, size)
}

func openHarness(t *testing.T, path string, size fyne.Size) *harness {
	t.Helper()
	return openHarnessWith(t, path, size, nil)
}

// openHarnessWith opens a harness whose survey change has changed from the default.
func openHarnessWith(t *testing.T, path string, size fyne.Size, change func(*wire.Survey)) *harness {
	t.Helper()
	return openHarnessConfig(t, path, size, change, nil)
}

// openHarnessConfig opens a harness whose survey change has changed from the default
// and whose UI config edit has changed (both may be nil).
func openHarnessConfig(t *testing.T, path string, size fyne.Size, change func(*wire.Survey), edit func(*Config)) *harness {
	t.Helper()
	clock := &fakeClock{now: testNow}
	db, err := store.Open(context.Background(), store.Config{Path: path, Now: clock.Now, Elapsed: clock.Elapsed,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ring := testContactKeys(t)
	if err := db.SetContactKey(context.Background(), ring.Current()); err != nil {
		t.Fatal(err)
	}
	fa := test.NewTempApp(t)
	fa.Settings().SetTheme(Theme{})
	win := test.NewWindow(nil)
	win.SetPadded(false)
	win.Resize(size)
	t.Cleanup(win.Close)
	msgs, err := assets.Translations()
	if err != nil {
		t.Fatal(err)
	}
	survey, err := assets.DefaultSurvey()
	if err != nil {
		t.Fatal(err)
	}
	survey.StoreName = "Main Street"
	if change != nil {
		change(&survey)
		if err := survey.Validate(); err != nil {
			t.Fatalf("test survey: %v", err)
		}
	}
	cfg := Config{
		Capture: db, Stats: db, Settings: db,
		Survey:         func() wire.Survey { return survey },
		Catalog:        NewCatalog(msgs, "en"),
		ManagerPINHash: testPINHash,
		Location:       time.UTC,
		Clock:          clock,
		OnExit:         func() {},
		Logger:         slog.New(slog.DiscardHandler),
	}
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(win, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.background = func(f func()) { f() } // a screen is complete once drawn
	a.Start()
	return &harness{t: t, app: a, win: win, db: db, clock: clock, path: path, ring: ring}
}

// testContactKeys is a keyring of one new contact key.
func testContactKeys(t *testing.T) *contactseal.Keyring {
	t.Helper()
	k, err := contactseal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := contactseal.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// objects walks the visible object tree, into widgets' renderers.
func objects(o fyne.CanvasObject) []fyne.CanvasObject {
	if o == nil || !o.Visible() {
		return nil
	}
	out := []fyne.CanvasObject{o}
	switch v := o.(type) {
	case *fyne.Container:
		for _, c := range v.Objects {
			out = append(out, objects(c)...)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(v).Objects() {
			out = append(out, objects(c)...)
		}
	}
	return out
}

// button finds the button labelled label on screen.
func (h *harness) button(label string) *button {
	h.t.Helper()
	for _, o := range objects(h.win.Content()) {
		switch b := o.(type) {
		case *button:
			if b.text == label {
				return b
			}
		case *toggle:
			if b.text == label {
				return b.button
			}
		}
	}
	h.t.Fatalf("no button %q on screen; texts: %q", label, h.texts())
	return nil
}

// tapField taps the field box (a stack with a tap area) that shows the given text.
func (h *harness) tapField(shown string) {
	h.t.Helper()
	for _, o := range objects(h.win.Content()) {
		c, ok := o.(*fyne.Container)
		if !ok {
			continue
		}
		var area *tapArea
		hasText := false
		for _, child := range c.Objects {
			if ta, ok := child.(*tapArea); ok {
				area = ta
			} else if slices.Contains(textsOf(child), shown) {
				hasText = true
			}
		}
		if area != nil && hasText {
			test.Tap(area)
			return
		}
	}
	h.t.Fatalf("no field showing %q; texts: %q", shown, h.texts())
}

func textsOf(o fyne.CanvasObject) []string {
	var out []string
	for _, o := range objects(o) {
		switch v := o.(type) {
		case *canvas.Text:
			out = append(out, v.Text)
		case *widget.RichText:
			out = append(out, v.String())
		case *widget.Label:
			out = append(out, v.Text)
		}
	}
	return out
}

func (h *harness) texts() []string { return textsOf(h.win.Content()) }

func (h *harness) showing(s string) bool {
	return slices.ContainsFunc(h.texts(), func(t string) bool { return strings.Contains(t, s) })
}

func (h *harness) requireShowing(s string) {
	h.t.Helper()
	if !h.showing(s) {
		h.t.Fatalf("screen does not show %q; it shows %q", s, h.texts())
	}
}

// rows returns the completed responses waiting to sync, oldest first.
func (h *harness) rows() []store.Response {
	h.t.Helper()
	rows, err := h.db.Pending(context.Background(), 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	return rows
}

func (h *harness) outbox() store.OutboxStats {
	h.t.Helper()
	ob, err := h.db.Outbox(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return ob
}

func (h *harness) typeOnKeyboard(s string) {
	h.t.Helper()
	for _, r := range s {
		key := string(r)
		if r == ' ' {
			key = h.app.t("keyboard.space")
		}
		test.Tap(h.button(key))
	}
}

var landscape = fyne.NewSize(1280, 800)

func TestTapRecordsBeforeTheScreenMovesOn(t *testing.T) {
	h := newHarness(t, landscape)
	h.requireShowing("How likely are you to recommend Main Street to a friend or family member?")
	test.Tap(h.button("7"))
	// The row exists, open, the moment the follow-up shows.
	if ob := h.outbox(); ob.Open != 1 || ob.Pending != 0 {
		t.Fatalf("after the tap: outbox %+v, want one open response", ob)
	}
	h.requireShowing("What is the main reason for your score?")
}

func TestDoubleTapMakesOneResponse(t *testing.T) {
	h := newHarness(t, landscape)
	nine := h.button("9")
	test.Tap(nine)
	test.Tap(nine) // the second tap of a double tap, on the screen that has gone
	if ob := h.outbox(); ob.Open != 1 {
		t.Fatalf("double tap made %d responses, want 1", ob.Open)
	}
}

func TestFollowUpOutcomes(t *testing.T) {
	tests := []struct {
		name        string
		do          func(h *harness)
		wantOutcome response.Outcome
		wantReasons []string
		wantComment string
		wantContact string
	}{
		{
			name: "submit with reason, comment and contact",
			do: func(h *harness) {
				test.Tap(h.button("Prices"))
				test.Tap(h.button("Staff")) // changed their mind: Staff replaces Prices
				h.tapField("Add a comment (optional)")
				h.typeOnKeyboard("great staff")
				test.Tap(h.button("Done"))
				test.Tap(h.button("You may contact me about my feedback"))
				h.tapField("Email or phone")
				h.typeOnKeyboard("a@b.co")
				test.Tap(h.button("Done"))
				test.Tap(h.button("Submit"))
				h.requireShowing("Thank you!")
			},
			wantOutcome: response.OutcomeSubmitted,
			wantReasons: []string{"staff"},
			wantComment: "great staff",
			wantContact: "a@b.co",
		},
		{
			name: "skip",
			do: func(h *harness) {
				test.Tap(h.button("Staff"))
				test.Tap(h.button("Skip"))
				h.requireShowing("Thank you!")
			},
			wantOutcome: response.OutcomeSkipped,
			wantReasons: []string{"staff"},
		},
		{
			name: "idle timeout after the still-there prompt",
			do: func(h *harness) {
				h.clock.Advance(24 * time.Second)
				if h.showing("Are you still there?") {
					h.t.Fatal("prompt shown too early")
				}
				h.clock.Advance(2 * time.Second)
				h.requireShowing("Are you still there?")
				h.clock.Advance(5 * time.Second)
				h.requireShowing("How likely are you to recommend")
			},
			wantOutcome: response.OutcomeTimedOut,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, landscape)
			test.Tap(h.button("8"))
			tt.do(h)
			rows := h.rows()
			if len(rows) != 1 {
				t.Fatalf("%d completed rows, want 1", len(rows))
			}
			r := rows[0]
			contact := ""
			if r.SealedContact != "" {
				var err error
				if contact, err = h.ring.Open(r.ID, r.SealedContact); err != nil {
					t.Fatalf("the stored contact does not open: %v", err)
				}
			}
			if r.Score != 8 || r.Outcome != tt.wantOutcome || !slices.Equal(r.Reasons, tt.wantReasons) ||
				r.Comment != tt.wantComment || r.Contact != "" || contact != tt.wantContact || r.ContactConsent != (tt.wantContact != "") {
				t.Errorf("row = %+v\nwant outcome %s reasons %v comment %q contact %q",
					r, tt.wantOutcome, tt.wantReasons, tt.wantComment, tt.wantContact)
			}
		})
	}
}

func TestTouchDuringStillTherePromptKeepsTheFollowUp(t *testing.T) {
	h := newHarness(t, landscape)
	test.Tap(h.button("3"))
	h.clock.Advance(26 * time.Second)
	h.requireShowing("Are you still there?")
	var prompt *tapArea
	for _, o := range objects(h.win.Content()) {
		if ta, ok := o.(*tapArea); ok {
			prompt = ta // the prompt's area is the last one drawn
		}
	}
	test.Tap(prompt)
	h.clock.Advance(20 * time.Second)
	h.requireShowing("What is the main reason for your score?")
	if h.showing("Are you still there?") {
		t.Fatal("prompt still showing after a touch")
	}
	test.Tap(h.button("Submit"))
	if rows := h.rows(); len(rows) != 1 || rows[0].Outcome != response.OutcomeSubmitted {
		t.Fatalf("rows = %+v", rows)
	}
}

func TestThankYouReturnsToRating(t *testing.T) {
	h := newHarness(t, landscape)
	test.Tap(h.button("10"))
	test.Tap(h.button("Skip"))
	h.requireShowing("Thank you!")
	h.clock.Advance(4 * time.Second)
	h.requireShowing("How likely are you to recommend")
}

func TestLanguageIsStoredAndResets(t *testing.T) {
	h := newHarness(t, landscape)
	test.Tap(h.button("Deutsch"))
	h.requireShowing("Wie wahrscheinlich ist es, dass Sie Main Street einem Freund oder Familienmitglied empfehlen?")
	test.Tap(h.button("6"))
	h.requireShowing("Was ist der Hauptgrund für Ihre Bewertung?")
	test.Tap(h.button("Überspringen"))
	h.requireShowing("Vielen Dank!")
	h.clock.Advance(5 * time.Second)
	h.requireShowing("How likely are you") // the next shopper starts in the default language
	if rows := h.rows(); len(rows) != 1 || rows[0].Locale != "de" {
		t.Fatalf("rows = %+v, want one in de", rows)
	}
}

// A kiosk set to a customer segment (its config's segment) records every tap with it.
func TestKioskSegmentIsStamped(t *testing.T) {
	h := newHarness(t, landscape)
	h.app.cfg.Segment = "pharmacy"
	test.Tap(h.button("9"))
	test.Tap(h.button("Skip"))
	h.requireShowing("Thank you!")
	if rows := h.rows(); len(rows) != 1 || rows[0].Segment != "pharmacy" {
		t.Fatalf("rows = %+v, want one of segment pharmacy", rows)
	}
}

func TestRapidRepeatTapIsFlagged(t *testing.T) {
	h := newHarness(t, landscape)
	// The default survey allows five responses a minute; the sixth is a suspect burst.
	for range 6 {
		test.Tap(h.button("10"))
		test.Tap(h.button("Skip"))
		h.clock.Advance(4 * time.Second)
	}
	tally, err := h.db.Tally(context.Background(), testNow.Add(-time.Hour), testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if tally.Total() != 5 || tally.Suspect != 1 {
		t.Fatalf("tally %+v, want five counted and one suspect", tally)
	}
}

// TestRapidTapAcrossBackwardStep: the wall clock is set back an hour while a line of
// shoppers answers, 15 s apart: none of them is flagged as a rapid tap, and a burst
// after the step still is.
func TestRapidTapAcrossBackwardStep(t *testing.T) {
	h := newHarness(t, landscape)
	for i := range 4 {
		if i == 2 {
			h.clock.Step(-time.Hour)
		}
		test.Tap(h.button("10"))
		test.Tap(h.button("Skip"))
		h.clock.Advance(15 * time.Second)
	}
	tally, err := h.db.Tally(context.Background(), testNow.Add(-2*time.Hour), testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if tally.Total() != 4 || tally.Suspect != 0 {
		t.Fatalf("tally %+v, want four counted and none suspect", tally)
	}
	// A burst after the step (more than five in a minute by the monotonic clock) still is.
	for range 3 {
		test.Tap(h.button("10"))
		test.Tap(h.button("Skip"))
		h.clock.Advance(4 * time.Second)
	}
	if tally, _ := h.db.Tally(context.Background(), testNow.Add(-2*time.Hour), testNow.Add(time.Hour)); tally.Suspect == 0 {
		t.Fatalf("tally %+v, want the burst's last tap suspect", tally)
	}
}

// corner is the rating screen's hidden manager target: its first tap area.
func (h *harness) corner() *tapArea {
	h.t.Helper()
	for _, o := range objects(h.win.Content()) {
		if ta, ok := o.(*tapArea); ok {
			return ta
		}
	}
	h.t.Fatal("no tap area on screen")
	return nil
}

func openPIN(h *harness) {
	h.t.Helper()
	corner := h.corner()
	for range cornerTapsNeeded {
		test.Tap(corner)
	}
	h.requireShowing(h.app.t("pin.title"))
}

func enterPIN(h *harness, pin string) {
	h.t.Helper()
	for _, d := range pin {
		test.Tap(h.button(string(d)))
	}
	test.Tap(h.button(h.app.t("pin.ok")))
}

func TestCornerNeedsFiveQuickTaps(t *testing.T) {
	h := newHarness(t, landscape)
	corner := h.corner()
	for range 4 {
		test.Tap(corner)
		h.clock.Advance(time.Second) // too slow: taps older than 3 s are forgotten
	}
	test.Tap(corner)
	if h.showing("Manager PIN") {
		t.Fatal("slow taps opened the PIN pad")
	}
}

func TestPINLockOutSurvivesRestart(t *testing.T) {
	h := newHarness(t, landscape)
	openPIN(h)
	for i := 1; i < pinMaxFailures; i++ {
		enterPIN(h, "1111")
		h.requireShowing("Wrong PIN.")
	}
	enterPIN(h, "1111")
	h.requireShowing("Too many wrong PINs. Try again in 30 s.")
	enterPIN(h, "2468") // the right PIN, but the pad is locked
	h.requireShowing("Too many wrong PINs.")
	if h.showing("Store dashboard") {
		t.Fatal("locked pad opened the dashboard")
	}

	// Restart the app on the same database: still locked.
	h.db.Close()
	h2 := openHarness(t, h.path, landscape)
	h2.clock.now = h.clock.now
	openPIN(h2)
	h2.requireShowing("Too many wrong PINs.")
	enterPIN(h2, "2468")
	h2.requireShowing("Too many wrong PINs.")

	h2.clock.now = h2.clock.now.Add(31 * time.Second)
	enterPIN(h2, "2468")
	h2.requireShowing("Store dashboard")

	// The next lock-out lasts twice as long.
	test.Tap(h2.button("Lock"))
	openPIN(h2)
	for range pinMaxFailures {
		enterPIN(h2, "0000")
	}
	h2.requireShowing("Try again in 30 s") // counters reset on success
}

func TestManagerFiguresMatchTheStore(t *testing.T) {
	h := newHarness(t, landscape)
	survey, _ := assets.DefaultSurvey()
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for _, r := range simulate.Responses(rng, 400, 30, testNow, survey) {
		if err := h.db.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	openPIN(h)
	enterPIN(h, "2468")
	h.requireShowing("Store dashboard · Main Street")

	today := midnightIn(testNow)
	for _, p := range []struct {
		from time.Time
	}{{today}, {today.AddDate(0, 0, -6)}, {today.AddDate(0, 0, -29)}} {
		tally, err := h.db.Tally(ctx, p.from, testNow.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		h.requireShowing(formatNPS(tally.NPS()))
		h.requireShowing(strings.ReplaceAll(h.app.t("manager.responses", "n", itoa(tally.Total())), "\n", ""))
	}
	ob := h.outbox()
	h.requireShowing("Waiting to upload: " + itoa(ob.Pending))
	reasons, err := h.db.ReasonCounts(ctx, today.AddDate(0, 0, -29), testNow.Add(time.Second), 1)
	if err != nil {
		t.Fatal(err)
	}
	h.requireShowing(itoa(reasons[0].Count))
	comments, err := h.db.RecentComments(ctx, today.AddDate(0, 0, -29), 1)
	if err != nil {
		t.Fatal(err)
	}
	h.requireShowing(comments[0].Text)

	h.clock.Advance(managerIdleLock + time.Second)
	h.requireShowing("How likely are you") // locked itself
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestHideCursorCoversEveryScreen(t *testing.T) {
	h := newHarness(t, landscape)
	h.app.cfg.HideCursor = true
	for _, show := range []func(){h.app.showRating, h.app.showPIN, h.app.showThanks} {
		show()
		c, ok := h.win.Content().(desktop.Cursorable)
		if !ok || c.Cursor() != desktop.HiddenCursor {
			t.Fatalf("content %T does not hide the cursor", h.win.Content())
		}
	}
	// The wrapper must not swallow taps.
	h.app.showRating()
	test.Tap(h.button("5"))
	h.requireShowing("What is the main reason for your score?")
}

func TestKeyboardLabelsAreTranslated(t *testing.T) {
	tests := []struct {
		language string // the button that switches to it
		comment  string // the comment box's placeholder in that language
		want     []string
	}{
		{"English", "Add a comment (optional)", []string{"Shift", "space", "Delete", "Done"}},
		{"Español", "Añadir un comentario (opcional)", []string{"Mayús", "espacio", "Borrar", "Listo"}},
		{"Français", "Ajouter un commentaire (facultatif)", []string{"Maj", "espace", "Effacer", "Terminé"}},
		{"Deutsch", "Kommentar hinzufügen (optional)", []string{"Umschalt", "Leertaste", "Löschen", "Fertig"}},
	}
	for _, tt := range tests {
		t.Run(tt.language, func(t *testing.T) {
			h := newHarness(t, landscape)
			test.Tap(h.button(tt.language))
			test.Tap(h.button("6"))
			h.tapField(tt.comment)
			for _, label := range tt.want {
				h.button(label) // fails the test when the key is missing
			}
			if tt.language != "English" {
				for _, english := range []string{"Shift", "Delete", "Done"} {
					if h.showing(english) {
						t.Errorf("the %s keyboard shows %q", tt.language, english)
					}
				}
			}
			test.Tap(h.button(tt.want[3])) // Done returns to the form
			h.requireShowing(tt.comment)
		})
	}
}

func TestReasonChipsAreSingleChoice(t *testing.T) {
	tests := []struct {
		name string
		taps []string
		want []string // the stored reasons, and the one chip shown chosen
	}{
		{"none", nil, nil},
		{"one", []string{"Prices"}, []string{"price"}},
		{"another replaces it", []string{"Prices", "Staff"}, []string{"staff"}},
		{"tapping the chosen one clears it", []string{"Prices", "Prices"}, nil},
		{"replace, then clear", []string{"Prices", "Staff", "Staff"}, nil},
		{"clear, then choose again", []string{"Prices", "Prices", "Cleanliness"}, []string{"cleanliness"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, landscape)
			test.Tap(h.button("5"))
			for _, label := range tt.taps {
				test.Tap(h.button(label))
			}
			var chosen []string
			for _, o := range objects(h.win.Content()) {
				chip, ok := o.(*toggle)
				if !ok || chip.text == h.app.t("followup.consent") {
					continue
				}
				if size := chip.MinSize(); size.Height < touchMin || size.Width < touchMin {
					t.Errorf("chip %q is %v, smaller than a %d px touch target", chip.text, size, touchMin)
				}
				// The state shows as a drawn mark, not only as a fill colour.
				objs := test.WidgetRenderer(chip).Objects()
				box, mark := objs[1], objs[2]
				if !box.Visible() || mark.Visible() != chip.on {
					t.Errorf("chip %q: box visible %v, mark visible %v, on %v", chip.text, box.Visible(), mark.Visible(), chip.on)
				}
				if chip.on {
					chosen = append(chosen, chip.text)
				}
			}
			if len(chosen) > 1 {
				t.Errorf("%d chips shown chosen: %q", len(chosen), chosen)
			}
			test.Tap(h.button("Submit"))
			rows := h.rows()
			if len(rows) != 1 || !slices.Equal(rows[0].Reasons, tt.want) && len(rows[0].Reasons)+len(tt.want) > 0 {
				t.Fatalf("rows = %+v, want one with reasons %q", rows, tt.want)
			}
			if len(chosen) != len(tt.want) {
				t.Errorf("chips shown chosen %q, stored %q", chosen, tt.want)
			}
		})
	}
}

func TestChangeScoreAmendsTheSameResponse(t *testing.T) {
	tests := []struct {
		name        string
		do          func(h *harness)
		wantScore   int
		wantOutcome response.Outcome
		wantReasons []string
		wantLocale  string
	}{
		{
			name: "3, change, 9",
			do: func(h *harness) {
				test.Tap(h.button("Change score"))
				h.requireShowing("Your score now: 3. Tap a new one.")
				test.Tap(h.button("9"))
				h.requireShowing("What is the main reason for your score?")
				if !h.showingExactly("9") || h.showingExactly("3") {
					t.Errorf("the follow-up does not show the new score 9 alone: %q", h.texts())
				}
				test.Tap(h.button("Submit"))
			},
			wantScore: 9, wantOutcome: response.OutcomeSubmitted,
		},
		{
			name: "a reason the new score is not offered is dropped",
			do: func(h *harness) {
				test.Tap(h.button("Waiting time")) // offered to detractors, not promoters
				test.Tap(h.button("Change score"))
				test.Tap(h.button("10"))
				if h.showing("Waiting time") {
					t.Error("a promoter is offered Waiting time")
				}
				test.Tap(h.button("Submit"))
			},
			wantScore: 10, wantOutcome: response.OutcomeSubmitted,
		},
		{
			name: "a reason and comment offered to both are kept",
			do: func(h *harness) {
				test.Tap(h.button("Prices"))
				h.tapField("Add a comment (optional)")
				h.typeOnKeyboard("ok")
				test.Tap(h.button("Done"))
				test.Tap(h.button("Change score"))
				test.Tap(h.button("6"))
				test.Tap(h.button("Skip"))
			},
			wantScore: 6, wantOutcome: response.OutcomeSkipped, wantReasons: []string{"price"},
		},
		{
			name: "twice, and in another language",
			do: func(h *harness) {
				test.Tap(h.button("Change score"))
				test.Tap(h.button("7"))
				test.Tap(h.button("Change score"))
				test.Tap(h.button("Deutsch"))
				h.requireShowing("Ihre Bewertung bisher: 7.")
				test.Tap(h.button("8"))
				test.Tap(h.button("Absenden"))
			},
			wantScore: 8, wantOutcome: response.OutcomeSubmitted, wantLocale: "de",
		},
		{
			name: "walking away from the rating screen times the response out",
			do: func(h *harness) {
				test.Tap(h.button("Change score"))
				h.clock.Advance(31 * time.Second)
				h.requireShowing("How likely are you")
				if h.showing("Your score now") {
					t.Error("the next shopper sees the previous shopper's score")
				}
			},
			wantScore: 3, wantOutcome: response.OutcomeTimedOut,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, landscape)
			test.Tap(h.button("3"))
			h.requireShowing("Your score")
			if !h.showingExactly("3") {
				t.Fatalf("the follow-up does not show the score 3: %q", h.texts())
			}
			tt.do(h)
			if ob := h.outbox(); ob.Open != 0 || ob.Pending != 1 {
				t.Fatalf("outbox %+v, want exactly one completed response", ob)
			}
			r := h.rows()[0]
			wantLocale := tt.wantLocale
			if wantLocale == "" {
				wantLocale = "en"
			}
			if r.Score != tt.wantScore || r.Outcome != tt.wantOutcome || !slices.Equal(r.Reasons, tt.wantReasons) && len(r.Reasons)+len(tt.wantReasons) > 0 || r.Locale != wantLocale {
				t.Errorf("row = %+v, want score %d, outcome %s, reasons %q, locale %s",
					r, tt.wantScore, tt.wantOutcome, tt.wantReasons, wantLocale)
			}
		})
	}
}

// showingExactly reports whether some text on screen is exactly s.
func (h *harness) showingExactly(s string) bool { return slices.Contains(h.texts(), s) }

func TestChangeScoreButtonIsABigTarget(t *testing.T) {
	for _, size := range []fyne.Size{landscape, fyne.NewSize(800, 1280)} {
		h := newHarness(t, size)
		test.Tap(h.button("4"))
		b := h.button("Change score")
		if b.Size().Height < touchMin || b.Size().Width < 3*touchMin {
			t.Errorf("%v: Change score is %v", size, b.Size())
		}
	}
}

// One response is "1 response", not "1 responses".
func TestManagerCountsOneResponseInTheSingular(t *testing.T) {
	h := newHarness(t, landscape)
	test.Tap(h.button("9"))
	test.Tap(h.button("Submit"))
	h.clock.Advance(time.Duration(h.app.survey.ThankYouSeconds) * time.Second)
	openPIN(h)
	enterPIN(h, "2468")
	h.requireShowing("1 response")
	for _, o := range test.LaidOutObjects(h.win.Canvas().Content()) {
		if rt, ok := o.(*widget.RichText); ok && strings.Contains(rt.String(), "1 responses") {
			t.Errorf("the manager view says %q", rt.String())
		}
	}
}
