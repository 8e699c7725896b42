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
	"path/filepath"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/store"
	kiosksync "github.com/npskiosk/npskiosk/sync"
)

// Exit statuses of "npskiosk status", for monitoring.
const (
	statusHealthy        = 0
	statusNeedsAttention = 1 // the report says why
	statusCannotTell     = 2 // no config, no database, bad flags
)

// statusReport is what "npskiosk status" prints.
type statusReport struct {
	DB            string    `json:"db"`
	Collector     string    `json:"collector,omitempty"`
	Enrolled      bool      `json:"enrolled"`
	Reachable     bool      `json:"collector_reachable"`
	InsecureHTTP  bool      `json:"insecure_http,omitempty"`
	Healthy       bool      `json:"healthy"`
	Problems      []string  `json:"problems"`
	Pending       int64     `json:"pending"`
	OldestPending time.Time `json:"oldest_pending,omitzero"`
	Open          int64     `json:"open"`
	Quarantined   int64     `json:"quarantined"`
	Synced        int64     `json:"synced"`
	SurveyVersion int       `json:"survey_version,omitempty"`
	SchemaVersion int       `json:"schema_version"`
	ContactKeyID  string    `json:"contact_key_id,omitempty"` // empty: contacts are not asked for
	PlainContacts int64     `json:"plain_contacts"`
	FreeDiskBytes int64     `json:"free_disk_bytes"`
	// DBBytes is the database's disk use (file and WAL).
	DBBytes int64 `json:"db_bytes"`
	// RetentionDays is how long synced responses are kept; Purges what the purges did.
	RetentionDays  int              `json:"retention_days"`
	Purges         store.PurgeStats `json:"purges"`
	CheckedAt      time.Time        `json:"checked_at"`
	QuarantineNote []string         `json:"quarantine_reasons,omitempty"`
	// SettingsVersion is the version of HQ's device settings kept (0: none received), and
	// LocalOverrides the settings the config's [override] table keeps from HQ.
	SettingsVersion int64    `json:"settings_version"`
	LocalOverrides  []string `json:"local_overrides,omitempty"`
}

type statusCmd struct {
	common      commonFlags
	json        bool
	maxUnsynced time.Duration
}

func parseStatus(args []string, stderr io.Writer) (command, error) {
	fs := flag.NewFlagSet("npskiosk status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &statusCmd{}
	c.common.register(fs)
	fs.BoolVar(&c.json, "json", false, "print JSON")
	fs.DurationVar(&c.maxUnsynced, "max-unsynced", time.Hour,
		"a problem when the oldest response waiting to upload was captured longer ago than this (0: never)")
	if err := c.common.parse(fs, args); err != nil {
		return nil, err
	}
	if c.maxUnsynced < 0 {
		return nil, errors.New("--max-unsynced must not be negative")
	}
	return c, nil
}

// run reports the kiosk's state and exits 0 only when nothing needs attention: enrolled,
// the collector reachable and accepting the token, no quarantined response, and no
// response waiting longer than --max-unsynced. Unsynced time is the age of the oldest
// waiting response, which the database knows even when no worker is running (the time of
// the last upload would be silent about a kiosk that never captured). It opens the
// database read-only: it creates, migrates and completes nothing.
func (c *statusCmd) run(ctx context.Context, m *Main) error {
	cfg, err := c.common.load()
	if err != nil {
		return exitError{statusCannotTell, err}
	}
	db, err := m.openDBReadOnly(ctx, cfg.DB)
	if errors.Is(err, fs.ErrNotExist) {
		return exitError{statusCannotTell, fmt.Errorf("no database at %s: the kiosk creates it when it first starts; check db in the config or --db", cfg.DB)}
	}
	if err != nil {
		return exitError{statusCannotTell, err}
	}
	ob, err := db.Outbox(ctx)
	if err != nil {
		return exitError{statusCannotTell, err}
	}
	now := time.Now()
	rep := statusReport{DB: cfg.DB, Collector: cfg.Collector.URL, Enrolled: cfg.Enrolled(), Problems: []string{},
		Pending: ob.Pending, OldestPending: ob.OldestPending, Open: ob.Open, Quarantined: ob.Quarantined, Synced: ob.Synced,
		SchemaVersion: store.SchemaVersion(), FreeDiskBytes: freeDisk(filepath.Dir(cfg.DB)), CheckedAt: now}
	if s, ok, _ := kiosksync.CachedSurvey(ctx, db); ok {
		rep.SurveyVersion = s.Version
	}
	if ds, ok, _ := kiosksync.CachedDeviceSettings(ctx, db); ok {
		rep.SettingsVersion = ds.Version
	}
	rep.LocalOverrides = cfg.Override.Set()
	rep.DBBytes, rep.RetentionDays = db.Size(), int(cfg.Retention().Hours()/24)
	if rep.Purges, err = db.PurgeStats(ctx); err != nil {
		return exitError{statusCannotTell, err}
	}
	if k, ok, err := db.ContactKey(ctx); err != nil {
		return exitError{statusCannotTell, err}
	} else if ok {
		rep.ContactKeyID = k.ID
	}
	if rep.PlainContacts, err = db.PlainContacts(ctx); err != nil {
		return exitError{statusCannotTell, err}
	}
	q, err := db.Quarantined(ctx, 5)
	if err != nil {
		return exitError{statusCannotTell, err}
	}
	for _, r := range q {
		rep.QuarantineNote = append(rep.QuarantineNote, r.ID+": "+r.Reason)
	}

	if !rep.Enrolled {
		rep.Problems = append(rep.Problems, "not enrolled: run npskiosk enroll --collector URL --code CODE")
	} else {
		rep.InsecureHTTP = cfg.Trust().Insecure(cfg.Collector.URL) && cfg.AllowInsecureHTTP
		// A refused URL or a bad ca_file or pin is the config's problem, reported as one.
		w, err := newWorker(cfg, db, slog.New(slog.DiscardHandler), workerHooks{})
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err = w.CheckCollector(cctx)
			cancel()
		}
		rep.Reachable = err == nil
		if err != nil {
			rep.Problems = append(rep.Problems, err.Error())
		}
	}
	if age := now.Sub(ob.OldestPending); c.maxUnsynced > 0 && ob.Pending > 0 && age > c.maxUnsynced {
		rep.Problems = append(rep.Problems, fmt.Sprintf("not synced: the oldest of %d waiting responses was captured %s ago (more than --max-unsynced %s)",
			ob.Pending, age.Round(time.Second), c.maxUnsynced))
	}
	if ob.Quarantined > 0 {
		rep.Problems = append(rep.Problems, fmt.Sprintf("%d responses quarantined: the collector rejected them; they are kept and never retried (listed with their reasons)", ob.Quarantined))
	}
	if rep.PlainContacts > 0 {
		rep.Problems = append(rep.Problems, plainContactsProblem(rep.PlainContacts))
	}
	rep.Healthy = len(rep.Problems) == 0

	if c.json {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return exitError{statusCannotTell, err}
		}
	} else {
		printStatus(m.Stdout, rep)
	}
	if !rep.Healthy {
		return exitError{statusNeedsAttention, fmt.Errorf("status: %d problem(s), the first: %s", len(rep.Problems), rep.Problems[0])}
	}
	return nil
}

