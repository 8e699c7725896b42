package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/internal/logring"
	"github.com/npskiosk/npskiosk/kiosk"
	"github.com/npskiosk/npskiosk/store"
	kiosksync "github.com/npskiosk/npskiosk/sync"
	"github.com/npskiosk/npskiosk/sync/wire"
)

type windowCmd struct {
	common     commonFlags
	fullscreen bool
	windowed   bool
	width      float32
	height     float32
	lang       string
	cpuProfile string
}

func parseWindow(args []string, stderr io.Writer) (command, error) {
	fs := flag.NewFlagSet("npskiosk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &windowCmd{}
	c.common.register(fs)
	fs.BoolVar(&c.fullscreen, "fullscreen", false, "full screen kiosk mode (overrides the config)")
	fs.BoolVar(&c.windowed, "windowed", false, "open a normal window even if the config says fullscreen")
	size := fs.String("window-size", "1280x800", "window size when not full screen, WIDTHxHEIGHT")
	fs.StringVar(&c.lang, "lang", "", "default language (overrides the config)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file until the window closes")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage, "\nFlags of the kiosk window:\n")
		fs.PrintDefaults()
	}
	if err := c.common.parse(fs, args); err != nil {
		return nil, err
	}
	if _, err := fmt.Sscanf(*size, "%fx%f", &c.width, &c.height); err != nil || c.width < 320 || c.height < 320 {
		return nil, fmt.Errorf("--window-size %q: want WIDTHxHEIGHT, each at least 320", *size)
	}
	return c, nil
}

