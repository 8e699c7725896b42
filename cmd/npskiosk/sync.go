package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/npskiosk/npskiosk/kiosk"
	"github.com/npskiosk/npskiosk/store"
	kiosksync "github.com/npskiosk/npskiosk/sync"
	"github.com/npskiosk/npskiosk/sync/wire"
)

func runEnroll(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("npskiosk enroll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var common commonFlags
	common.register(fs)
	url := fs.String("collector", "", "collector URL, e.g. https://collector.example.com (required)")
	code := fs.String("code", "", "enrollment code from 'npscollector device add' (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *code == "" {
		return errors.New("enroll needs --collector URL and --code CODE")
	}
	cfg, err := LoadConfig(common.config, false)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := kiosksync.Enroll(ctx, *url, *code, nil)
	if err != nil {
		return err
	}
	cfg.Collector = CollectorConfig{URL: *url, Token: res.Token, DeviceID: res.DeviceID, StoreID: res.StoreID}
	if common.db != "" {
		cfg.DB = common.db
	}
	if err := cfg.Save(common.config); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "enrolled as device %s of store %s (%s); token written to %s\n",
		res.DeviceID, res.StoreID, res.StoreName, common.config)
	return nil
}

// newWorker builds the sync worker for an enrolled kiosk.
func newWorker(cfg Config, db *store.DB, log *slog.Logger, onSurvey func(wire.Survey)) (*kiosksync.Worker, error) {
	if !cfg.Enrolled() {
		return nil, errors.New("this kiosk is not enrolled: run npskiosk enroll --collector URL --code CODE")
	}
	return kiosksync.New(kiosksync.Config{
		Store:        db,
		CollectorURL: cfg.Collector.URL,
		Token:        cfg.Collector.Token,
		AppVersion:   version,
		FreeDisk:     func() int64 { return freeDisk(filepath.Dir(cfg.DB)) },
		OnSurvey:     onSurvey,
		Logger:       log,
	})
}

func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("npskiosk sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var common commonFlags
	common.register(fs)
	once := fs.Bool("once", false, "upload everything pending, then exit: 0 only when the queue is empty")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := common.load(fs)
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	db, err := store.Open(ctx, store.Config{Path: cfg.DB, Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()
	w, err := newWorker(cfg, db, log, nil)
	if err != nil {
		return err
	}
	if !*once {
		err := w.Run(ctx)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	n, err := w.Drain(ctx)
	ob, obErr := db.Outbox(ctx)
	if obErr != nil {
		return obErr
	}
	fmt.Fprintf(stdout, "uploaded %d; %d waiting, %d quarantined\n", n, ob.Pending, ob.Quarantined)
	if err != nil {
		return err
	}
	if ob.Pending > 0 {
		return fmt.Errorf("%d responses still waiting", ob.Pending)
	}
	return nil
}

// statusReport is what "npskiosk status" prints.
type statusReport struct {
	DB             string    `json:"db"`
	Collector      string    `json:"collector,omitempty"`
	Enrolled       bool      `json:"enrolled"`
	Reachable      bool      `json:"collector_reachable"`
	Problem        string    `json:"problem,omitempty"`
	Pending        int64     `json:"pending"`
	OldestPending  time.Time `json:"oldest_pending,omitzero"`
	Open           int64     `json:"open"`
	Quarantined    int64     `json:"quarantined"`
	Synced         int64     `json:"synced"`
	SurveyVersion  int       `json:"survey_version,omitempty"`
	SchemaVersion  int       `json:"schema_version"`
	FreeDiskBytes  int64     `json:"free_disk_bytes"`
	CheckedAt      time.Time `json:"checked_at"`
	QuarantineNote []string  `json:"quarantine_reasons,omitempty"`
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("npskiosk status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var common commonFlags
	common.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := common.load(fs)
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, store.Config{Path: cfg.DB, Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()
	ob, err := db.Outbox(ctx)
	if err != nil {
		return err
	}
	rep := statusReport{DB: cfg.DB, Collector: cfg.Collector.URL, Enrolled: cfg.Enrolled(), Pending: ob.Pending,
		OldestPending: ob.OldestPending, Open: ob.Open, Quarantined: ob.Quarantined, Synced: ob.Synced,
		SchemaVersion: store.SchemaVersion(), FreeDiskBytes: freeDisk(filepath.Dir(cfg.DB)), CheckedAt: time.Now()}
	if s, ok, _ := kiosksync.CachedSurvey(ctx, db); ok {
		rep.SurveyVersion = s.Version
	}
	q, _ := db.Quarantined(ctx, 5)
	for _, r := range q {
		rep.QuarantineNote = append(rep.QuarantineNote, r.ID+": "+r.Reason)
	}
	if rep.Enrolled {
		w, err := newWorker(cfg, db, log, nil)
		if err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = w.PullSurvey(pctx)
		cancel()
		rep.Reachable = err == nil
		if err != nil {
			rep.Problem = err.Error()
		}
	} else {
		rep.Problem = "not enrolled: run npskiosk enroll --collector URL --code CODE"
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "database:     %s (schema %d)\n", rep.DB, rep.SchemaVersion)
	if rep.Enrolled {
		state := "reachable"
		if !rep.Reachable {
			state = "NOT reachable"
		}
		fmt.Fprintf(stdout, "collector:    %s (%s)\n", rep.Collector, state)
	} else {
		fmt.Fprintf(stdout, "collector:    none\n")
	}
	if rep.Problem != "" {
		fmt.Fprintf(stdout, "problem:      %s\n", rep.Problem)
	}
	fmt.Fprintf(stdout, "waiting:      %d", rep.Pending)
	if !rep.OldestPending.IsZero() {
		fmt.Fprintf(stdout, " (oldest %s ago)", time.Since(rep.OldestPending).Round(time.Second))
	}
	fmt.Fprintf(stdout, "\nopen:         %d\nsynced:       %d\nquarantined:  %d\n", rep.Open, rep.Synced, rep.Quarantined)
	for _, n := range rep.QuarantineNote {
		fmt.Fprintf(stdout, "  %s\n", n)
	}
	fmt.Fprintf(stdout, "free disk:    %d MiB\n", rep.FreeDiskBytes>>20)
	return nil
}

// syncStatus shows the worker to the kiosk UI.
type syncStatus struct{ w *kiosksync.Worker }

func (s syncStatus) Status() kiosk.SyncStatus {
	st := s.w.Status()
	return kiosk.SyncStatus{Enrolled: !st.Revoked, Online: st.Online, LastSuccess: st.LastSuccess, LastError: st.LastError}
}

func (s syncStatus) SyncNow() { s.w.SyncNow() }