func printStatus(w io.Writer, rep statusReport) {
	fmt.Fprintf(w, "database:     %s (schema %d)\n", rep.DB, rep.SchemaVersion)
	if rep.Enrolled {
		state := "reachable"
		if !rep.Reachable {
			state = "NOT reachable"
		}
		fmt.Fprintf(w, "collector:    %s (%s)\n", rep.Collector, state)
		if rep.InsecureHTTP {
			fmt.Fprintf(w, "transport:    plain HTTP, NOT encrypted (allow_insecure_http = true)\n")
		}
	} else {
		fmt.Fprintf(w, "collector:    none\n")
	}
	fmt.Fprintf(w, "waiting:      %d", rep.Pending)
	if !rep.OldestPending.IsZero() {
		fmt.Fprintf(w, " (oldest %s ago)", rep.CheckedAt.Sub(rep.OldestPending).Round(time.Second))
	}
	fmt.Fprintf(w, "\nopen:         %d\nsynced:       %d\nquarantined:  %d\n", rep.Open, rep.Synced, rep.Quarantined)
	for _, n := range rep.QuarantineNote {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintf(w, "contacts:     %s\n", contactsLine(rep.ContactKeyID))
	settings := "none from HQ"
	if rep.SettingsVersion > 0 {
		settings = fmt.Sprintf("HQ's version %d", rep.SettingsVersion)
	}
	if len(rep.LocalOverrides) > 0 {
		settings += "; overridden here: " + strings.Join(rep.LocalOverrides, ", ")
	}
	fmt.Fprintf(w, "settings:     %s\n", settings)
	fmt.Fprintf(w, "free disk:    %d MiB\n", rep.FreeDiskBytes>>20)
	fmt.Fprintf(w, "db size:      %s (file and WAL)\n", sizeText(rep.DBBytes))
	fmt.Fprintf(w, "retention:    synced responses kept %d days, unsynced ones until they upload\n", rep.RetentionDays)
	if rep.Purges.LastAt.IsZero() {
		fmt.Fprintf(w, "last purge:   never\n")
	} else {
		fmt.Fprintf(w, "last purge:   %s, %d purged (%d in all)\n", rep.Purges.LastAt.Local().Format(time.DateTime), rep.Purges.LastPurged, rep.Purges.Total)
	}
	if rep.Healthy {
		fmt.Fprintf(w, "state:        OK\n")
		return
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "problem:      %s\n", p)
	}
}

// sizeText shows a size in KiB below a mebibyte, else in MiB.
func sizeText(b int64) string {
	if b < 1<<20 {
		return fmt.Sprintf("%d KiB", (b+1023)>>10)
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

// contactsLine says how shoppers' contacts are kept, for status and doctor.
func contactsLine(keyID string) string {
	if keyID == "" {
		return "not asked: the collector has no contact key"
	}
	return "sealed with key " + keyID
}

func plainContactsProblem(n int64) string {
	return fmt.Sprintf("%d contacts kept in clear in the database: start the kiosk or npskiosk sync with the collector reachable: it seals them with the collector's key or drops them", n)
}
