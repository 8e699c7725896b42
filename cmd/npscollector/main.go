// Command npscollector is the central server kiosks upload to, and the tool IT uses to
// register stores and devices.
package main

import (
	"bufio"
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
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/httpapi"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
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
  npscollector serve [--addr 127.0.0.1:8080] [--allow-loopback-webhooks]
  npscollector store add --id S042 --name "Main Street" --timezone Europe/Berlin [--region R]
  npscollector device add --store S042 --name "Till 3" [--ttl 24h]
  npscollector device list
  npscollector device revoke ID
  npscollector token add --name hq [--store S042]
  npscollector user add --email E --name N [--lang en] [--store S042 | --region R] [--password-file F]
  npscollector user list
  npscollector user disable EMAIL
  npscollector survey set (--store S042 | --all) FILE.toml
  npscollector rule set [--store S042] [--scores 0-6] [--reasons K,K] [--sla 48h] [--contact-requested=false]
  npscollector case list [--store S042] [--status open] [--overdue]
  npscollector webhook add --url https://… [--store S042 | --region R] [--events case.opened,…]
  npscollector alert add --email ADDRESS [--lang de] [--store S042 | --region R] [--events …]
  npscollector webhook list | webhook resume ID | webhook log [--limit 50]   (e-mail alerts too)
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
	stdin  io.Reader
	stderr io.Writer
}

// command registers a subcommand's flags and returns what runs it after parsing.
type command func(fs *flag.FlagSet) func(ctx context.Context, e env) error

