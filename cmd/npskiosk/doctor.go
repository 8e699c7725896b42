package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/store"
	kiosksync "github.com/npskiosk/npskiosk/sync"
)

// check is one line of the doctor's report: OK, or what to do.
type check struct {
	name string
	ok   bool
	say  string
}

// runDoctor checks what a kiosk needs, one line each, and exits non-zero if any fails.
func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("npskiosk doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var common commonFlags
	common.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var checks []check
	add := func(name string, ok bool, format string, a ...any) {
		checks = append(checks, check{name, ok, fmt.Sprintf(format, a...)})
	}
	defer func() {
		for _, c := range checks {
			state := "OK  "
			if !c.ok {
				state = "FAIL"
			}
			fmt.Fprintf(stdout, "%s %-18s %s\n", state, c.name, c.say)
		}
	}()

	cfg, err := common.load(fs)
	if err != nil {
		add("config", false, "%v: fix the file (unknown keys are errors) or pass --config", err)
		return errors.New("doctor found problems")
	}
	add("config", true, "%s", common.config)

	db, err := store.Open(ctx, store.Config{Path: cfg.DB, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		add("database", false, "%v: restore %s from a backup, or move it aside to start empty (its unsent responses are lost)", err, cfg.DB)
		return errors.New("doctor found problems")
	}
	defer db.Close()
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

	free := freeDisk(filepath.Dir(cfg.DB))
	add("free disk", free > 100<<20, "%d MiB free where the database lives%s", free>>20, map[bool]string{true: "", false: ": free space, or the kiosk will stop saving responses"}[free > 100<<20])

	if !cfg.Enrolled() {
		add("enrolled", false, "no collector: run npskiosk enroll --collector URL --code CODE (code from npscollector device add)")
		return errors.New("doctor found problems")
	}
	add("enrolled", true, "device %s of store %s", cfg.Collector.DeviceID, cfg.Collector.StoreID)

	// Reachable, with the collector's clock for the skew.
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(hctx, http.MethodGet, strings.TrimRight(cfg.Collector.URL, "/")+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		add("collector", false, "cannot reach %s: %v: check the network and the URL", cfg.Collector.URL, err)
		return errors.New("doctor found problems")
	}
	resp.Body.Close()
	add("collector", resp.StatusCode == http.StatusOK, "%s answers %s", cfg.Collector.URL, resp.Status)
	if at, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		skew := time.Since(at).Round(time.Second)
		add("clock", skew.Abs() < 2*time.Minute, "%s off the collector's clock%s", skew, map[bool]string{true: "", false: ": enable time sync (systemd-timesyncd or chrony)"}[skew.Abs() < 2*time.Minute])
	}

	w, err := newWorker(cfg, db, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return err
	}
	switch err := w.PullSurvey(hctx); {
	case errors.Is(err, kiosksync.ErrRevoked):
		add("token", false, "the collector refuses this device's token: ask IT for a new code and enroll again")
	case err != nil:
		add("token", false, "%v", err)
	default:
		add("token", true, "accepted by the collector")
	}
	for _, c := range checks {
		if !c.ok {
			return errors.New("doctor found problems")
		}
	}
	return nil
}
