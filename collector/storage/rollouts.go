package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/sync/wire"
)

// Rollout is a staged rollout of the kiosk package: the version the kiosks in it should
// run. A kiosk is in it when its store is one of Stores or when its device id's bucket
// (RolloutBucket, 0–99) is below Percent, so raising Percent only ever adds kiosks.
// The newest rollout is the one in force; a halted one asks no kiosk for anything.
type Rollout struct {
	ID        string    `json:"id"`
	Version   string    `json:"version"`
	Percent   int       `json:"percent"`
	Stores    []string  `json:"stores,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	HaltedAt  time.Time `json:"halted_at,omitzero"`
}

// Halted says whether the rollout was halted.
func (r Rollout) Halted() bool { return !r.HaltedAt.IsZero() }

// Includes says whether the device of a store is in the rollout (halted or not).
func (r Rollout) Includes(deviceID, storeID string) bool {
	return slices.Contains(r.Stores, storeID) || RolloutBucket(deviceID) < r.Percent
}

// Target is the version the rollout asks a device to run: empty when it is halted or
// the device is not in it.
func (r Rollout) Target(deviceID, storeID string) string {
	if r.Version == "" || r.Halted() || !r.Includes(deviceID, storeID) {
		return ""
	}
	return r.Version
}

// The rollout states of a device, as DeviceState says them.
const (
	RolloutOutside  = "not in rollout"
	RolloutOnTarget = "on target"
)

// DeviceState is where a device stands in the rollout: RolloutOutside, RolloutOnTarget
// (it runs the version), or its updater's last word on this version (wire.UpdatePending
// until it says otherwise, wire.UpdateFailed, wire.UpdateRolledBack).
func (r Rollout) DeviceState(d Device) string {
	switch {
	case r.Version == "" || !r.Includes(d.ID, d.StoreID):
		return RolloutOutside
	case d.AppVersion == r.Version:
		return RolloutOnTarget
	case d.UpdateTarget == r.Version && (d.UpdateState == wire.UpdateFailed || d.UpdateState == wire.UpdateRolledBack):
		return d.UpdateState
	}
	return wire.UpdatePending
}

// RolloutSummary counts the enrolled, unrevoked devices by where they stand in a rollout.
type RolloutSummary struct {
	Rollout  Rollout        `json:"rollout"`
	Devices  int            `json:"devices"`   // enrolled and not revoked
	Included int            `json:"included"`  // of those, in the rollout
	OnTarget int            `json:"on_target"` // in it and running its version
	Pending  int            `json:"pending"`   // in it, not there yet, no failure said
	Failed   int            `json:"failed"`    // in it, and their updater failed or rolled back
	Outside  int            `json:"outside"`   // not in it
	Versions map[string]int `json:"versions"`  // every device by the version it runs
}

// Summarize counts devices by their state in the rollout.
func (r Rollout) Summarize(ds []Device) RolloutSummary {
	s := RolloutSummary{Rollout: r, Versions: map[string]int{}}
	for _, d := range ds {
		if !d.Enrolled || d.Revoked {
			continue
		}
		s.Devices++
		v := d.AppVersion
		if v == "" {
			v = "unknown"
		}
		s.Versions[v]++
		switch r.DeviceState(d) {
		case RolloutOutside:
			s.Outside++
			continue
		case RolloutOnTarget:
			s.OnTarget++
		case wire.UpdateFailed, wire.UpdateRolledBack:
			s.Failed++
		default:
			s.Pending++
		}
		s.Included++
	}
	return s
}

// RolloutBucket places a device id in one of 100 buckets, the same on every collector
// and every run: the first 8 bytes of its SHA-256, modulo 100.
func RolloutBucket(deviceID string) int {
	h := sha256.Sum256([]byte(deviceID))
	return int(binary.BigEndian.Uint64(h[:8]) % 100)
}

// debVersion is what a Debian package version may hold (Debian Policy 5.6.12).
var debVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~:-]*$`)

