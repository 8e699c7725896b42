package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/store"
	kiosksync "github.com/npskiosk/npskiosk/sync"
	"github.com/npskiosk/npskiosk/sync/tlstrust"
)

// check is one line of the doctor's report: OK, or what to do.
type check struct {
	name string
	ok   bool
	warn bool // ok, but someone should know: printed WARN, not a failure
	say  string
}

type doctorCmd struct{ common commonFlags }

func parseDoctor(args []string, stderr io.Writer) (command, error) {
	fs := flag.NewFlagSet("npskiosk doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &doctorCmd{}
	c.common.register(fs)
	if err := c.common.parse(fs, args); err != nil {
		return nil, err
	}
	return c, nil
}

// errDoctor is the exit error when any check failed (exit status 1).
var errDoctor = errors.New("doctor found problems")

// run checks what a kiosk needs, one line each, and fails if any check fails. It
// changes nothing: the database is opened read-only, never created.
func (c *doctorCmd) run(ctx context.Context, m *Main) error {
	var checks []check
	add := func(name string, ok bool, format string, a ...any) {
		checks = append(checks, check{name: name, ok: ok, say: fmt.Sprintf(format, a...)})
	}
	defer func() {
		for _, c := range checks {
			state := "OK  "
			switch {
			case !c.ok:
				state = "FAIL"
			case c.warn:
				state = "WARN"
			}
			fmt.Fprintf(m.Stdout, "%s %-18s %s\n", state, c.name, c.say)
		}
	}()

	path := c.common.config
	cfg, exists, err := readConfigFile(path)
	if err == nil {
		cfg, err = cfg.withDefaults(path)
	}
	switch {
	case err != nil:
		add("config", false, "%v: fix the file (unknown keys are errors) or pass --config", err)
		return errDoctor
	case !exists:
		// Carry on with the defaults: the other lines still help.
		add("config", false, "no config file at %s: run npskiosk enroll --config %s --collector URL --code CODE to write one, or pass --config", path, path)
	default:
		add("config", true, "%s", path)
	}
	if c.common.db != "" {
		cfg.DB = c.common.db
	}

	db, err := m.openDBReadOnly(ctx, cfg.DB)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		add("database", false, "no database at %s: the kiosk creates it when it first starts; check db in the config or --db", cfg.DB)
	case errors.Is(err, store.ErrSchemaTooOld):
		add("database", false, "%v", err)
	case errors.Is(err, store.ErrCorrupt):
		// Never advise starting empty: the file may hold responses not yet uploaded.
		add("database", false, "%v: stop the kiosk, copy %s with its -wal and -shm files to a safe place (they may hold responses not yet uploaded), "+
			"then restore the database from a backup; keep the copy, sqlite3's .recover can still read its responses", err, cfg.DB)
	case err != nil:
		add("database", false, "%v: if the disk is full (see free disk below), free space on it and start the kiosk again; "+
			"else stop the kiosk, copy %s with its -wal and -shm files to a safe place (they may hold responses not yet uploaded) and restore it from a backup; "+
			"never delete these files", err, cfg.DB)
	default:
		add("database", true, "%s passes its integrity check (schema %d)", cfg.DB, store.SchemaVersion())
		ob, err := db.Outbox(ctx)
		switch {
		case err != nil:
			add("outbox", false, "%v", err)
		case ob.Pending > 0 && time.Since(ob.OldestPending) > time.Hour:
			add("outbox", false, "%d responses waiting, the oldest for %s: check the collector lines below", ob.Pending, time.Since(ob.OldestPending).Round(time.Minute))
		default:
			add("outbox", true, "%d waiting, %d quarantined", ob.Pending, ob.Quarantined)
		}
		c.checkContacts(ctx, db, &checks)
	}

	if dir := filepath.Dir(cfg.DB); dirExists(dir) {
		free := freeDisk(dir)
		advice := ""
		if free <= 100<<20 {
			advice = fmt.Sprintf(": free space on that disk (delete old logs or files of other programs), or the kiosk stops taking answers "+
				"(\"out of service\") until there is; never delete %s or its -wal and -shm files, they hold responses not yet uploaded; "+
				"the kiosk gives back its reserve (%s-reserve) by itself and makes it again when space returns", cfg.DB, cfg.DB)
		}
		add("free disk", free > 100<<20, "%d MiB free in %s%s", free>>20, dir, advice)
	} else {
		add("free disk", false, "%s does not exist: create it for the database, or fix db in the config", dir)
	}

	if !cfg.Enrolled() {
		add("enrolled", false, "no collector: run npskiosk enroll --collector URL --code CODE (code from npscollector device add)")
		return errDoctor
	}
	add("enrolled", true, "device %s of store %s", cfg.Collector.DeviceID, cfg.Collector.StoreID)

	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	trust := cfg.Trust()
	if !c.checkTLS(hctx, trust, cfg.Collector.URL, &checks) {
		return errDoctor
	}
	hc, err := trust.HTTPClient(10 * time.Second)
	if err != nil {
		add("tls", false, "%v: fix ca_file, ca_mode or pins in the config", err)
		return errDoctor
	}

	// Reachable, with the collector's clock for the skew.
	req, err := http.NewRequestWithContext(hctx, http.MethodGet, strings.TrimRight(cfg.Collector.URL, "/")+"/healthz", nil)
	if err != nil {
		add("collector", false, "collector URL %q: %v: fix url in the config's [collector]", cfg.Collector.URL, err)
		return errDoctor
	}
	resp, err := hc.Do(req)
	if err != nil {
		add("collector", false, "cannot reach %s: %v: check the network and the URL", cfg.Collector.URL, err)
		return errDoctor
	}
	resp.Body.Close()
	add("collector", resp.StatusCode == http.StatusOK, "%s answers %s", cfg.Collector.URL, resp.Status)
	if at, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		skew := time.Since(at).Round(time.Second)
		add("clock", skew.Abs() < 2*time.Minute, "%s off the collector's clock%s", skew, map[bool]string{true: "", false: ": enable time sync (systemd-timesyncd or chrony)"}[skew.Abs() < 2*time.Minute])
	}

	if db == nil {
		add("token", false, "not checked: it needs the database (above)")
		return errDoctor
	}
	w, err := newWorker(cfg, db, slog.New(slog.DiscardHandler), nil, nil)
	if err != nil {
		return err
	}
	switch err := w.CheckCollector(hctx); {
	case errors.Is(err, kiosksync.ErrRevoked):
		add("token", false, "the collector refuses this device's token: ask IT for a new code and enroll again")
	case err != nil:
		add("token", false, "%v", err)
	default:
		add("token", true, "accepted by the collector")
	}
	for _, c := range checks {
		if !c.ok {
			return errDoctor
		}
	}
	return nil
}

