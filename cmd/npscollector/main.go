// Command npscollector is the central server kiosks upload to, and the tool IT uses to
// register stores and devices.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/httpapi"
	"github.com/npskiosk/npskiosk/collector/storage"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "npscollector:", err)
		}
		os.Exit(1)
	}
}

// Run parses the arguments, runs the command and closes what it opened.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := NewMain(stdout, stderr)
	if err := m.ParseFlags(ctx, args); err != nil {
		return err
	}
	return errors.Join(m.Run(ctx), m.Close())
}

const usage = `npscollector: the central server of the feedback kiosks.

Usage:
  npscollector serve [--addr 127.0.0.1:8080]
  npscollector store add --id S042 --name "Main Street" --timezone Europe/Berlin [--region R]
  npscollector device add --store S042 --name "Till 3" [--ttl 24h]
  npscollector device list
  npscollector device revoke ID
  npscollector token add --name hq [--store S042]
  npscollector survey set (--store S042 | --all) FILE.toml
  npscollector export --format csv [--store S042] [--region R] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
  npscollector version

Every command takes --db PATH_OR_URL and --json. Without --db, every command uses the
same database: $NPSCOLLECTOR_DB, else /var/lib/npscollector/collector.db where that folder
exists (the package's), else ~/.local/share/npscollector/collector.db. Only serve creates
a missing database; the other commands refuse, so a typo cannot start an empty one.
`

// env is what a subcommand runs with: the collector's service, output and arguments.
type env struct {
	svc    *collector.Service
	out    printer
	args   []string
	stderr io.Writer
}

// command registers a subcommand's flags and returns what runs it after parsing.
type command func(fs *flag.FlagSet) func(ctx context.Context, e env) error

var commands = map[string]command{
	"serve": func(fs *flag.FlagSet) func(context.Context, env) error {
		addr := fs.String("addr", "127.0.0.1:8080", "listen address")
		return func(ctx context.Context, e env) error { return serve(ctx, e.svc, *addr, e.stderr) }
	},
	"store add": func(fs *flag.FlagSet) func(context.Context, env) error {
		id := fs.String("id", "", "store id, e.g. S042 (required)")
		name := fs.String("name", "", "store name (required)")
		tz := fs.String("timezone", "", "IANA time zone, e.g. Europe/Berlin (required)")
		region := fs.String("region", "", "region")
		return func(ctx context.Context, e env) error {
			s := storage.Store{ID: *id, Name: *name, Timezone: *tz, Region: *region}
			if err := e.svc.AddStore(ctx, s); err != nil {
				return err
			}
			return e.out.print(s, fmt.Sprintf("added store %s (%s, %s)\n", s.ID, s.Name, s.Timezone))
		}
	},
	"device add": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "store id (required)")
		name := fs.String("name", "", "device name, e.g. \"Till 3\" (required)")
		ttl := fs.Duration("ttl", storage.EnrollmentCodeTTL, "how long the enrollment code works")
		return func(ctx context.Context, e env) error {
			d, err := e.svc.AddDevice(ctx, *storeID, *name, *ttl)
			if err != nil {
				return err
			}
			return e.out.print(d, fmt.Sprintf("device %s (%s) for store %s\nenrollment code: %s (works once, until %s)\non the device: npskiosk enroll --collector URL --code %s\n",
				d.ID, d.Name, d.StoreID, d.Code, d.ExpiresAt.Format(time.RFC3339), d.Code))
		}
	},
	"device list": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			ds, err := e.svc.Devices(ctx)
			if err != nil {
				return err
			}
			if e.out.json {
				return e.out.print(ds, "")
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTORE\tNAME\tSTATE\tLAST SEEN\tQUEUE\tVERSION")
			for _, d := range ds {
				state := "waiting for enrollment"
				switch {
				case d.Revoked:
					state = "revoked"
				case d.Enrolled:
					state = "enrolled"
				}
				seen := "never"
				if !d.LastSeen.IsZero() {
					seen = d.LastSeen.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", d.ID, d.StoreID, d.Name, state, seen, d.QueueLength, d.AppVersion)
			}
			return tw.Flush()
		}
	},
	"device revoke": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 {
				return errors.New("device revoke takes one device id")
			}
			if err := e.svc.RevokeDevice(ctx, e.args[0]); err != nil {
				return err
			}
			return e.out.print(map[string]string{"revoked": e.args[0]}, "revoked device "+e.args[0]+"\n")
		}
	},
	"token add": func(fs *flag.FlagSet) func(context.Context, env) error {
		name := fs.String("name", "", "what the token is for, e.g. hq (required)")
		storeID := fs.String("store", "", "limit the token to one store's data")
		return func(ctx context.Context, e env) error {
			t, err := e.svc.AddAPIToken(ctx, *name, *storeID)
			if err != nil {
				return err
			}
			scope := "every store"
			if t.StoreID != "" {
				scope = "store " + t.StoreID
			}
			return e.out.print(t, fmt.Sprintf("API token %q for %s (shown once, keep it safe):\n%s\n", t.Name, scope, t.Token))
		}
	},
	"export": func(fs *flag.FlagSet) func(context.Context, env) error {
		format := fs.String("format", "csv", "output format: csv")
		storeID := fs.String("store", "", "one store")
		region := fs.String("region", "", "one region")
		from := fs.String("from", "2000-01-01", "first day, YYYY-MM-DD, in each store's time zone")
		to := fs.String("to", "2999-12-31", "last day, YYYY-MM-DD")
		return func(ctx context.Context, e env) error {
			if *format != "csv" {
				return fmt.Errorf("export: format %q is not supported; use csv", *format)
			}
			for _, d := range []string{*from, *to} {
				if _, err := time.Parse(time.DateOnly, d); err != nil {
					return fmt.Errorf("export: %q is not a date, YYYY-MM-DD", d)
				}
			}
			n, err := e.svc.Export(ctx, storage.Filter{StoreID: *storeID, Region: *region, From: *from, To: *to}, e.out.w)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "exported %d responses\n", n)
			return nil
		}
	},
	"survey set": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "store id")
		all := fs.Bool("all", false, "every store")
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 || (*storeID == "") == !*all {
				return errors.New("survey set takes --store ID or --all, and one survey file")
			}
			b, err := os.ReadFile(e.args[0])
			if err != nil {
				return err
			}
			s, err := assets.ParseSurvey(b)
			if err != nil {
				return fmt.Errorf("%s: %w", e.args[0], err)
			}
			var stores []string
			if *storeID != "" {
				stores = []string{*storeID}
			}
			v, err := e.svc.SetSurvey(ctx, s, stores)
			if err != nil {
				return err
			}
			return e.out.print(map[string]int{"version": v}, fmt.Sprintf("survey version %d set\n", v))
		}
	},
}

