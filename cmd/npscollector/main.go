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
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/contactvault"
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
  npscollector serve [--addr 127.0.0.1:8080] [--metrics-addr 127.0.0.1:9464|off] [--public-url URL] [--trusted-proxies CIDR,…] [--allow-loopback-webhooks]
                     [--tls-cert FILE --tls-key FILE] [--contact-keys FILE] [--retention-interval 24h]
                     [--drain-delay 2s] [--drain-timeout 10s]   (SIGTERM: /readyz fails, then in-flight requests finish)
  npscollector contact-key create --file FILE     (a new key file, mode 0600; prints the key id)
  npscollector contact-key rotate --file FILE     (adds a new current key; restart serve to hand it out)
  npscollector contact-key list --file FILE
  npscollector store add --id S042 --name "Main Street" --timezone Europe/Berlin [--region R] [--format F]
  npscollector store set --id S042 [--region R] [--format F]
  npscollector device add --store S042 --name "Till 3" [--ttl 24h]
  npscollector device list
  npscollector device revoke ID
  npscollector device action ID sync_now|diagnostics|restart   (asked with its next heartbeat; recorded with who asked)
  npscollector device actions [ID] [--limit 50]   (who asked what, its state and result)
  npscollector device diagnostics ACTION_ID [--out FILE]   (a kiosk's diagnostics bundle, JSON; kept 14 days)
  npscollector rollout set --version 0.1.2 [--percent 10] [--stores S001,S002]   (the kiosks in it install that version; raise --percent in stages)
  npscollector rollout status | rollout halt   (halt: no kiosk is asked to change version)
  npscollector enrollment-key add --store S042 [--uses 20] [--expires 168h]   (kiosks enroll themselves from /etc/npskiosk/provision.toml)
  npscollector enrollment-key list | enrollment-key revoke ID
  npscollector token add --name hq [--store S042] [--scope read:reports,read:responses,read:contacts,write:cases,admin]
  npscollector token list
  npscollector token revoke ID
  npscollector user add --email E --name N [--lang en] [--store S042 | --region R] [--password-file F]
  npscollector user list
  npscollector user contacts EMAIL on|off   (may they see shoppers' contact details)
  npscollector user disable EMAIL
  npscollector survey set (--store S042 | --all) FILE.toml   (a changed [[themes]] taxonomy re-tags comments in the background)
  npscollector settings set (--store S042 | --all) [--pin-stdin] [--idle-timeout 45s] [--languages en,de] [--display-name N] [--brightness 80] [--sleep 22:00-07:00]
                                (kiosks take them at their next config pull; a store's win over --all's field by field; the PIN is read from stdin)
  npscollector settings show (--store S042 | --all)   (the chain's, the store's, what its kiosks get, and which run it or override it locally)
  npscollector settings clear (--store S042 | --all) [--only manager_pin,idle_timeout,languages,display_name,brightness,sleep]
  npscollector themes retag [--store S042]   (re-tags comments now, printing progress)
  npscollector rule set [--store S042] [--scores 0-6] [--reasons K,K] [--sla 48h] [--contact-requested=false]
  npscollector case list [--store S042] [--status open] [--overdue]
  npscollector thanks set [--store S042] [--scores 9-10] [--review-url https://…] [--channels kiosk,app] [--off]
  npscollector thanks list [--store S042] [--limit 50]
  npscollector webhook add --url https://… [--store S042 | --region R] [--events case.opened,…]
  npscollector alert add --email ADDRESS [--lang de] [--store S042 | --region R] [--events …]
  npscollector webhook list | webhook resume ID | webhook log [--limit 50]   (e-mail alerts too)
  npscollector invite --store S042 --csv FILE [--touchpoint T] [--expires 336h] [--quiet-period 90d] [--public-url URL] [--smtp-host H …]
  npscollector link add --store S042 [--channel qr] [--touchpoint T] [--label L] [--expires YYYY-MM-DD | --ttl 720h] [--out DIR] [--base-url URL]
  npscollector link list [--store S042] [--base-url URL]
  npscollector link disable CODE
  npscollector key add --kind site|app --store S042 [--channel web] [--touchpoint T] [--origin https://shop.example.com …] [--bundle-id com.example.shop …] [--rate 60] [--label L] [--public-url URL]
  npscollector key list [--store S042]
  npscollector key disable KEY
  npscollector retention set [--comments-days 365] [--contacts-days 365]   (0 keeps forever; scores and reports are kept forever)
  npscollector purge [--dry-run]   (applies the retention policy now, printing what it purged)
  npscollector status   (database size, retention policy, last purge and rows purged)
  npscollector contacts rekey [--batch 500]   (re-encrypts every stored contact under the current contact store key)
  npscollector contacts key-rotate | contacts key-retire   (adds a new current key | removes the old ones after rekey)
  npscollector erase --contact EMAIL|PHONE [--dry-run]   (one person's contact details and comments, everywhere; scores stay)
  npscollector export --format csv [--store S042] [--region R] [--store-format F] [--segment S] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
  npscollector version

Every command takes --db PATH_OR_URL, --contact-store-keys FILE and --json (contact-key and contacts key-* use no database). Without --db, every command uses the
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
	// storeKeys is the contact store key file (--contact-store-keys).
	storeKeys string
}

// command registers a subcommand's flags and returns what runs it after parsing.
type command func(fs *flag.FlagSet) func(ctx context.Context, e env) error

// commands are every subcommand, by name.
var commands = mergeCommands(serveCommands, fleetCommands, followUpCommands, userCommands, inviteCommands, linkCommands, keyCommands, thanksCommands,
	contactKeyCommands, themeCommands, retentionCommands, eraseCommands, contactStoreCommands, deviceActionCommands, settingsCommands, rolloutCommands)

func mergeCommands(sets ...map[string]command) map[string]command {
	out := map[string]command{}
	for _, set := range sets {
		maps.Copy(out, set)
	}
	return out
}

// Main is one run of npscollector: a command, its flags and the database it opened.
type Main struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	name       string
	run        func(context.Context, env) error
	dbPath     string
	storeKeys  string // --contact-store-keys
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
	fs.StringVar(&m.storeKeys, "contact-store-keys", os.Getenv("NPSCOLLECTOR_CONTACT_STORE_KEYS"),
		"the key file that encrypts shoppers' contacts in the database (default $NPSCOLLECTOR_CONTACT_STORE_KEYS, else contact-store.keys beside an SQLite database or in the data folder; serve creates it when missing)")
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
	if m.storeKeys == "" {
		m.storeKeys = defaultStoreKeys(m.dbPath, defaultDB(func(string) string { return "" }, os.Stat, os.UserHomeDir))
	}
	return nil
}

// defaultStoreKeys is the contact store key file without --contact-store-keys: beside
// an SQLite database, else in the folder the default SQLite database would be in.
func defaultStoreKeys(dbPath, defaultSQLite string) string {
	if storage.IsPostgres(dbPath) {
		dbPath = defaultSQLite
	}
	return filepath.Join(filepath.Dir(dbPath), "contact-store.keys")
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
	if offlineCommands[m.name] {
		return m.run(ctx, env{out: printer{w: m.stdout, json: m.asJSON}, args: m.positional, stdin: m.stdin, stderr: m.stderr, storeKeys: m.storeKeys})
	}
	if m.name != "serve" && !storage.IsPostgres(m.dbPath) {
		if _, err := os.Stat(m.dbPath); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no collector database at %s: pass --db with the database 'npscollector serve' uses, or start serve once to create it", m.dbPath)
		}
	}
	log := slog.New(slog.NewTextHandler(m.stderr, nil))
	vault, created, err := m.contactVault(log)
	if err != nil {
		return err
	}
	db, err := storage.Open(ctx, storage.Config{Path: m.dbPath, Logger: log, ContactVault: vault})
	if err != nil {
		return err
	}
	m.db = db
	if created {
		// A new key file beside a database whose contacts another file encrypted would
		// make them unreadable from now on, and erasure blind to them.
		if other, err := db.HasEncryptedContacts(ctx); err != nil || other {
			return errors.Join(err, fmt.Errorf("made a new contact store key file %s, but the database holds contacts encrypted under another: "+
				"pass --contact-store-keys with the file the collector used (and delete %s)", m.storeKeys, m.storeKeys))
		}
	}
	return m.run(ctx, env{svc: collector.New(db), out: printer{w: m.stdout, json: m.asJSON}, args: m.positional, stdin: m.stdin, stderr: m.stderr, storeKeys: m.storeKeys})
}

// contactVault loads the contact store key file. serve creates it when missing, as it
// creates a missing database; the other commands read contacts only, and without the
// file open the database with none (storage refuses to erase or rekey then, if it holds
// encrypted contacts).
func (m *Main) contactVault(log *slog.Logger) (*contactvault.Vault, bool, error) {
	if m.name == "serve" {
		v, created, err := contactvault.LoadOrCreate(m.storeKeys, time.Now())
		if err != nil {
			return nil, false, fmt.Errorf("--contact-store-keys: %w", err)
		}
		if created {
			log.Warn("created the contact store key file: back it up apart from the database; without it the stored contacts cannot be read",
				"file", m.storeKeys, "key", v.Current())
		}
		return v, created, nil
	}
	v, err := contactvault.Load(m.storeKeys)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("--contact-store-keys: %w", err)
	}
	return v, false, nil
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
