package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/npskiosk/npskiosk/internal/logring"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// recentLogs is how many of its latest log lines a running kiosk keeps in memory for a
// diagnostics bundle (at most logring.MaxLine bytes each).
const recentLogs = 500

// ringLogger is newLogger that also keeps the recent lines in ring, secrets redacted.
func ringLogger(w io.Writer, ring *logring.Ring) *slog.Logger {
	return slog.New(ring.Handler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})))
}

// errRestart ends a kiosk a remote restart action stopped.
var errRestart = errors.New("restarting: the collector asked (remote restart action)")

// askRestart is the worker's OnRestart: it notes the restart and wakes restartAsked,
// which closes the window (the headless sync cancels its context besides). It never
// waits: the worker calls it from its own goroutine.
func (m *Main) askRestart() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.restart {
		m.restart = true
		close(m.restartChan())
	}
}

// restartAsked is closed once a remote restart action asked the kiosk to stop.
func (m *Main) restartAsked() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.restartChan()
}

// restartChan makes the channel restartAsked returns; m.mu is held.
func (m *Main) restartChan() chan struct{} {
	if m.restartCh == nil {
		m.restartCh = make(chan struct{})
	}
	return m.restartCh
}

// restartExit is what a command that ran the worker returns when it stops: an exit
// with wire.ExitRestart after a remote restart action, else nil.
func (m *Main) restartExit() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.restart {
		return exitError{code: wire.ExitRestart, err: errRestart}
	}
	return nil
}

// diagnostics is the app's part of a diagnostics bundle: what "npskiosk doctor" says
// now (it opens the database read-only beside the running kiosk) and the recent log
// lines. The worker masks both before they leave.
func (m *Main) diagnostics(common commonFlags, ring *logring.Ring) func(ctx context.Context, d *wire.Diagnostics) {
	return func(ctx context.Context, d *wire.Diagnostics) {
		var out bytes.Buffer
		doc := NewMain(strings.NewReader(""), &out, io.Discard)
		err := (&doctorCmd{common: common}).run(ctx, doc)
		err = errors.Join(err, doc.Close())
		d.Doctor = append(d.Doctor, strings.Split(strings.TrimRight(out.String(), "\n"), "\n")...)
		if err != nil && !errors.Is(err, errDoctor) {
			d.Doctor = append(d.Doctor, fmt.Sprintf("doctor could not finish: %v", err))
		}
		d.Logs = ring.Lines()
	}
}