var commands = map[string]command{
	"serve": func(fs *flag.FlagSet) func(context.Context, env) error {
		addr := fs.String("addr", "127.0.0.1:8080", "listen address")
		loopback := fs.Bool("allow-loopback-webhooks", false, "let webhooks go to http:// URLs on this machine (tests, a local receiver)")
		lease := fs.Duration("webhook-lease", time.Minute, "how long a webhook delivery is held by this collector before another may retry it")
		digestHour := fs.Int("digest-hour", collector.DefaultDigestHour, "local hour (0-23, in each store's time zone) after which yesterday's digest goes out")
		var smtp alerts.SMTPConfig
		fs.StringVar(&smtp.Host, "smtp-host", os.Getenv("NPSCOLLECTOR_SMTP_HOST"), "SMTP server for alert e-mails (default $NPSCOLLECTOR_SMTP_HOST; none: e-mail alerts wait)")
		fs.IntVar(&smtp.Port, "smtp-port", 0, "SMTP port (default: 587 with starttls, 465 with tls, 25 with none)")
		fs.StringVar(&smtp.Security, "smtp-security", "starttls", "starttls, tls, or none for a relay on this host")
		fs.StringVar(&smtp.Username, "smtp-user", os.Getenv("NPSCOLLECTOR_SMTP_USER"), "SMTP user; the password is read from $NPSCOLLECTOR_SMTP_PASSWORD")
		fs.StringVar(&smtp.From, "smtp-from", os.Getenv("NPSCOLLECTOR_SMTP_FROM"), "sender of alert e-mails, e.g. \"NPS alerts <nps@example.com>\"")
		return func(ctx context.Context, e env) error {
			hooks := alerts.Config{Policy: alerts.URLPolicy{AllowLoopbackHTTP: *loopback}, Lease: *lease}
			if smtp.Host != "" {
				smtp.Password = os.Getenv("NPSCOLLECTOR_SMTP_PASSWORD")
				m, err := alerts.NewMailer(smtp)
				if err != nil {
					return err
				}
				hooks.Mailer = m
			}
			if *digestHour < 0 || *digestHour > 23 {
				return fmt.Errorf("--digest-hour %d: give an hour from 0 to 23", *digestHour)
			}
			return serve(ctx, e.svc, *addr, hooks, *digestHour, e.stderr)
		}
	},
	"webhook add": func(fs *flag.FlagSet) func(context.Context, env) error {
		u := fs.String("url", "", "https URL that receives the events (required)")
		storeID := fs.String("store", "", "one store's events")
		region := fs.String("region", "", "one region's events")
		events := fs.String("events", "", "comma-separated event types (default: all): "+strings.Join(storage.EventTypes, ", "))
		loopback := fs.Bool("allow-loopback-http", false, "allow an http:// URL on this machine")
		return func(ctx context.Context, e env) error {
			sub, err := scopedSubscription(*storeID, *region, *events)
			if err != nil {
				return err
			}
			sub.URL = *u
			sub, err = e.svc.AddWebhook(ctx, sub, alerts.URLPolicy{AllowLoopbackHTTP: *loopback})
			if err != nil {
				return err
			}
			return e.out.print(sub, fmt.Sprintf("webhook %s → %s\nsigning secret (shown once; receivers verify webhook-signature with it):\n%s\n",
				sub.ID, sub.URL, sub.Secret))
		}
	},
	"alert add": func(fs *flag.FlagSet) func(context.Context, env) error {
		email := fs.String("email", "", "address that receives the alerts (required)")
		lang := fs.String("lang", "en", "language of the e-mails: en, es, fr or de")
		storeID := fs.String("store", "", "one store's events")
		region := fs.String("region", "", "one region's events")
		events := fs.String("events", "", "comma-separated event types (default: all): "+strings.Join(storage.EventTypes, ", "))
		return func(ctx context.Context, e env) error {
			sub, err := scopedSubscription(*storeID, *region, *events)
			if err != nil {
				return err
			}
			sub, err = e.svc.AddEmailAlert(ctx, sub, *email, *lang)
			if err != nil {
				return err
			}
			sub.Secret = ""
			return e.out.print(sub, fmt.Sprintf("e-mail alert %s → %s\n", sub.ID, *email))
		}
	},
	"webhook list": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			subs, err := e.svc.Subscriptions(ctx)
			if err != nil || e.out.json {
				return errors.Join(err, e.out.print(subs, ""))
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSCOPE\tURL\tEVENTS\tSTATE")
			for _, s := range subs {
				state := "active"
				if s.Paused {
					state = "PAUSED: " + s.PauseReason
				}
				events := "all"
				if len(s.Events) > 0 {
					events = strings.Join(s.Events, ",")
				}
				fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\n", s.ID, s.ScopeKind, s.Scope, s.URL, events, state)
			}
			return tw.Flush()
		}
	},
	"webhook resume": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 {
				return errors.New("webhook resume takes one subscription id")
			}
			if err := e.svc.ResumeSubscription(ctx, e.args[0]); err != nil {
				return err
			}
			return e.out.print(map[string]string{"resumed": e.args[0]}, "resumed webhook "+e.args[0]+"; its waiting deliveries go out now\n")
		}
	},
	"webhook log": func(fs *flag.FlagSet) func(context.Context, env) error {
		limit := fs.Int("limit", 50, "how many deliveries, newest first")
		return func(ctx context.Context, e env) error {
			log, err := e.svc.DeliveryLog(ctx, *limit)
			if err != nil || e.out.json {
				return errors.Join(err, e.out.print(log, ""))
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EVENT\tTYPE\tURL\tSTATUS\tATTEMPTS\tLAST ERROR")
			for _, l := range log {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", l.EventID, l.EventType, l.URL, l.Status, l.Attempts, l.LastError)
			}
			return tw.Flush()
		}
	},
	"rule set": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "one store's rule (default: the chain's)")
		scores := fs.String("scores", "", "scores that open a case, e.g. 0-6 or 0,1,2 (default: 0-6)")
		reasons := fs.String("reasons", "", "comma-separated reason keys that open a case whatever the score")
		channels := fs.String("channels", "", "comma-separated channels the rule applies to (default: all)")
		contact := fs.Bool("contact-requested", true, "open a case for any score when the shopper asked to be contacted")
		sla := fs.Duration("sla", followup.DefaultSLA, "time to act, in whole hours, counted on the store's clock")
		return func(ctx context.Context, e env) error {
			r := followup.Rule{ContactRequested: contact, SLAHours: int(sla.Hours())}
			if *sla%time.Hour != 0 {
				return fmt.Errorf("--sla %s: give whole hours, e.g. 48h", *sla)
			}
			var err error
			if r.Scores, err = parseScores(*scores); err != nil {
				return err
			}
			if *reasons != "" {
				r.Reasons = strings.Split(*reasons, ",")
			}
			if *channels != "" {
				r.Channels = strings.Split(*channels, ",")
			}
			if err := e.svc.SetFollowUpRule(ctx, *storeID, r); err != nil {
				return err
			}
			scope := "the chain"
			if *storeID != "" {
				scope = "store " + *storeID
			}
			return e.out.print(r, "follow-up rule set for "+scope+"\n")
		}
	},
	"case list": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "one store")
		status := fs.String("status", "", "open, contacted, resolved or closed-no-action")
		overdue := fs.Bool("overdue", false, "only unfinished cases past their due time")
		return func(ctx context.Context, e env) error {
			cs, err := e.svc.Cases(ctx, storage.CaseFilter{StoreID: *storeID, Status: followup.Status(*status), Overdue: *overdue, Limit: 500})
			if err != nil || e.out.json {
				return errors.Join(err, e.out.print(cs, ""))
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTORE\tSCORE\tSTATUS\tDUE\tOWNER\tCOMMENT")
			for _, c := range cs {
				due := c.DueAt.Format(time.RFC3339)
				if c.Overdue {
					due += " (overdue)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%.60s\n", c.ID, c.StoreID, c.Response.Score, c.Status, due, c.Owner, c.Response.Comment)
			}
			return tw.Flush()
		}
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
	"user add": func(fs *flag.FlagSet) func(context.Context, env) error {
		email := fs.String("email", "", "the address the person signs in with (required)")
		name := fs.String("name", "", "the person's name, as case histories show it (required)")
		lang := fs.String("lang", "en", "language: "+strings.Join(storage.UserLanguages, ", "))
		storeID := fs.String("store", "", "limit the user to one store")
		region := fs.String("region", "", "limit the user to one region's stores")
		passwordFile := fs.String("password-file", "", "read the first password from this file (default: ask on stdin)")
		return func(ctx context.Context, e env) error {
			nu := storage.NewUser{Email: *email, Name: *name, Language: *lang, ScopeKind: storage.UserScopeChain}
			switch {
			case *storeID != "" && *region != "":
				return errors.New("give --store or --region, not both")
			case *storeID != "":
				nu.ScopeKind, nu.Scope = storage.UserScopeStore, *storeID
			case *region != "":
				nu.ScopeKind, nu.Scope = storage.UserScopeRegion, *region
			}
			var err error
			if nu.Password, err = readPassword(*passwordFile, e.stdin, e.stderr); err != nil {
				return err
			}
			u, err := e.svc.AddUser(ctx, nu)
			if err != nil {
				return err
			}
			return e.out.print(u, fmt.Sprintf("added user %s (%s), %s; they sign in to the dashboard with their e-mail and password\n",
				u.Email, u.Name, userScope(u)))
		}
	},
	"user list": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			us, err := e.svc.Users(ctx)
			if err != nil || e.out.json {
				return errors.Join(err, e.out.print(us, ""))
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tNAME\tLANG\tSCOPE\tSTATE")
			for _, u := range us {
				state := "active"
				if u.Disabled() {
					state = "disabled " + u.DisabledAt.Format(time.DateOnly)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Email, u.Name, u.Language, userScope(u), state)
			}
			return tw.Flush()
		}
	},
	"user disable": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 {
				return errors.New("user disable takes one e-mail address")
			}
			if err := e.svc.DisableUser(ctx, e.args[0]); err != nil {
				return err
			}
			return e.out.print(map[string]string{"disabled": storage.NormalizeEmail(e.args[0])},
				"disabled user "+storage.NormalizeEmail(e.args[0])+"; their sessions have ended\n")
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
	stdin          io.Reader
	stdout, stderr io.Writer

	name       string
	run        func(context.Context, env) error
	dbPath     string
	asJSON     bool
	positional []string

	db *storage.DB
}

