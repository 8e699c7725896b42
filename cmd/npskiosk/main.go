// Command npskiosk is the in-store feedback kiosk: the full-screen window shoppers
// answer on, and the subcommands IT uses on the device.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	_ "github.com/npskiosk/npskiosk/internal/cleanlocale" // before Fyne reads the locale
	"github.com/npskiosk/npskiosk/store"
	kiosksync "github.com/npskiosk/npskiosk/sync"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := NewMain(os.Stdin, os.Stdout, os.Stderr)
	err := m.ParseFlags(ctx, os.Args[1:])
	if err == nil {
		err = m.Run(ctx)
	}
	// A stop asked for while starting (SIGTERM from systemd or Ctrl-C) is a clean stop,
	// not a failure, even if it cut an integrity check or a request short.
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	// From here a second signal kills the process at once, should Close ever hang.
	stop()
	err = errors.Join(err, m.Close())
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "npskiosk:", err)
	}
	os.Exit(exitCode(err))
}

const usage = `npskiosk: the in-store feedback kiosk.

Usage:
  npskiosk [flags]              open the kiosk window
  npskiosk enroll --collector URL --code CODE
                                exchange an enrollment code for a device token
  npskiosk provision            enroll now from provision.toml beside the config (collector, key,
                                optional name), then delete it; the window does this when it starts
  npskiosk sync [--once]        upload the outbox (headless); --once exits 0 only when empty
  npskiosk status [--json] [--max-unsynced 1h]
                                outbox, collector, quarantine, HQ's settings version and local
                                overrides: exit 0 healthy, 1 needs attention,
                                2 cannot tell (no config or database)
  npskiosk doctor               check config, database, disk, collector, token, clock: OK or what to do
  npskiosk requeue              put quarantined responses back in the outbox (after a rule
                                change or a clock fix), for the collector to judge again
  npskiosk simulate [flags]     add simulated responses (demos, tests)
  npskiosk pin-hash             read a PIN on stdin, print its hash for the config (manager_pin_hash:
                                the PIN until HQ sets one; under [override]: wins over HQ's)
  npskiosk version              print the version

Run "npskiosk COMMAND -h" for a command's flags.
`

// Main is the kiosk program. ParseFlags picks the command and reads its flags; Run runs
// it until it is done or ctx ends; Close stops what Run started, in an order that never
// pulls the database from under a user: the window, then the sync worker (waiting until
// it has returned), then the database. Close may be called whether or not Run was.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// SaveConfig writes the config file; nil means an atomic write (saveConfigFile).
	// Tests set it to make the save fail after the enrollment code was exchanged.
	SaveConfig func(path string, cfg Config) error

	cmd command

	mu     sync.Mutex // guards what Run started, which Close stops
	ui     *uiHandle
	worker *kiosksync.Worker
	maint  func() // stops the database's maintenance and waits for it
	db     *store.DB
	// restart: a remote restart action asked the kiosk to stop and be started again;
	// restartCh is closed then (see restartAsked).
	restart   bool
	restartCh chan struct{}
}

// command is one subcommand with its flags already parsed.
type command interface {
	run(ctx context.Context, m *Main) error
}

// NewMain returns a program reading and writing the given streams.
func NewMain(stdin io.Reader, stdout, stderr io.Writer) *Main {
	return &Main{Stdin: stdin, Stdout: stdout, Stderr: stderr}
}

// ParseFlags picks the subcommand (none opens the window) and parses its flags. Bad
// flags are a usage error (exit status 2).
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	name := ""
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	parse := parserFor(name)
	if parse == nil {
		fmt.Fprint(m.Stderr, usage)
		return usageError(fmt.Errorf("unknown command %q", name))
	}
	cmd, err := parse(args, m.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError(err)
	}
	m.cmd = cmd
	return nil
}

// parserFor returns the flag parser of a subcommand, nil for an unknown one.
func parserFor(name string) func(args []string, stderr io.Writer) (command, error) {
	switch name {
	case "":
		return parseWindow
	case "enroll":
		return parseEnroll
	case "provision":
		return parseProvision
	case "sync":
		return parseSync
	case "status":
		return parseStatus
	case "doctor":
		return parseDoctor
	case "requeue":
		return parseRequeue
	case "simulate":
		return parseSimulate
	case "pin-hash":
		return func([]string, io.Writer) (command, error) { return pinHashCmd{}, nil }
	case "version":
		return func([]string, io.Writer) (command, error) { return versionCmd{}, nil }
	case "help":
		return func([]string, io.Writer) (command, error) { return helpCmd{}, nil }
	}
	return nil
}