// run opens the kiosk window and returns when it closes (the manager's "Exit kiosk", or
// ctx ending). The sync worker and the database it starts are Close's to stop, in that
// order.
func (c *windowCmd) run(ctx context.Context, m *Main) error {
	// A kiosk set up with a provisioning file enrolls itself before anything else; if
	// it cannot (no network yet, a used-up key), it says so and starts unenrolled, and
	// tries again at the next start.
	if _, err := m.provision(ctx, c.common); err != nil {
		newLogger(m.Stderr).Error("could not enroll from the provisioning file", "err", err)
	}
	cfg, err := c.common.load()
	if err != nil {
		return err
	}
	if c.fullscreen {
		cfg.Fullscreen = true
	}
	if c.windowed {
		cfg.Fullscreen = false
	}
	if c.lang != "" {
		cfg.Language = c.lang
	}

	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	ring := logring.New(recentLogs, nil)
	log := ringLogger(m.Stderr, ring)
	db, err := m.openDB(ctx, cfg.DB, log)
	if err != nil {
		return err
	}
	survey, err := initialSurvey(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	db.SetRapidTapRule(rapidTapRule(survey))
	applyMasking(db, survey, log)
	// This process is the only one that captures: whatever is open was left by a crash.
	if n, err := db.RecoverOpen(ctx, 0); errors.Is(err, store.ErrStorageFull) {
		// They stay open until there is room; the window starts and says it is full.
		log.Error("could not complete responses left open: the disk is full", "err", err)
	} else if err != nil {
		return err
	} else if n > 0 {
		log.Warn("completed responses left open by the previous run", "count", n)
	}
	m.startMaintenance(ctx, db, cfg.Retention())
	// HQ's device settings as last received, so a kiosk restarted offline keeps a PIN
	// rotated at HQ; the worker hands it newer ones.
	settings := cfg.DeviceSettings()
	if ds, ok, err := kiosksync.CachedDeviceSettings(ctx, db); err != nil {
		log.Warn("ignoring the cached device settings", "err", err)
	} else if ok {
		settings.SetHQ(ds.Settings)
	}
	if o := settings.Overridden(); len(o) > 0 {
		log.Info("settings overridden by this kiosk's config", "settings", o)
	}
	// A new survey from the collector shows from the next shopper on.
	var current atomic.Pointer[wire.Survey]
	current.Store(&survey)
	// startSync starts the sync worker of an enrolled kiosk: now, or once the setup
	// screen has enrolled it.
	startSync := func(cfg Config) (kiosk.Enrolled, error) {
		w, err := newWorker(cfg, db, log, workerHooks{
			wokenByCaptures: true,
			onSurvey: func(s wire.Survey) {
				current.Store(&s)
				db.SetRapidTapRule(rapidTapRule(s))
				applyMasking(db, s, log)
			},
			settings:    settings,
			diagnostics: m.diagnostics(c.common, ring),
			// A restart action closes the window; run then returns wire.ExitRestart and
			// the service (Restart=always) starts the kiosk again.
			onRestart: m.askRestart,
		})
		if err != nil {
			return kiosk.Enrolled{}, err
		}
		m.startWorker(ctx, w)
		return kiosk.Enrolled{Sync: syncStatus{w: w, insecure: cfg.Trust().Insecure(cfg.Collector.URL)}, CaseContacts: w}, nil
	}
	var (
		enrolled kiosk.Enrolled
		setup    kiosk.Setup
	)
	if cfg.Enrolled() {
		if enrolled, err = startSync(cfg); err != nil {
			return err
		}
	} else {
		// An unenrolled kiosk never pretends to be a store: it shows that it is not set
		// up, and staff set it up on the screen.
		log.Warn("this kiosk is not enrolled: it shows the setup screen and records nothing until it is set up")
		setup = &screenSetup{m: m, common: c.common, db: db, startSync: startSync}
	}
	msgs, err := assets.Translations()
	if err != nil {
		return err
	}

	fa := app.NewWithID("io.github.npskiosk.kiosk")
	fa.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon()))
	fa.Settings().SetTheme(kiosk.Theme{})
	win := fa.NewWindow("NPS kiosk")
	win.SetPadded(false)
	win.Resize(fyne.NewSize(c.width, c.height))
	if cfg.Fullscreen {
		win.SetFullScreen(true)
		// Leaving kiosk mode needs the manager PIN: the window ignores close requests.
		win.SetCloseIntercept(func() { log.Info("close request ignored in kiosk mode") })
	}
	ui, err := kiosk.New(win, kiosk.Config{
		Capture:        db,
		Stats:          db,
		Settings:       db,
		Survey:         func() wire.Survey { return *current.Load() },
		Sync:           enrolled.Sync,
		CaseContacts:   enrolled.CaseContacts,
		Setup:          setup,
		SetupCollector: cfg.Collector.URL,
		Catalog:        kiosk.NewCatalog(msgs, "en"),
		Device:         settings.Current,
		Language:       cfg.Language,
		Segment:        cfg.Segment,
		Location:       cfg.Location(),
		HideCursor:     cfg.HideCursor,
		OnExit:         fa.Quit,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	// Fyne's loop must run on this goroutine (the main one); Close and ctx stop it from
	// others through fyne.Do.
	handle := &uiHandle{quit: func() { fyne.Do(fa.Quit) }, done: make(chan struct{})}
	m.trackUI(handle)
	go func() {
		select {
		case <-ctx.Done():
			handle.quit()
		case <-m.restartAsked(): // asked even before the window opened
			handle.quit()
		case <-handle.done:
		}
	}()
	ui.Start()
	log.Info("kiosk started", "version", version, "db", cfg.DB, "fullscreen", cfg.Fullscreen)
	win.ShowAndRun()
	close(handle.done)
	return m.restartExit()
}

// applyMasking has the store mask the survey's own patterns with the built-in kinds of
// personal data. A survey that fails Validate never gets here (the worker and the
// loaders refuse it); should one, the built-in kinds are still masked.
func applyMasking(db *store.DB, s wire.Survey, log *slog.Logger) {
	m, err := s.Masking()
	if err != nil {
		log.Error("masking the built-in kinds of personal data only", "err", err)
	}
	db.SetMasking(m)
}

// initialSurvey is the last survey the collector sent, so a kiosk restarted offline
// shows it; before the first one, the configured file or the built-in survey.
func initialSurvey(ctx context.Context, cfg Config, db *store.DB, log *slog.Logger) (wire.Survey, error) {
	cached, ok, err := kiosksync.CachedSurvey(ctx, db)
	if err != nil {
		log.Warn("ignoring the cached survey", "err", err)
	}
	if ok {
		return cached, nil
	}
	return loadSurvey(cfg)
}

// loadSurvey reads the configured survey file, or the one built in.
func loadSurvey(cfg Config) (wire.Survey, error) {
	if cfg.Survey == "" {
		return assets.DefaultSurvey()
	}
	b, err := os.ReadFile(cfg.Survey)
	if err != nil {
		return wire.Survey{}, fmt.Errorf("read survey: %w", err)
	}
	s, err := assets.ParseSurvey(b)
	if err != nil {
		return wire.Survey{}, fmt.Errorf("%s: %w", cfg.Survey, err)
	}
	return s, nil
}