// NewMain returns a Main that writes to stdout and stderr.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{stdin: os.Stdin, stdout: stdout, stderr: stderr}
}

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

// userScope says what a user may see, in words.
func userScope(u storage.User) string {
	switch u.ScopeKind {
	case storage.UserScopeStore:
		return "store " + u.Scope
	case storage.UserScopeRegion:
		return "region " + u.Scope
	}
	return "every store"
}

// readPassword reads a new user's password from a file, or else the first line of
// stdin after a prompt on stderr. It is never printed. A terminal shows what is typed:
// pipe it in or use a file where someone may be watching.
func readPassword(file string, stdin io.Reader, stderr io.Writer) (string, error) {
	var text string
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read password file: %w", err)
		}
		text = string(b)
	} else {
		fmt.Fprintf(stderr, "password for the new user (at least %d characters): ", storage.MinPasswordLength)
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		fmt.Fprintln(stderr)
		text = line
	}
	// Only the line ending goes: spaces inside and around a passphrase are kept.
	text, _, _ = strings.Cut(text, "\n")
	text = strings.TrimSuffix(text, "\r")
	if err := storage.CheckPassword(text); err != nil {
		return "", err
	}
	return text, nil
}

// scopedSubscription is a subscription to the chain's events, or a store's or region's.
func scopedSubscription(storeID, region, events string) (storage.Subscription, error) {
	sub := storage.Subscription{ScopeKind: storage.ScopeChain}
	switch {
	case storeID != "" && region != "":
		return sub, errors.New("give --store or --region, not both")
	case storeID != "":
		sub.ScopeKind, sub.Scope = storage.ScopeStore, storeID
	case region != "":
		sub.ScopeKind, sub.Scope = storage.ScopeRegion, region
	}
	if events != "" {
		sub.Events = strings.Split(events, ",")
	}
	return sub, nil
}

