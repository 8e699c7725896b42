package collector

import (
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// clockTolerance: a device time off by less than this is taken as sent (network delay
// and ordinary drift); beyond it the collector corrects it and keeps the device's.
const clockTolerance = 5 * time.Second

// enrollmentGrace: a kiosk may capture for a while before it is enrolled (and imports
// bring history); a response stamped earlier than its device's enrollment by more than
// this (a clock reading 2001, say) is flagged.
const enrollmentGrace = 90 * 24 * time.Hour

// maxAge bounds the monotonic ages a kiosk may send: a kiosk app that ran longer than
// this without syncing sends a wrong age rather than a real one.
const maxAge = 400 * 24 * time.Hour

// deviceClock corrects the times of one upload from a device whose clock may be wrong.
type deviceClock struct {
	now      time.Time // the collector's clock when the batch arrived
	skew     time.Duration
	hasSkew  bool // the batch said what the device's clock read
	ages     map[string]wire.Age
	enrolled time.Time // zero: unknown, or not checked (a device that sent no clock)
}

func newDeviceClock(now time.Time, req wire.DeviceUpload, enrolled time.Time) deviceClock {
	c := deviceClock{now: now, enrolled: enrolled}
	if !req.DeviceTime.IsZero() {
		c.skew, c.hasSkew = req.DeviceTime.Sub(now), true
	} else {
		c.enrolled = time.Time{} // imports and kiosks from before send past times as they are
	}
	for _, a := range req.Ages {
		if a.CreatedMS < 0 || a.CompletedMS < 0 || a.CompletedMS > a.CreatedMS || time.Duration(a.CreatedMS)*time.Millisecond > maxAge {
			continue
		}
		if c.ages == nil {
			c.ages = make(map[string]wire.Age, len(req.Ages))
		}
		c.ages[a.ID] = a
	}
	return c
}

// correct puts row's times on the collector's clock when the device's was off by more
// than clockTolerance, keeping the device's, and flags a time that still cannot be right.
// A monotonic age is exact; without one the device's skew at upload is used.
func (c deviceClock) correct(row *storage.NewResponse) {
	created, completed := row.CreatedAt, row.CompletedAt
	if a, ok := c.ages[row.ID]; ok {
		created = c.now.Add(-time.Duration(a.CreatedMS) * time.Millisecond)
		completed = c.now.Add(-time.Duration(a.CompletedMS) * time.Millisecond)
	} else if c.hasSkew {
		created, completed = created.Add(-c.skew), completed.Add(-c.skew)
	}
	if d := created.Sub(row.CreatedAt); d > clockTolerance || d < -clockTolerance {
		row.DeviceCreatedAt, row.DeviceCompletedAt = row.CreatedAt, row.CompletedAt
		row.CreatedAt, row.CompletedAt = created.UTC().Truncate(time.Millisecond), completed.UTC().Truncate(time.Millisecond)
	}
	switch {
	case !c.hasSkew:
		// Without the device's clock nothing is corrected; validate refuses future times.
	case row.CreatedAt.After(c.now.Add(MaxClockSkew)) || row.CompletedAt.After(c.now.Add(MaxClockSkew)):
		row.ClockFlag = storage.ClockFuture
	case !c.enrolled.IsZero() && row.CreatedAt.Before(c.enrolled.Add(-enrollmentGrace)):
		row.ClockFlag = storage.ClockBeforeEnrollment
	}
	if row.ClockFlag != "" {
		row.Suspect = true
	}
}