// Main is one run of npscollector: a command, its flags and the database it opened.
type Main struct {
	stdout, stderr io.Writer

	name       string
	run        func(context.Context, env) error
	dbPath     string
	asJSON     bool
	positional []string

	db *storage.DB
}

// NewMain returns a Main that writes to stdout and stderr.
func NewMain(stdout, stderr io.Writer) *Main { return &Main{stdout: stdout, stderr: stderr} }

// ParseFlags picks the command and parses its flags; it opens nothing.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.stderr, usage)
		return errors.New("a command is required")
	}
	name, args := args[0], args[1:]
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		if _, ok := commands[name+" "+args[0]]; ok {
			name, args = name+" "+args[0], args[1:]
		}
	}
	m.name = name
	if name == "version" || name == "help" {
		return nil
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprint(m.stderr, usage)
		return fmt.Errorf("unknown command %q", name)
	}
	fs := flag.NewFlagSet("npscollector "+name, flag.ContinueOnError)
	fs.SetOutput(m.stderr)
	fs.StringVar(&m.dbPath, "db", "", "SQLite file or postgres:// URL (default: see npscollector help)")
	fs.BoolVar(&m.asJSON, "json", false, "print JSON")
	m.run = cmd(fs)
	// Flags may come before or after the positional arguments.
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		m.positional = append(m.positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if m.dbPath == "" {
		m.dbPath = defaultDB(os.Getenv, os.Stat, os.UserHomeDir)
	}
	return nil
}

// defaultDB is the database every command uses without --db. The lookups are passed in
// so tests can give their own.
func defaultDB(getenv func(string) string, stat func(string) (os.FileInfo, error), home func() (string, error)) string {
	if p := getenv("NPSCOLLECTOR_DB"); p != "" {
		return p
	}
	if fi, err := stat("/var/lib/npscollector"); err == nil && fi.IsDir() {
		return "/var/lib/npscollector/collector.db"
	}
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "npscollector", "collector.db")
	}
	if h, err := home(); err == nil {
		return filepath.Join(h, ".local", "share", "npscollector", "collector.db")
	}
	return "collector.db"
}

// Run opens the database and runs the command; serve returns once its HTTP server has
// shut down, so Close never closes the database under a request.
func (m *Main) Run(ctx context.Context) error {
	switch m.name {
	case "version":
		fmt.Fprintln(m.stdout, "npscollector", version)
		return nil
	case "help":
		fmt.Fprint(m.stdout, usage)
		return nil
	}
	if m.name != "serve" && !storage.IsPostgres(m.dbPath) {
		if _, err := os.Stat(m.dbPath); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no collector database at %s: pass --db with the database 'npscollector serve' uses, or start serve once to create it", m.dbPath)
		}
	}
	db, err := storage.Open(ctx, storage.Config{Path: m.dbPath, Logger: slog.New(slog.NewTextHandler(m.stderr, nil))})
	if err != nil {
		return err
	}
	m.db = db
	return m.run(ctx, env{svc: collector.New(db), out: printer{w: m.stdout, json: m.asJSON}, args: m.positional, stderr: m.stderr})
}

// Close closes the database, if Run opened it.
func (m *Main) Close() error {
	if m.db == nil {
		return nil
	}
	return m.db.Close()
}

type printer struct {
	w    io.Writer
	json bool
}

func (p printer) print(v any, text string) error {
	if p.json {
		enc := json.NewEncoder(p.w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := io.WriteString(p.w, text)
	return err
}

// serve runs the API and the dashboard until ctx ends, then drains connections for up
// to 10 s.
func serve(ctx context.Context, svc *collector.Service, addr string, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	api := httpapi.New(httpapi.Config{Service: svc, Logger: log})
	dashboard.New(dashboard.Config{Service: svc, Logger: log}).Register(api)
	srv := api.HTTPServer(addr)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	log.Info("collector listening", "addr", ln.Addr().String(), "dashboard", "http://"+ln.Addr().String()+"/", "version", version)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