// parseScores reads "0-6" or "0,1,2" (or both, "0-3,9").
func parseScores(text string) ([]int, error) {
	if text == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(text, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err != nil || a > b {
			return nil, fmt.Errorf("--scores %q: want scores or ranges such as 0-6 or 0,1,2", text)
		}
		for s := a; s <= b; s++ {
			out = append(out, s)
		}
	}
	return out, nil
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
	return m.run(ctx, env{svc: collector.New(db), out: printer{w: m.stdout, json: m.asJSON}, args: m.positional, stdin: m.stdin, stderr: m.stderr})
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
func serve(ctx context.Context, svc *collector.Service, addr string, hooks alerts.Config, digestHour int, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	hooks.DB, hooks.Logger = svc.DB, log
	deliveries, err := alerts.New(hooks)
	if err != nil {
		return err
	}
	// Started before the listener and stopped after the server has drained, so the
	// database (closed by Main.Close) outlives both.
	deliveries.Start(ctx)
	defer deliveries.Stop()
	svc.EventsQueued = deliveries.Wake
	checks, stopChecks := context.WithCancel(ctx)
	checksDone := make(chan struct{})
	go func() { defer close(checksDone); svc.RunDailyJobs(checks, 10*time.Minute, digestHour, log) }()
	defer func() { stopChecks(); <-checksDone }()
	api := httpapi.New(httpapi.Config{Service: svc, Logger: log})
	dashboard.New(dashboard.Config{Service: svc, Logger: log, Policy: hooks.Policy}).Register(api)
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
