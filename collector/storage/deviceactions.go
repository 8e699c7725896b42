package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/sync/wire"
)

// Remote actions: IT asks a kiosk to sync now, to upload a diagnostics bundle or to
// restart its app (QueueDeviceAction). The next heartbeat's reply carries the action
// (LeaseDeviceActions), and a later heartbeat its result (FinishDeviceActions).
//
// Delivery is at least once, done at most once: an action handed out is "sent" with a
// lease; should the reply never reach the kiosk, the action is handed out again once the
// lease has passed, up to MaxActionSends times, then marked failed. The kiosk remembers
// the ids it has handled, so an action that reached it twice runs once, and it repeats a
// result until a heartbeat carrying it is answered.

// Action states.
const (
	ActionQueued = "queued"
	ActionSent   = "sent"
	ActionDone   = "done"
	ActionFailed = "failed"
)

// DeviceActionLease is how long a sent action waits for its result before it is sent
// again: the kiosk answers in its next sync round (seconds) when it is up, and the
// lease covers a reply lost on the way.
const DeviceActionLease = 10 * time.Minute

// MaxActionSends is how many times an action is sent before, unanswered, it is failed.
const MaxActionSends = 3

// DiagnosticsTTL is how long a diagnostics bundle is kept; then retention clears it
// (the action and its result stay, as the record of who asked).
const DiagnosticsTTL = 14 * 24 * time.Hour

// DeviceAction is a remote action as the devices page and the CLI list it.
type DeviceAction struct {
	ID          string    `json:"id"`
	DeviceID    string    `json:"device_id"`
	Kind        string    `json:"kind"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	State       string    `json:"state"`
	SentAt      time.Time `json:"sent_at,omitzero"`
	Sends       int       `json:"sends"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	Result      string    `json:"result,omitempty"`
	// BundleBytes is the size of the diagnostics bundle kept; 0 when there is none
	// (not uploaded, another kind, or expired).
	BundleBytes int64 `json:"bundle_bytes,omitempty"`
	// BundleExpiresAt is when retention clears the bundle.
	BundleExpiresAt time.Time `json:"bundle_expires_at,omitzero"`
}

// Open reports whether the action still waits for its result.
func (a DeviceAction) Open() bool { return a.State == ActionQueued || a.State == ActionSent }

