// Package kiosk is the Fyne user interface of the feedback kiosk: the shopper's rating,
// follow-up and thank-you screens with their idle reset and on-screen keyboard, and the
// store manager's PIN pad and dashboard. It records through the store and reads the sync
// worker's status through small interfaces; it never talks SQL or HTTP itself.
package kiosk

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"fyne.io/fyne/v2"

	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// Capture is where taps and follow-ups are recorded (capture rules 1 and 2).
type Capture interface {
	Record(ctx context.Context, tap response.Tap) (store.Recorded, error)
	// Rescore changes the score of a response whose follow-up is still open: the
	// shopper went back to correct their tap, which stays one response.
	Rescore(ctx context.Context, id string, tap response.Tap) error
	Complete(ctx context.Context, id string, f response.FollowUp) error
}

// Stats is the local data the manager view shows.
type Stats interface {
	Tally(ctx context.Context, from, to time.Time) (store.RangeTally, error)
	Daily(ctx context.Context, from, to time.Time, loc *time.Location) ([]store.DayTally, error)
	ReasonCounts(ctx context.Context, from, to time.Time, limit int) ([]store.ReasonCount, error)
	RecentComments(ctx context.Context, since time.Time, limit int) ([]store.Comment, error)
	Outbox(ctx context.Context) (store.OutboxStats, error)
}

// Settings keeps small durable values, such as the PIN lock-out counter.
type Settings interface {
	Setting(ctx context.Context, key string) (string, bool, error)
	SetSetting(ctx context.Context, key, value string) error
}

// SyncStatus is what the manager view shows about uploading to the collector.
type SyncStatus struct {
	Enrolled    bool // false: no collector configured, nothing will upload
	Online      bool
	LastSuccess time.Time
	LastError   string // in plain words; empty when the last attempt succeeded
	// InsecureHTTP: the collector is reached by plain http:// to another machine, allowed
	// only by allow_insecure_http in the config; the manager view says so.
	InsecureHTTP bool
}

// ContactKeys gives the collector's key that contacts are sealed to before Complete
// stores them: the kiosk's disk never holds a readable contact. No key: the follow-up
// does not ask for contact details at all.
type ContactKeys interface {
	ContactKey(ctx context.Context) (contactseal.PublicKey, bool, error)
}

// CaseContacts gives a case's contact as the collector sent it with the case, held in
// memory by the sync worker: contact in clear, or sealedKeyID when the collector cannot
// open it; known is false until the cases were pulled since the kiosk started.
type CaseContacts interface {
	CaseContact(caseID string) (contact, sealedKeyID string, known bool)
}

// Storage says whether the disk is full, so that the rating screen shows "out of
// service" rather than taking taps it cannot store. store.DB implements it.
type Storage interface {
	StorageFull() bool
}

// Syncer is the sync worker as the UI sees it.
type Syncer interface {
	Status() SyncStatus
	SyncNow()
}

// Clock tells the time and runs delayed work on the UI goroutine. Tests replace it.
type Clock interface {
	Now() time.Time
	// AfterFunc runs f on the UI goroutine after d, unless the returned stop is called first.
	AfterFunc(d time.Duration, f func()) (stop func())
}

// RealClock is the wall clock; its timers hand their work to the UI goroutine with fyne.Do.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc runs f through fyne.Do after d.
func (RealClock) AfterFunc(d time.Duration, f func()) func() {
	t := time.AfterFunc(d, func() { fyne.Do(f) })
	return func() { t.Stop() }
}