// Run runs the parsed command until it is done (a one-shot command), the window closes,
// or ctx ends (the window, "sync" without --once). It leaves the stopping to Close.
func (m *Main) Run(ctx context.Context) error {
	if m.cmd == nil {
		return errors.New("run: no command (ParseFlags first)")
	}
	return m.cmd.run(ctx, m)
}

// Close stops the window and waits for its loop to end, then stops the sync worker and
// waits until it has returned (no upload in flight, no acknowledgement half applied),
// and only then closes the database, which checkpoints its WAL.
func (m *Main) Close() error {
	m.mu.Lock()
	ui, w, maint, db := m.ui, m.worker, m.maint, m.db
	m.ui, m.worker, m.maint, m.db = nil, nil, nil, nil
	m.mu.Unlock()
	var errs []error
	if ui != nil {
		ui.stop()
	}
	if w != nil {
		if err := w.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("sync worker: %w", err))
		}
	}
	if maint != nil {
		maint()
	}
	if db != nil {
		if err := db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Run parses args and runs the command to its end, then closes: the whole program
// without the signal handling, for tests.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	m := NewMain(stdin, stdout, stderr)
	err := m.ParseFlags(ctx, args)
	if err == nil {
		err = m.Run(ctx)
	}
	return errors.Join(err, m.Close())
}

// openDB opens the kiosk's database for writing (created if missing) and hands it to
// Close.
func (m *Main) openDB(ctx context.Context, path string, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, store.Config{Path: path, Logger: log})
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.db = db
	m.mu.Unlock()
	return db, nil
}

// openDBReadOnly opens an existing database to look at it, creating nothing, and hands
// it to Close.
func (m *Main) openDBReadOnly(ctx context.Context, path string) (*store.DB, error) {
	db, err := store.OpenReadOnly(ctx, store.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.db = db
	m.mu.Unlock()
	return db, nil
}

// startWorker runs the sync worker in the background; Close stops it before the
// database closes.
func (m *Main) startWorker(ctx context.Context, w *kiosksync.Worker) {
	m.mu.Lock()
	m.worker = w
	m.mu.Unlock()
	w.Start(ctx)
}

// How often the kiosk's database is looked after while it runs: every 5 minutes, and
// every 30 s while its disk is full (store.DB.Maintain), so the scores come back within
// 30 s of space returning while an idle kiosk's CPU sleeps.
const (
	maintainEvery     = 5 * time.Minute
	maintainWhileFull = 30 * time.Second
)

// startMaintenance runs the database's upkeep in the background, off the taps' path:
// it looks for space after a full disk and checkpoints the WAL, and at start and then
// daily purges synced responses past retention (the config's retention_days). Close
// stops it before the database closes.
func (m *Main) startMaintenance(ctx context.Context, db *store.DB, retention time.Duration) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.Maintain(ctx, maintainEvery, maintainWhileFull, retention)
	}()
	m.mu.Lock()
	m.maint = func() {
		cancel()
		<-done
	}
	m.mu.Unlock()
}

// uiHandle stops a running window: quit asks its loop to end, done is closed once it has.
type uiHandle struct {
	quit func()
	done chan struct{}
}

func (u *uiHandle) stop() {
	select {
	case <-u.done:
	default:
		u.quit()
		<-u.done
	}
}

func (m *Main) trackUI(u *uiHandle) {
	m.mu.Lock()
	m.ui = u
	m.mu.Unlock()
}

// exitError carries an exit status other than 1.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// usageError is a bad command line: exit status 2, as the flag package uses.
func usageError(err error) error { return exitError{code: 2, err: err} }

// exitCode is the process's exit status for what Run and Close returned.
func exitCode(err error) int {
	var ee exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

// commonFlags are the flags every command takes.
type commonFlags struct {
	config   string
	db       string
	explicit bool // --config was given: a missing file is then an error
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", defaultConfigPath, "kiosk config file (TOML)")
	fs.StringVar(&c.db, "db", "", "database file (overrides the config's db)")
}

// parse parses args into fs and notes whether --config was given.
func (c *commonFlags) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { c.explicit = c.explicit || f.Name == "config" })
	return nil
}

// load reads the config and applies the --db override.
func (c *commonFlags) load() (Config, error) {
	cfg, err := LoadConfig(c.config, c.explicit)
	if err != nil {
		return Config{}, err
	}
	if c.db != "" {
		cfg.DB = c.db
	}
	return cfg, nil
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type versionCmd struct{}

func (versionCmd) run(_ context.Context, m *Main) error {
	fmt.Fprintln(m.Stdout, "npskiosk", version)
	return nil
}

type helpCmd struct{}

func (helpCmd) run(_ context.Context, m *Main) error {
	fmt.Fprint(m.Stdout, usage)
	return nil
}
