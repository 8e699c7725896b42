package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/internal/logring"
	"github.com/npskiosk/npskiosk/kiosk"
	"github.com/npskiosk/npskiosk/store"
	kiosksync "github.com/npskiosk/npskiosk/sync"
	"github.com/npskiosk/npskiosk/sync/wire"
)

type enrollCmd struct {
	common    commonFlags
	collector string
	code      string
}

func parseEnroll(args []string, stderr io.Writer) (command, error) {
	fs := flag.NewFlagSet("npskiosk enroll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &enrollCmd{}
	c.common.register(fs)
	fs.StringVar(&c.collector, "collector", "", "collector URL, e.g. https://collector.example.com (required)")
	fs.StringVar(&c.code, "code", "", "enrollment code from 'npscollector device add' (required)")
	if err := c.common.parse(fs, args); err != nil {
		return nil, err
	}
	if c.collector == "" || c.code == "" {
		return nil, errors.New("enroll needs --collector URL and --code CODE")
	}
	return c, nil
}

// run exchanges the code only once it knows the token can be kept: the config must be
// readable and its directory writable first. If the save fails all the same, the code
// still enrolls the same device for a while, and the message says so.
func (c *enrollCmd) run(ctx context.Context, m *Main) error {
	return m.enroll(ctx, c.common, c.collector, wire.EnrollRequest{Code: c.code})
}

// enroll exchanges an enrollment code or key for this kiosk's identity and token and
// writes them to its config, checking first that the config and database can be
// written, so that a code or key use is not spent for nothing.
func (m *Main) enroll(ctx context.Context, common commonFlags, collector string, req wire.EnrollRequest) error {
	return m.enrollInto(ctx, common, collector, req, nil)
}

// enrollInto is enroll with the kiosk's database open already (the window's setup
// screen), or nil to open it here.
func (m *Main) enrollInto(ctx context.Context, common commonFlags, collector string, req wire.EnrollRequest, open *store.DB) error {
	isKey := strings.HasPrefix(req.Code, wire.EnrollmentKeyPrefix)
	secret := "enrollment code"
	if isKey {
		secret = "enrollment key"
	}
	path := common.config
	cfg, _, err := readConfigFile(path)
	if err != nil {
		return fmt.Errorf("%w (the %s was not used)", err, secret)
	}
	if err := checkConfigWritable(path); err != nil {
		return fmt.Errorf("cannot write the config %s, so the %s was not used: %w", path, secret, err)
	}
	// The contact key the collector hands out is kept in the kiosk's database: it must
	// open (created if missing) before the code is spent.
	db := open
	if db == nil {
		dbPath := cfg.DB
		if common.db != "" {
			dbPath = common.db
		}
		if dbPath == "" {
			dbPath = defaultDBPath()
		}
		// Opened and closed here, not handed to Close: the window provisions itself
		// before it opens the database for capture.
		db, err = store.Open(ctx, store.Config{Path: dbPath, Logger: slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			return fmt.Errorf("cannot open the database %s, so the %s was not used: %w", dbPath, secret, err)
		}
		defer db.Close()
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	trust := cfg.Trust()
	if err := trust.CheckURL(collector); err != nil {
		return fmt.Errorf("%w (the %s was not used)", err, secret)
	}
	hc, err := trust.HTTPClient(30 * time.Second)
	if err != nil {
		return fmt.Errorf("%w (the %s was not used)", err, secret)
	}
	res, err := kiosksync.EnrollWith(ctx, collector, req, hc)
	if err != nil {
		return err
	}
	cfg.Collector = CollectorConfig{URL: collector, Token: res.Token, DeviceID: res.DeviceID, StoreID: res.StoreID}
	if common.db != "" {
		cfg.DB = common.db
	}
	save := m.SaveConfig
	if save == nil {
		save = saveConfigFile
	}
	if err := save(path, cfg); err != nil {
		if isKey {
			return fmt.Errorf("the collector enrolled this kiosk as device %s of store %s, but its token could not be saved: %w\n"+
				"Fix that and start again: the key enrolls a new device if it has uses left; revoke %s with npscollector device revoke",
				res.DeviceID, res.StoreID, err, res.DeviceID)
		}
		return fmt.Errorf("the collector enrolled this kiosk as device %s of store %s, but its token could not be saved: %w\n"+
			"Nothing is lost: fix that, then run the same command again with the same code within %d minutes; "+
			"it enrolls the same device again", res.DeviceID, res.StoreID, err, int(kiosksync.EnrollRetryWindow.Minutes()))
	}
	fmt.Fprintf(m.Stdout, "enrolled as device %s of store %s (%s); token written to %s\n",
		res.DeviceID, res.StoreID, res.StoreName, path)
	// A key that cannot be saved now is fetched again by the sync worker: the kiosk asks
	// for no contact until then, so enrollment still succeeds.
	if res.ContactKey != nil {
		if err := db.SetContactKey(ctx, *res.ContactKey); err != nil {
			fmt.Fprintf(m.Stderr, "warning: the collector's contact key could not be saved (%v); the kiosk fetches it when it syncs\n", err)
			return nil
		}
		fmt.Fprintf(m.Stdout, "contacts: sealed with the collector's key %s\n", res.ContactKey.ID)
		return nil
	}
	if err := db.ForgetContactKey(ctx); err != nil {
		fmt.Fprintf(m.Stderr, "warning: could not forget the earlier contact key (%v)\n", err)
	}
	fmt.Fprintf(m.Stdout, "contacts: not asked: the collector has no contact key\n")
	return nil
}

// pinHashes are the manager PIN hashes the kiosk knows as its worker starts, kept out of
// diagnostics bundles.
func pinHashes(cfg Config, settings *devicesettings.Holder) []string {
	hashes := []string{cfg.ManagerPINHash, cfg.Override.ManagerPINHash}
	if settings != nil {
		hashes = append(hashes, settings.Current().ManagerPINHash)
	}
	return hashes
}

// workerHooks are what a running kiosk gives its sync worker; the zero value gives
// nothing (a one-shot command's worker).
type workerHooks struct {
	// onSurvey is called with each new survey the collector sends.
	onSurvey func(wire.Survey)
	// settings, when not nil, takes the device settings HQ sends.
	settings *devicesettings.Holder
	// diagnostics and onRestart serve remote actions (see kiosksync.Config).
	diagnostics func(ctx context.Context, d *wire.Diagnostics)
	onRestart   func()
	// wokenByCaptures: the window's worker, which each completed response wakes
	// (kiosk.Syncer.SyncNow), so a round that found nothing may pause the worker's
	// IdleMax. A headless worker learns of new responses only by looking: it looks every
	// headlessPoll.
	wokenByCaptures bool
}

// headlessPoll is how often a worker no window wakes looks for new responses: the
// responses another program wrote reach the collector within it.
const headlessPoll = 10 * time.Second

// newWorker builds the sync worker for an enrolled kiosk.
func newWorker(cfg Config, db kiosksync.Outbox, log *slog.Logger, hooks workerHooks) (*kiosksync.Worker, error) {
	if !cfg.Enrolled() {
		return nil, errors.New("this kiosk is not enrolled: run npskiosk enroll --collector URL --code CODE")
	}
	trust := cfg.Trust()
	if err := trust.CheckURL(cfg.Collector.URL); err != nil {
		return nil, err
	}
	hc, err := trust.HTTPClient(0) // the worker sets the timeout per attempt
	if err != nil {
		return nil, err
	}
	var onSettings func(wire.DeviceSettings)
	if hooks.settings != nil {
		onSettings = func(ds wire.DeviceSettings) { hooks.settings.SetHQ(ds.Settings) }
	}
	var idleMax time.Duration // the worker's own
	if !hooks.wokenByCaptures {
		idleMax = headlessPoll
	}
	return kiosksync.New(kiosksync.Config{
		IdleMax:          idleMax,
		HTTPClient:       hc,
		Store:            db,
		CollectorURL:     cfg.Collector.URL,
		Token:            cfg.Collector.Token,
		AppVersion:       version,
		FreeDisk:         func() int64 { return freeDisk(filepath.Dir(cfg.DB)) },
		OnSurvey:         hooks.onSurvey,
		OnDeviceSettings: onSettings,
		LocalOverrides:   cfg.Override.Set(),
		Diagnostics:      hooks.diagnostics,
		OnRestart:        hooks.onRestart,
		// The token is left out of bundles by the worker; the PIN's hashes by this.
		Secrets: pinHashes(cfg, hooks.settings),
		Logger:  log,
		// Beside the database: the package's updater (npskiosk-update) reads the
		// rollout's target there and writes how its upgrade went.
		UpdateDir: filepath.Dir(cfg.DB),
	})
}

type syncCmd struct {
	common commonFlags
	once   bool
}

func parseSync(args []string, stderr io.Writer) (command, error) {
	fs := flag.NewFlagSet("npskiosk sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &syncCmd{}
	c.common.register(fs)
	fs.BoolVar(&c.once, "once", false, "upload everything pending, then exit: 0 only when the queue is empty")
	if err := c.common.parse(fs, args); err != nil {
		return nil, err
	}
	return c, nil
}

// run uploads headless. Without --once it runs the worker the window runs, the same
// way, until ctx ends; Close then waits for it before closing the database.
func (c *syncCmd) run(ctx context.Context, m *Main) error {
	cfg, err := c.common.load()
	if err != nil {
		return err
	}
	ring := logring.New(recentLogs, nil)
	log := ringLogger(m.Stderr, ring)
	db, err := m.openDB(ctx, cfg.DB, log)
	if err != nil {
		return err
	}
	if !c.once {
		// A restart action stops the worker and exits with wire.ExitRestart; the
		// service's Restart=always starts it again.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		w, err := newWorker(cfg, db, log, workerHooks{diagnostics: m.diagnostics(c.common, ring),
			onRestart: func() { m.askRestart(); cancel() }})
		if err != nil {
			return err
		}
		m.startMaintenance(ctx, db, cfg.Retention())
		m.startWorker(ctx, w)
		select {
		case <-ctx.Done():
		case <-w.Done():
		}
		return m.restartExit()
	}
	w, err := newWorker(cfg, db, log, workerHooks{})
	if err != nil {
		return err
	}
	n, err := w.Drain(ctx)
	if err == nil {
		// Health too, as the worker does each round: the queue now, the version and the
		// updater's last word; the reply may bring a rollout's target.
		if hbErr := w.SendHeartbeat(ctx); hbErr != nil {
			fmt.Fprintf(m.Stderr, "warning: heartbeat: %v\n", hbErr)
		}
	}
	ob, obErr := db.Outbox(context.WithoutCancel(ctx))
	if obErr != nil {
		return errors.Join(err, obErr)
	}
	fmt.Fprintf(m.Stdout, "uploaded %d; %d waiting, %d quarantined\n", n, ob.Pending, ob.Quarantined)
	if err != nil {
		return err
	}
	if ob.Pending > 0 {
		return fmt.Errorf("%d responses still waiting", ob.Pending)
	}
	return nil
}

// syncStatus shows the worker to the kiosk UI; insecure: plain http:// to another
// machine, allowed by allow_insecure_http.
type syncStatus struct {
	w        *kiosksync.Worker
	insecure bool
}

func (s syncStatus) Status() kiosk.SyncStatus {
	st := s.w.Status()
	return kiosk.SyncStatus{Enrolled: !st.Revoked, Online: st.Online, LastSuccess: st.LastSuccess, LastError: st.LastError,
		InsecureHTTP: s.insecure}
}

func (s syncStatus) SyncNow() { s.w.SyncNow() }

// store.DB is the worker's outbox.
var _ kiosksync.Outbox = (*store.DB)(nil)