// QueueDeviceAction queues an action of kind (wire.ActionKinds) for a device, recording
// who asked. A device that already has an open action of that kind gets no second one:
// ErrConflict.
func (db *DB) QueueDeviceAction(ctx context.Context, deviceID, kind, by string) (DeviceAction, error) {
	if !slices.Contains(wire.ActionKinds, kind) {
		return DeviceAction{}, fmt.Errorf("queue device action: %w: kind %q is not one of %s", ErrInvalid, kind, strings.Join(wire.ActionKinds, ", "))
	}
	if strings.TrimSpace(by) == "" {
		return DeviceAction{}, fmt.Errorf("queue device action: %w: who asks is required for the record", ErrInvalid)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return DeviceAction{}, fmt.Errorf("queue device action: %w", err)
	}
	defer tx.Rollback()
	var revoked bool
	err = tx.QueryRowContext(ctx, `SELECT revoked_at IS NOT NULL FROM devices WHERE id = ?`, deviceID).Scan(&revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return DeviceAction{}, fmt.Errorf("queue device action: device %q: %w", deviceID, ErrNotFound)
	case err != nil:
		return DeviceAction{}, fmt.Errorf("queue device action: %w", err)
	case revoked:
		return DeviceAction{}, fmt.Errorf("queue device action: device %q is revoked: %w", deviceID, ErrConflict)
	}
	var open bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM device_actions WHERE device_id = ? AND kind = ? AND state IN ('queued', 'sent'))`,
		deviceID, kind).Scan(&open); err != nil {
		return DeviceAction{}, fmt.Errorf("queue device action: %w", err)
	}
	if open {
		return DeviceAction{}, fmt.Errorf("queue device action: device %q already has a %s action waiting: %w", deviceID, kind, ErrConflict)
	}
	a := DeviceAction{ID: uuid.Must(uuid.NewV7()).String(), DeviceID: deviceID, Kind: kind, RequestedBy: by,
		RequestedAt: db.now().Truncate(time.Millisecond), State: ActionQueued}
	if _, err := tx.ExecContext(ctx, `INSERT INTO device_actions (id, device_id, kind, requested_by, requested_at, state) VALUES (?, ?, ?, ?, ?, ?)`,
		a.ID, a.DeviceID, a.Kind, a.RequestedBy, a.RequestedAt.UnixMilli(), a.State); err != nil {
		return DeviceAction{}, fmt.Errorf("queue device action: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return DeviceAction{}, fmt.Errorf("queue device action: %w", err)
	}
	db.log.Info("device action queued", "action", a.ID, "device", deviceID, "kind", kind, "by", by)
	return a, nil
}

// LeaseDeviceActions hands out a device's actions that are queued, or sent and past
// their lease, for a heartbeat reply, marking them sent; one sent MaxActionSends times
// already is failed instead. A heartbeat with none open costs one read.
func (db *DB) LeaseDeviceActions(ctx context.Context, deviceID string) ([]wire.DeviceAction, error) {
	type open struct {
		id, kind, state string
		sentAt          sql.NullInt64
		sends           int
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, kind, state, sent_at, sends FROM device_actions
		WHERE device_id = ? AND state IN ('queued', 'sent') ORDER BY requested_at, id`, deviceID)
	if err != nil {
		return nil, fmt.Errorf("lease device actions: %w", err)
	}
	var opens []open
	for rows.Next() {
		var o open
		if err := rows.Scan(&o.id, &o.kind, &o.state, &o.sentAt, &o.sends); err != nil {
			rows.Close()
			return nil, fmt.Errorf("lease device actions: %w", err)
		}
		opens = append(opens, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lease device actions: %w", err)
	}
	now := db.now()
	var due []open
	for _, o := range opens {
		if o.state == ActionQueued || o.sentAt.Valid && now.Sub(time.UnixMilli(o.sentAt.Int64)) >= DeviceActionLease {
			due = append(due, o)
		}
	}
	if len(due) == 0 {
		return nil, nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("lease device actions: %w", err)
	}
	defer tx.Rollback()
	var out []wire.DeviceAction
	for _, o := range due {
		// The sends count in the WHERE makes a second collector's lease of the same row,
		// or a result that came in meanwhile, win: this one then skips it.
		if o.sends >= MaxActionSends {
			if _, err := tx.ExecContext(ctx, `UPDATE device_actions SET state = 'failed', finished_at = ?, result = ?
				WHERE id = ? AND state = 'sent' AND sends = ?`, now.UnixMilli(),
				fmt.Sprintf("no answer from the device after %d sends", o.sends), o.id, o.sends); err != nil {
				return nil, fmt.Errorf("lease device actions: give up %s: %w", o.id, err)
			}
			continue
		}
		res, err := tx.ExecContext(ctx, `UPDATE device_actions SET state = 'sent', sent_at = ?, sends = sends + 1
			WHERE id = ? AND state IN ('queued', 'sent') AND sends = ?`, now.UnixMilli(), o.id, o.sends)
		if err != nil {
			return nil, fmt.Errorf("lease device actions: %s: %w", o.id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			out = append(out, wire.DeviceAction{ID: o.id, Kind: o.kind})
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("lease device actions: %w", err)
	}
	return out, nil
}

// FinishDeviceActions records the results a device's heartbeat names: each of its sent
// actions becomes done or failed with the device's words. A result repeated (the reply
// to the heartbeat that carried it was lost), for another device's action or for one
// given up on already changes nothing.
func (db *DB) FinishDeviceActions(ctx context.Context, deviceID string, results []wire.ActionResult) error {
	if len(results) == 0 {
		return nil
	}
	now := db.now().UnixMilli()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish device actions: %w", err)
	}
	defer tx.Rollback()
	for _, r := range results {
		state := ActionDone
		if !r.OK {
			state = ActionFailed
		}
		if _, err := tx.ExecContext(ctx, `UPDATE device_actions SET state = ?, finished_at = ?, result = ?
			WHERE id = ? AND device_id = ? AND state = 'sent'`, state, now, cutDetail(r.Detail), r.ID, deviceID); err != nil {
			return fmt.Errorf("finish device action %s: %w", r.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish device actions: %w", err)
	}
	return nil
}

// cutDetail keeps a device's words within wire.MaxActionDetail bytes, whole runes, and
// printable.
func cutDetail(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= wire.MaxActionDetail {
		return s
	}
	s = s[:wire.MaxActionDetail]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// PutDiagnostics keeps the diagnostics bundle a device uploaded for its sent
// diagnostics action, until DiagnosticsTTL passes. A bundle for an action that is not
// the device's, not a diagnostics action, or no longer waiting is ErrNotFound; one over
// wire.MaxDiagnosticsBytes is ErrInvalid.
func (db *DB) PutDiagnostics(ctx context.Context, deviceID, actionID string, bundle []byte) error {
	if len(bundle) > wire.MaxDiagnosticsBytes {
		return fmt.Errorf("put diagnostics: %w: %d bytes, at most %d", ErrInvalid, len(bundle), wire.MaxDiagnosticsBytes)
	}
	now := db.now()
	res, err := db.write.ExecContext(ctx, `UPDATE device_actions SET bundle = ?, bundle_bytes = ?, bundle_expires_at = ?
		WHERE id = ? AND device_id = ? AND kind = ? AND state = 'sent'`,
		bundle, len(bundle), now.Add(DiagnosticsTTL).UnixMilli(), actionID, deviceID, wire.ActionDiagnostics)
	if err != nil {
		return fmt.Errorf("put diagnostics for %s: %w", actionID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("put diagnostics: no diagnostics action %s waiting for this device: %w", actionID, ErrNotFound)
	}
	return nil
}

const deviceActionColumns = `id, device_id, kind, requested_by, requested_at, state, sent_at, sends, finished_at, result,
	CASE WHEN bundle IS NOT NULL AND bundle_expires_at > ? THEN bundle_bytes ELSE 0 END, bundle_expires_at`

func scanDeviceAction(sc interface{ Scan(...any) error }) (DeviceAction, error) {
	var (
		a                           DeviceAction
		requested                   int64
		sent, finished, bundleUntil sql.NullInt64
	)
	if err := sc.Scan(&a.ID, &a.DeviceID, &a.Kind, &a.RequestedBy, &requested, &a.State, &sent, &a.Sends, &finished, &a.Result,
		&a.BundleBytes, &bundleUntil); err != nil {
		return DeviceAction{}, err
	}
	a.RequestedAt = time.UnixMilli(requested)
	if sent.Valid {
		a.SentAt = time.UnixMilli(sent.Int64)
	}
	if finished.Valid {
		a.FinishedAt = time.UnixMilli(finished.Int64)
	}
	if a.BundleBytes > 0 && bundleUntil.Valid {
		a.BundleExpiresAt = time.UnixMilli(bundleUntil.Int64)
	}
	return a, nil
}

// DeviceActions lists the newest limit actions (of one device, or of every device when
// deviceID is empty), newest first.
func (db *DB) DeviceActions(ctx context.Context, deviceID string, limit int) ([]DeviceAction, error) {
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + deviceActionColumns + ` FROM device_actions`
	args := []any{db.now().UnixMilli()}
	if deviceID != "" {
		q += ` WHERE device_id = ?`
		args = append(args, deviceID)
	}
	q += ` ORDER BY requested_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list device actions: %w", err)
	}
	defer rows.Close()
	var out []DeviceAction
	for rows.Next() {
		a, err := scanDeviceAction(rows)
		if err != nil {
			return nil, fmt.Errorf("list device actions: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list device actions: %w", err)
	}
	return out, nil
}

// Diagnostics returns an action and the diagnostics bundle kept for it: ErrNotFound
// when there is no such action or it has no bundle (none uploaded, or expired).
func (db *DB) Diagnostics(ctx context.Context, actionID string) (DeviceAction, []byte, error) {
	now := db.now().UnixMilli()
	row := db.read.QueryRowContext(ctx, `SELECT `+deviceActionColumns+`, bundle FROM device_actions WHERE id = ?`, now, actionID)
	var bundle []byte
	a, err := scanDeviceAction(scanFunc(func(dest ...any) error { return row.Scan(append(dest, &bundle)...) }))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return DeviceAction{}, nil, fmt.Errorf("diagnostics %s: %w", actionID, ErrNotFound)
	case err != nil:
		return DeviceAction{}, nil, fmt.Errorf("diagnostics %s: %w", actionID, err)
	case a.BundleBytes == 0:
		return a, nil, fmt.Errorf("diagnostics %s: no bundle kept (not uploaded, or expired): %w", actionID, ErrNotFound)
	}
	return a, bundle, nil
}

// scanFunc makes a function a Scan method.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// ExpireDiagnostics clears the diagnostics bundles past DiagnosticsTTL, keeping their
// actions as the record of who asked, and returns how many it cleared.
func (db *DB) ExpireDiagnostics(ctx context.Context) (int64, error) {
	res, err := db.write.ExecContext(ctx, `UPDATE device_actions SET bundle = NULL, bundle_bytes = 0
		WHERE bundle IS NOT NULL AND bundle_expires_at <= ?`, db.now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("expire diagnostics bundles: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
