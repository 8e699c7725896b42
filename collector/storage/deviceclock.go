package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Why a response's time is suspect even after correcting the device's clock.
const (
	ClockBeforeEnrollment = "before_enrollment"
	ClockFuture           = "future"
)

// nullMillis is t in Unix milliseconds, or NULL for the zero time.
func nullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// ResponseTimes are a stored response's times: as counted, and as its device sent them
// when the collector corrected them for the device's clock.
type ResponseTimes struct {
	CreatedAt, CompletedAt             time.Time
	DeviceCreatedAt, DeviceCompletedAt time.Time // zero: taken as sent
	ClockFlag                          string    // ClockFuture, ClockBeforeEnrollment or empty
	Suspect                            bool
	Day                                string
}

// ResponseTimes returns a response's times, or ErrNotFound.
func (db *DB) ResponseTimes(ctx context.Context, id string) (ResponseTimes, error) {
	var (
		rt                       ResponseTimes
		created, completed       int64
		devCreated, devCompleted sql.NullInt64
		flag                     sql.NullString
	)
	err := db.read.QueryRowContext(ctx,
		`SELECT created_at, completed_at, device_created_at, device_completed_at, clock_flag, suspect, day
		   FROM responses WHERE id = ?`, id).
		Scan(&created, &completed, &devCreated, &devCompleted, &flag, &rt.Suspect, &rt.Day)
	if errors.Is(err, sql.ErrNoRows) {
		return rt, fmt.Errorf("response %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return rt, fmt.Errorf("response %s: %w", id, err)
	}
	rt.CreatedAt, rt.CompletedAt = time.UnixMilli(created).UTC(), time.UnixMilli(completed).UTC()
	if devCreated.Valid {
		rt.DeviceCreatedAt = time.UnixMilli(devCreated.Int64).UTC()
	}
	if devCompleted.Valid {
		rt.DeviceCompletedAt = time.UnixMilli(devCompleted.Int64).UTC()
	}
	rt.ClockFlag = flag.String
	return rt, nil
}
