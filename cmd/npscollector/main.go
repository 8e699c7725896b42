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
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/collector"
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

Every command takes --db PATH (default npscollector.db) and --json.
`

// env is what a subcommand runs with: its database, output and arguments.
type env struct {
	db     *collector.DB
	out    printer
	args   []string
	stderr io.Writer
}

// command registers a subcommand's flags and returns what runs it after parsing.
type command func(fs *flag.FlagSet) func(ctx context.Context, e env) error

var commands = map[string]command{
	"serve": func(fs *flag.FlagSet) func(context.Context, env) error {
		addr := fs.String("addr", "127.0.0.1:8080", "listen address")
		return func(ctx context.Context, e env) error { return serve(ctx, e.db, *addr, e.stderr) }
	},
	"store add": func(fs *flag.FlagSet) func(context.Context, env) error {
		id := fs.String("id", "", "store id, e.g. S042 (required)")
		name := fs.String("name", "", "store name (required)")
		tz := fs.String("timezone", "", "IANA time zone, e.g. Europe/Berlin (required)")
		region := fs.String("region", "", "region")
		return func(ctx context.Context, e env) error {
			s := collector.Store{ID: *id, Name: *name, Timezone: *tz, Region: *region}
			if err := e.db.AddStore(ctx, s); err != nil {
				return err
			}
			return e.out.print(s, fmt.Sprintf("added store %s (%s, %s)\n", s.ID, s.Name, s.Timezone))
		}
	},
	"device add": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "store id (required)")
		name := fs.String("name", "", "device name, e.g. \"Till 3\" (required)")
		ttl := fs.Duration("ttl", collector.EnrollmentCodeTTL, "how long the enrollment code works")
		return func(ctx context.Context, e env) error {
			d, err := e.db.AddDevice(ctx, *storeID, *name, *ttl)
			if err != nil {
				return err
			}
			return e.out.print(d, fmt.Sprintf("device %s (%s) for store %s\nenrollment code: %s (works once, until %s)\non the device: npskiosk enroll --collector URL --code %s\n",
				d.ID, d.Name, d.StoreID, d.Code, d.ExpiresAt.Format(time.RFC3339), d.Code))
		}
	},
	"device list": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			ds, err := e.db.Devices(ctx)
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
			if err := e.db.RevokeDevice(ctx, e.args[0]); err != nil {
				return err
			}
			return e.out.print(map[string]string{"revoked": e.args[0]}, "revoked device "+e.args[0]+"\n")
		}
	},
	"token add": func(fs *flag.FlagSet) func(context.Context, env) error {
		name := fs.String("name", "", "what the token is for, e.g. hq (required)")
		storeID := fs.String("store", "", "limit the token to one store's data")
		return func(ctx context.Context, e env) error {
			t, err := e.db.AddAPIToken(ctx, *name, *storeID)
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
			n, err := e.db.Export(ctx, collector.Filter{StoreID: *storeID, Region: *region, From: *from, To: *to}, e.out.w)
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
			v, err := e.db.SetSurvey(ctx, s, stores)
			if err != nil {
				return err
			}
			return e.out.print(map[string]int{"version": v}, fmt.Sprintf("survey version %d set\n", v))
		}
	},
}

// Run dispatches to a subcommand: it parses the command's flags, opens the database
// and runs it.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a command is required")
	}
	name, args := args[0], args[1:]
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		if _, ok := commands[name+" "+args[0]]; ok {
			name, args = name+" "+args[0], args[1:]
		}
	}
	if name == "version" {
		fmt.Fprintln(stdout, "npscollector", version)
		return nil
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", name)
	}
	fs := flag.NewFlagSet("npscollector "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "npscollector.db", "database file")
	asJSON := fs.Bool("json", false, "print JSON")
	run := cmd(fs)
	// Flags may come before or after the positional arguments.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	db, err := collector.OpenDB(ctx, collector.DBConfig{Path: *dbPath, Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	defer db.Close()
	return run(ctx, env{db: db, out: printer{w: stdout, json: *asJSON}, args: positional, stderr: stderr})
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

// serve runs the API until ctx ends, then drains connections for up to 10 s.
func serve(ctx context.Context, db *collector.DB, addr string, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv := collector.NewServer(collector.ServerConfig{DB: db, Logger: log}).HTTPServer(addr)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	log.Info("collector listening", "addr", ln.Addr().String(), "version", version)
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