// SetRollout starts a rollout of version to percent of the fleet and to the kiosks of
// stores; it replaces the one in force.
func (db *DB) SetRollout(ctx context.Context, version string, percent int, stores []string) (Rollout, error) {
	if !debVersion.MatchString(version) || len(version) > 100 {
		return Rollout{}, fmt.Errorf("rollout: version %q: %w: a Debian package version, e.g. 0.1.2", version, ErrInvalid)
	}
	if percent < 0 || percent > 100 {
		return Rollout{}, fmt.Errorf("rollout: percent %d: %w: 0 to 100", percent, ErrInvalid)
	}
	if percent == 0 && len(stores) == 0 {
		return Rollout{}, fmt.Errorf("rollout: %w: give a percent above 0 or stores", ErrInvalid)
	}
	for _, s := range stores {
		if _, err := db.Store(ctx, s); err != nil {
			return Rollout{}, fmt.Errorf("rollout: store %q: %w", s, err)
		}
	}
	r := Rollout{ID: uuid.Must(uuid.NewV7()).String(), Version: version, Percent: percent, Stores: stores,
		CreatedAt: time.UnixMilli(db.now().UnixMilli()).UTC()}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO rollouts (id, version, percent, stores, created_at) VALUES (?, ?, ?, ?, ?)`,
		r.ID, r.Version, r.Percent, strings.Join(stores, ","), r.CreatedAt.UnixMilli()); err != nil {
		return Rollout{}, fmt.Errorf("rollout: %w", err)
	}
	return r, nil
}

// CurrentRollout returns the rollout in force (perhaps halted); false when there was
// never one.
func (db *DB) CurrentRollout(ctx context.Context) (Rollout, bool, error) {
	var (
		r      Rollout
		stores string
		at     int64
		halted sql.NullInt64
	)
	err := db.read.QueryRowContext(ctx, `SELECT id, version, percent, stores, created_at, halted_at FROM rollouts
		ORDER BY created_at DESC, id DESC LIMIT 1`).Scan(&r.ID, &r.Version, &r.Percent, &stores, &at, &halted)
	if errors.Is(err, sql.ErrNoRows) {
		return Rollout{}, false, nil
	}
	if err != nil {
		return Rollout{}, false, fmt.Errorf("current rollout: %w", err)
	}
	if stores != "" {
		r.Stores = strings.Split(stores, ",")
	}
	r.CreatedAt = time.UnixMilli(at).UTC()
	if halted.Valid {
		r.HaltedAt = time.UnixMilli(halted.Int64).UTC()
	}
	return r, true, nil
}

// HaltRollout halts the rollout in force: no kiosk is asked to change version until
// the next SetRollout. Kiosks that already moved stay where they are.
func (db *DB) HaltRollout(ctx context.Context) (Rollout, error) {
	r, ok, err := db.CurrentRollout(ctx)
	if err != nil {
		return Rollout{}, err
	}
	if !ok {
		return Rollout{}, fmt.Errorf("halt rollout: %w: there is none", ErrNotFound)
	}
	if r.Halted() {
		return r, nil
	}
	r.HaltedAt = time.UnixMilli(db.now().UnixMilli()).UTC()
	if _, err := db.write.ExecContext(ctx, `UPDATE rollouts SET halted_at = ? WHERE id = ?`, r.HaltedAt.UnixMilli(), r.ID); err != nil {
		return Rollout{}, fmt.Errorf("halt rollout: %w", err)
	}
	return r, nil
}

// TargetVersion is the version the rollout in force asks a device to run; empty: none.
func (db *DB) TargetVersion(ctx context.Context, d EnrolledDevice) (string, error) {
	r, ok, err := db.CurrentRollout(ctx)
	if err != nil || !ok {
		return "", err
	}
	return r.Target(d.ID, d.StoreID), nil
}
