package storage

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/npskiosk/npskiosk/followup"
)

// ErrForbidden is returned when a device acts on another store's case.
var ErrForbidden = errors.New("forbidden")

// DeviceCases lists a store's cases that still need someone, open or contacted, soonest
// due first: what the store's kiosks cache for the manager view.
func (db *DB) DeviceCases(ctx context.Context, storeID string) ([]Case, error) {
	var out []Case
	for _, st := range []followup.Status{followup.Open, followup.Contacted} {
		cs, err := db.Cases(ctx, CaseFilter{StoreID: storeID, Status: st, Limit: 500})
		if err != nil {
			return nil, fmt.Errorf("device cases of %s: %w", storeID, err)
		}
		out = append(out, cs...)
	}
	slices.SortFunc(out, func(a, b Case) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeviceCaseChange is a move of a case a manager made on a kiosk, perhaps long before
// it reached the collector.
type DeviceCaseChange struct {
	ChangeID string // made on the device; the same id sent twice is applied once
	To       followup.Status
	Note     string
	Version  int64 // the case's version the manager saw; required
}

// ChangeCaseFromDevice applies a kiosk's change to a case of the device's store, in the
// name of "kiosk <device name>". A change id already applied returns the case as it now
// stands, with no second line in its history. It returns ErrNotFound for an unknown
// case, ErrForbidden for another store's, ErrInvalid for a malformed change, and
// ErrConflict (stale version) or followup.ErrTransition (a move the status does not
// allow) together with the case as it now stands, so the kiosk can tell the manager.
//
// The change id is checked before ChangeCase runs and recorded after it commits, not in
// its transaction: ChangeCase owns that transaction (with the case's history and its
// webhook event), and copying its body here would fork the case rules. What makes this
// safe is the version the kiosk must send. A resend that finds no record — two sends
// racing, or a crash between ChangeCase's commit and the record — meets a case its own
// first send already moved, so ChangeCase refuses it as stale; it is then recognised in
// the history: statuses are never entered twice (followup's moves have no way back), so
// a move by this device to this status with this note can only be this change.
func (db *DB) ChangeCaseFromDevice(ctx context.Context, d EnrolledDevice, caseID string, ch DeviceCaseChange) (Case, error) {
	switch {
	case ch.ChangeID == "" || len(ch.ChangeID) > 64:
		return Case{}, fmt.Errorf("device change of case %s: %w: change_id must be 1 to 64 characters", caseID, ErrInvalid)
	case ch.To == "":
		return Case{}, fmt.Errorf("device change of case %s: %w: status is required", caseID, ErrInvalid)
	case ch.Version <= 0:
		return Case{}, fmt.Errorf("device change of case %s: %w: version is required", caseID, ErrInvalid)
	}
	c, err := db.Case(ctx, caseID)
	if err != nil {
		return Case{}, fmt.Errorf("device change: %w", err)
	}
	if c.StoreID != d.StoreID {
		return Case{}, fmt.Errorf("device change of case %s: %w: it belongs to another store", caseID, ErrForbidden)
	}
	applied, err := db.caseChangeApplied(ctx, ch.ChangeID, caseID)
	if err != nil || applied {
		return c, err
	}
	actor, err := db.deviceActor(ctx, d.ID)
	if err != nil {
		return Case{}, err
	}
	c, err = db.ChangeCase(ctx, caseID, CaseChange{Actor: actor, To: ch.To, Note: ch.Note, Version: ch.Version})
	if errors.Is(err, ErrConflict) || errors.Is(err, followup.ErrTransition) {
		now, readErr := db.Case(ctx, caseID)
		if readErr != nil {
			return Case{}, fmt.Errorf("device change of case %s: %w (reading it again: %w)", caseID, err, readErr)
		}
		if !movedBy(now, actor, ch) {
			return now, err
		}
		c, err = now, nil // our own earlier send: record it below and answer as for a resend
	}
	if err != nil {
		return Case{}, fmt.Errorf("device change: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, `
		INSERT INTO case_changes (change_id, case_id, device_id, applied_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (change_id) DO NOTHING`, ch.ChangeID, caseID, d.ID, db.now().UnixMilli()); err != nil {
		// The change is applied; a resend is still recognised by its history line.
		db.log.Warn("could not record a device's case change id", "change", ch.ChangeID, "case", caseID, "err", err)
	}
	return c, nil
}

// caseChangeApplied reports whether a change id was applied already; an id applied to
// another case is refused as invalid, since the kiosk makes a new one per change.
func (db *DB) caseChangeApplied(ctx context.Context, changeID, caseID string) (bool, error) {
	var applied string
	err := db.read.QueryRowContext(ctx, `SELECT case_id FROM case_changes WHERE change_id = ?`, changeID).Scan(&applied)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("device change of case %s: look up change %s: %w", caseID, changeID, err)
	case applied != caseID:
		return false, fmt.Errorf("device change of case %s: %w: change_id %s was used for another case", caseID, ErrInvalid, changeID)
	}
	return true, nil
}

// deviceActor names a device in a case's history.
func (db *DB) deviceActor(ctx context.Context, deviceID string) (string, error) {
	var name string
	err := db.read.QueryRowContext(ctx, `SELECT name FROM devices WHERE id = ?`, deviceID).Scan(&name)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("device change: name of device %s: %w", deviceID, err)
	}
	if name == "" {
		name = deviceID
	}
	return "kiosk " + name, nil
}

// movedBy reports whether the case's history holds this move by this actor.
func movedBy(c Case, actor string, ch DeviceCaseChange) bool {
	return slices.ContainsFunc(c.History, func(e CaseEvent) bool {
		return e.Action == "moved" && e.Actor == actor && e.To == ch.To && e.Note == ch.Note
	})
}