// Config is what the UI needs. Fields say when they are required.
type Config struct {
	Capture  Capture  // required
	Stats    Stats    // required
	Settings Settings // required: PIN lock-out state
	// Survey returns the survey to show; it is asked again at every reset, so a new
	// survey fetched by the sync worker shows from the next shopper on. Required.
	Survey func() wire.Survey
	// Catalog holds the translations. Required.
	Catalog *Catalog
	// FollowUps keeps the store's follow-up cases for the manager view; nil means
	// Capture when it does (store.DB does), else the view has no Follow-ups section.
	FollowUps FollowUps
	// Channels holds the store's NPS per channel as the collector last sent it; nil means
	// Stats when it does (store.DB does). The manager view shows it when the store has
	// answers from other channels than its kiosks.
	Channels ChannelStats
	// Themes counts the comment themes of the kiosk's own answers; nil means Stats when
	// it does (store.DB does), else the manager view has no themes section.
	Themes ThemeStats
	// Storage says when the disk is full; nil means Capture when it does (store.DB does).
	Storage Storage
	// ContactKeys is the key contacts are sealed to; nil means Capture when it does
	// (store.DB does), else no contact is asked for.
	ContactKeys ContactKeys
	// CaseContacts are the contacts of cases, from the sync worker's memory; nil: the
	// manager view says a contact shows once the kiosk reaches the collector.
	CaseContacts CaseContacts
	// Sync is the sync worker; nil means the kiosk is not enrolled with a collector.
	Sync Syncer
	// Setup, when set, enrolls the kiosk from its setup screen. With it and no Sync the
	// kiosk is not set up: Start shows so, with the setup screen behind a button, instead
	// of the survey, and nothing is captured until Setup has enrolled it.
	Setup Setup
	// SetupCollector is the collector address the setup screen starts with; empty:
	// "https://".
	SetupCollector string
	// ManagerPINHash is the argon2id hash of the manager PIN; empty disables the manager
	// view. Used only when Device is nil.
	ManagerPINHash string
	// Device gives the settings the kiosk runs with (HQ's, with the local overrides laid
	// over them: devicesettings.Effective). It is asked again at every reset and every
	// PIN attempt, so a PIN rotated at HQ works from the next attempt on and the other
	// settings from the next shopper on. It may be called from the UI goroutine while
	// the sync worker changes what it returns: it must be safe for that. nil: the manager
	// PIN is ManagerPINHash and nothing else is set.
	Device func() devicesettings.Settings
	// Language is the default language; empty means the survey's first.
	Language string
	// Segment is the customer segment every response of this kiosk is recorded with (a
	// label, response.CheckLabel); empty: none.
	Segment string
	// Location is the store's time zone for "today"; nil means time.Local.
	Location *time.Location
	// Clock; nil means RealClock.
	Clock Clock
	// HideCursor hides the mouse pointer over the whole window (touch screens).
	HideCursor bool
	// OnExit is called when a manager leaves kiosk mode; nil hides the button.
	OnExit func()
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Timing of the flow. The follow-up's idle timeout comes from the survey.
const (
	stillThereLead   = 5 * time.Second // the prompt shows this long before an idle reset
	managerIdleLock  = time.Minute
	pinIdleReset     = 30 * time.Second
	cornerTapsNeeded = 5
	cornerTapWindow  = 3 * time.Second
	saveTimeout      = 5 * time.Second
	statusRefresh    = 5 * time.Second
	storageRecheck   = 5 * time.Second // how often "out of service" looks for space again
	sleepRecheck     = 5 * time.Minute // how often "closed" looks at the clock again
)

// App drives the kiosk's screens in one window.
type App struct {
	cfg    Config
	win    fyne.Window
	clock  Clock
	log    *slog.Logger
	loc    *time.Location
	pin    *pinGuard
	survey wire.Survey
	// settings are the device settings as of the last reset (the PIN pad asks afresh).
	settings devicesettings.Settings
	lang     string
	// screen is bumped on every screen change; timers from an earlier screen check it
	// and do nothing, so a late timer can never act on the wrong screen.
	screen uint64
	// background runs slow reads off the UI goroutine, and onUI (fyne.Do) hands their
	// results back to it. Tests run them in place, so a screen is complete once drawn.
	background, onUI func(func())
	// themes is the analyzer of the survey's comment themes, kept while the survey's
	// version stays themesVersion. Only the UI goroutine touches them.
	themes        *store.Themes
	themesVersion int
}

// New makes the UI in win; call Start to show the first screen.
func New(win fyne.Window, cfg Config) (*App, error) {
	switch {
	case cfg.Capture == nil, cfg.Stats == nil, cfg.Settings == nil:
		return nil, errors.New("kiosk: Capture, Stats and Settings are required")
	case cfg.Survey == nil:
		return nil, errors.New("kiosk: Survey is required")
	case cfg.Catalog == nil:
		return nil, errors.New("kiosk: Catalog is required")
	}
	a := &App{cfg: cfg, win: win, clock: cfg.Clock, log: cfg.Logger, loc: cfg.Location,
		background: func(f func()) { go f() }, onUI: fyne.Do}
	if a.clock == nil {
		a.clock = RealClock{}
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.loc == nil {
		a.loc = time.Local
	}
	if a.cfg.Storage == nil {
		a.cfg.Storage, _ = cfg.Capture.(Storage)
	}
	if a.cfg.ContactKeys == nil {
		a.cfg.ContactKeys, _ = cfg.Capture.(ContactKeys)
	}
	a.pin = &pinGuard{hash: func() string { return a.device().ManagerPINHash }, settings: cfg.Settings, now: a.clock.Now}
	return a, nil
}

// Start shows the rating screen, or that the kiosk is not set up.
func (a *App) Start() {
	if a.notSetUp() {
		a.showNotSetUp()
		return
	}
	a.showRating()
}

// Language is the language the shopper's screens are in now.
func (a *App) Language() string { return a.lang }

// t translates key in the current language.
func (a *App) t(key string, args ...string) string { return a.cfg.Catalog.T(a.lang, key, args...) }

// show replaces the window's content with what build makes, first invalidating the
// previous screen's timers, so that timers started while building belong to the new one.
func (a *App) show(build func() fyne.CanvasObject) {
	a.screen++
	content := build()
	if a.cfg.HideCursor {
		content = newCursorHider(content)
	}
	a.win.SetContent(content)
}

// after runs f after d if the screen has not changed meanwhile.
func (a *App) after(d time.Duration, f func()) (stop func()) {
	screen := a.screen
	return a.clock.AfterFunc(d, func() {
		if a.screen == screen {
			f()
		}
	})
}

// device is the settings the kiosk runs with now.
func (a *App) device() devicesettings.Settings {
	if a.cfg.Device == nil {
		return devicesettings.Settings{ManagerPINHash: a.cfg.ManagerPINHash}
	}
	return a.cfg.Device()
}

// reset starts over for the next shopper: fresh survey and settings, default language.
func (a *App) reset() {
	a.settings = a.device()
	a.survey = withSettings(a.cfg.Survey(), a.settings)
	a.lang = a.cfg.Language
	if a.lang == "" || !a.offers(a.lang) {
		a.lang = a.survey.Languages[0]
	}
}

// withSettings applies the device settings to the survey a shopper sees: the idle
// timeout, the languages (those of the settings' the survey has, in the settings' order;
// the survey's own when it has none of them) and the name shown for the store.
func withSettings(s wire.Survey, d devicesettings.Settings) wire.Survey {
	if d.IdleTimeoutSeconds > 0 {
		s.IdleTimeoutSeconds = d.IdleTimeoutSeconds
	}
	if len(d.Languages) > 0 {
		var langs []string
		for _, l := range d.Languages {
			if slices.Contains(s.Languages, l) {
				langs = append(langs, l)
			}
		}
		if len(langs) > 0 {
			s.Languages = langs
		}
	}
	if d.DisplayName != "" {
		s.StoreName = d.DisplayName
	}
	return s
}

// sleepWindow is the sleep hours of the settings as of the last reset, if any. Settings
// that passed Validate always parse; should some not, the kiosk stays awake and says so.
func (a *App) sleepWindow() (devicesettings.SleepWindow, bool) {
	if a.settings.Sleep == "" {
		return devicesettings.SleepWindow{}, false
	}
	w, err := devicesettings.ParseSleep(a.settings.Sleep)
	if err != nil {
		a.log.Error("ignoring the sleep hours", "err", err)
		return devicesettings.SleepWindow{}, false
	}
	return w, true
}

func (a *App) offers(lang string) bool {
	for _, l := range a.survey.Languages {
		if l == lang {
			return true
		}
	}
	return false
}

func (a *App) showRating() {
	a.reset()
	a.show(newRatingScreen(a, nil).content)
}

// storageFull reports whether a tap cannot be stored now.
func (a *App) storageFull() bool { return a.cfg.Storage != nil && a.cfg.Storage.StorageFull() }

// switchLanguage redraws the rating screen in lang; amend is the open follow-up of a
// shopper who came back to change their score, nil for a new shopper.
func (a *App) switchLanguage(lang string, amend *followUpScreen) {
	a.lang = lang
	a.show(newRatingScreen(a, amend).content)
}

// showRescore returns to the rating screen for the same shopper: the tap they choose
// amends their open response instead of starting another.
func (a *App) showRescore(f *followUpScreen) {
	a.show(newRatingScreen(a, f).content)
}

func (a *App) showFollowUp(rec store.Recorded, score int) {
	a.show(newFollowUpScreen(a, rec, score).content)
}

func (a *App) showThanks() {
	a.show(newThanksScreen(a).content)
	a.after(time.Duration(a.survey.ThankYouSeconds)*time.Second, a.showRating)
}

func (a *App) showPIN() { a.show(newPINScreen(a).content) }

func (a *App) showManager() { a.show(newManagerScreen(a).content) }

// contactKey is the key to seal a contact to, and false when the shopper is not to be
// asked for one: no key, or it cannot be read.
func (a *App) contactKey() (contactseal.PublicKey, bool) {
	if a.cfg.ContactKeys == nil {
		return contactseal.PublicKey{}, false
	}
	ctx, cancel := a.ctx()
	defer cancel()
	k, ok, err := a.cfg.ContactKeys.ContactKey(ctx)
	if err != nil {
		a.log.Error("could not read the contact key; contacts are not asked for", "err", err)
		return contactseal.PublicKey{}, false
	}
	return k, ok
}

func (a *App) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), saveTimeout)
}