func dirExists(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}

// certExpiryWarning is how close to its expiry the collector's certificate is warned of.
const certExpiryWarning = 14 * 24 * time.Hour

// checkTLS adds the transport line: the collector's certificate (subject, issuer,
// expiry, pin) checked with the config's CA and pins, or plain HTTP and whether the
// config allows it. It reports false when the kiosk cannot sync this way.
func (c *doctorCmd) checkTLS(ctx context.Context, trust tlstrust.Config, url string, checks *[]check) bool {
	add := func(ok, warn bool, format string, a ...any) {
		*checks = append(*checks, check{name: "tls", ok: ok, warn: warn, say: fmt.Sprintf(format, a...)})
	}
	if err := trust.CheckURL(url); err != nil {
		add(false, false, "%v", err)
		return false
	}
	if !strings.HasPrefix(url, "https://") {
		if trust.Insecure(url) {
			add(true, true, "plain HTTP to %s, allowed by allow_insecure_http = true: answers and the device token travel unencrypted; use https://", url)
		} else {
			add(true, false, "plain HTTP to %s on this machine (loopback)", url)
		}
		return true
	}
	if _, err := trust.TLSConfig(); err != nil {
		add(false, false, "%v: fix ca_file, ca_mode or pins in the config", err)
		return false
	}
	peer, err := trust.Inspect(ctx, url)
	if err != nil {
		var ce *tlstrust.CertError
		if errors.As(err, &ce) {
			add(false, false, "%s", ce.Cause)
		} else {
			add(false, false, "cannot reach %s: %v: check the network and the URL", url, err)
		}
		return false
	}
	pins := "no pins"
	if len(trust.Pins) > 0 {
		pins = "pin matched"
	}
	left := time.Until(peer.NotAfter)
	say := fmt.Sprintf("certificate of %s, issued by %s, expires %s (in %d days); %s (key %s)",
		peer.Subject, peer.Issuer, peer.NotAfter.UTC().Format(time.RFC3339), int(left.Hours()/24), pins, peer.Pin)
	if left < certExpiryWarning {
		add(true, true, "%s: it expires within 14 days, renew it on the collector", say)
	} else {
		add(true, false, "%s", say)
	}
	return true
}

// checkContacts adds the contacts line: the key contacts are sealed to, or that none are
// asked for, and a warning when contacts in clear remain in the database.
func (c *doctorCmd) checkContacts(ctx context.Context, db *store.DB, checks *[]check) {
	add := func(ok, warn bool, format string, a ...any) {
		*checks = append(*checks, check{name: "contacts", ok: ok, warn: warn, say: fmt.Sprintf(format, a...)})
	}
	k, ok, err := db.ContactKeyInfo(ctx)
	if err != nil {
		add(false, false, "%v", err)
		return
	}
	id := ""
	if ok {
		id = k.ID
	}
	say := contactsLine(id)
	if ok {
		say += fmt.Sprintf(" (learnt %s)", k.LearntAt.UTC().Format(time.RFC3339))
	}
	switch n, err := db.PlainContacts(ctx); {
	case err != nil:
		add(false, false, "%v", err)
	case n > 0:
		add(true, true, "%s; %s", say, plainContactsProblem(n))
	default:
		add(true, false, "%s", say)
	}
}
