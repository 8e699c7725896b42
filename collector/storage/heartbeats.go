package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// DefaultHeartbeatFlush is how often RunHeartbeatFlusher writes the heartbeats kept in
// memory, unless told otherwise.
const DefaultHeartbeatFlush = 5 * time.Second

// heartbeatTable keeps the latest heartbeat of each device, and clock skews noted from
// uploads, in memory until the next flush: a fleet's heartbeats then cost the writer one
// transaction (one fsync) per flush instead of one each, and a heartbeat is answered
// without waiting for the disk.
//
// The table belongs to this process. What it holds is device health that the next
// heartbeat says again (last seen, app version, queue, free disk, clock skew, the
// certificate and contact key seen, the database size and last purge), so a crash
// loses at most one flush interval of it: "last seen" is late by that much, nothing
// else. What must not be lost, the kiosk's acknowledgement of scrubbed erasures, is not
// kept here: KioskScrubs writes it before the heartbeat is answered.
type heartbeatTable struct {
	mu      sync.Mutex
	pending map[string]pendingBeat // by device id
	// flushing serialises flushes, so a later flush never writes before an earlier one
	// and the latest value always lands last.
	flushing sync.Mutex
}

// pendingBeat is what is waiting to be written for one device.
type pendingBeat struct {
	storeID string
	// beat is false when only a clock skew from an upload is pending: the device's
	// other health fields are then left as the database has them.
	beat bool
	at   time.Time // when the collector received the heartbeat
	hb   wire.Heartbeat
	// skewMS is the device's clock minus the collector's, from the heartbeat or from a
	// later upload, whichever came last.
	skewMS int64
}

func (t *heartbeatTable) put(deviceID string, p pendingBeat) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = map[string]pendingBeat{}
	}
	t.pending[deviceID] = p
}

// noteSkew records a skew measured from an upload over whatever is pending.
func (t *heartbeatTable) noteSkew(deviceID string, skewMS int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = map[string]pendingBeat{}
	}
	p := t.pending[deviceID]
	p.skewMS = skewMS
	t.pending[deviceID] = p
}

// take empties the table and returns what it held.
func (t *heartbeatTable) take() map[string]pendingBeat {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.pending
	t.pending = nil
	return out
}

// putBack returns entries a failed flush could not write, unless a newer one came in
// meanwhile.
func (t *heartbeatTable) putBack(failed map[string]pendingBeat) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = map[string]pendingBeat{}
	}
	for id, p := range failed {
		if _, newer := t.pending[id]; !newer {
			t.pending[id] = p
		}
	}
}

// snapshot copies what is pending, for readers to merge over the database.
func (t *heartbeatTable) snapshot() map[string]pendingBeat {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.pending)
}

// RecordHeartbeat notes a device's health, its clock skew, the collector certificate's
// expiry it sees and its contact key, in memory: the device's row is written at the next
// flush (RunHeartbeatFlusher, Close). Devices and Stores read through to what is
// pending, so this collector's pages and metrics show it at once; another process
// reading the same database sees it after the flush.
func (db *DB) RecordHeartbeat(d EnrolledDevice, hb wire.Heartbeat) {
	now := db.now()
	skew := int64(0)
	if !hb.DeviceTime.IsZero() {
		skew = hb.DeviceTime.Sub(now).Milliseconds()
	}
	hb.Scrubbed = nil // acknowledged by KioskScrubs, not kept here
	// Only the names of settings are kept, each once: a device cannot fill the column.
	var overrides []string
	for _, f := range devicesettings.Fields {
		if slices.Contains(hb.LocalOverrides, f) {
			overrides = append(overrides, f)
		}
	}
	hb.LocalOverrides = overrides
	db.beats.put(d.ID, pendingBeat{storeID: d.StoreID, beat: true, at: now, hb: hb, skewMS: skew})
}

// NoteClockSkew records a device's clock skew (device − collector) as measured from an
// upload, as RecordHeartbeat does from a heartbeat: in memory until the next flush.
func (db *DB) NoteClockSkew(deviceID string, skew time.Duration) {
	db.beats.noteSkew(deviceID, skew.Milliseconds())
}

// FlushHeartbeats writes every pending heartbeat and clock skew in one transaction.
// When it fails, what it could not write stays pending for the next flush.
func (db *DB) FlushHeartbeats(ctx context.Context) error {
	db.beats.flushing.Lock()
	defer db.beats.flushing.Unlock()
	pending := db.beats.take()
	if len(pending) == 0 {
		return nil
	}
	if err := db.writeHeartbeats(ctx, pending); err != nil {
		db.beats.putBack(pending)
		return fmt.Errorf("flush %d heartbeats: %w", len(pending), err)
	}
	return nil
}

func (db *DB) writeHeartbeats(ctx context.Context, pending map[string]pendingBeat) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// In id order, so two collectors flushing into one PostgreSQL lock rows alike.
	for _, id := range slices.Sorted(maps.Keys(pending)) {
		p := pending[id]
		if !p.beat {
			if _, err := tx.ExecContext(ctx, `UPDATE devices SET clock_skew_ms = ? WHERE id = ?`, p.skewMS, id); err != nil {
				return fmt.Errorf("device %s: %w", id, err)
			}
			continue
		}
		hb, at := p.hb, p.at.UnixMilli()
		// An upload may have noted a later contact meanwhile (InsertBatch): last seen
		// never goes back.
		_, err := tx.ExecContext(ctx, `
			UPDATE devices SET last_seen_at = CASE WHEN last_seen_at IS NULL OR last_seen_at < ? THEN ? ELSE last_seen_at END,
			       app_version = ?, queue_length = ?, oldest_pending_s = ?,
			       free_disk_bytes = ?, clock_skew_ms = ?, collector_cert_expiry = ?, contact_key_id = ?,
			       db_bytes = ?, last_purge_at = ?, last_purged = ?, settings_version = ?, local_overrides = ?,
			       update_target = ?, update_state = ? WHERE id = ?`,
			at, at, hb.AppVersion, hb.QueueLength, hb.OldestPendingAge, hb.FreeDiskBytes, p.skewMS,
			nullMillis(hb.CollectorCertExpiry), hb.ContactKeyID, hb.DBBytes, nullMillis(hb.LastPurgeAt), hb.LastPurged,
			hb.SettingsVersion, strings.Join(hb.LocalOverrides, ","), hb.UpdateTarget, hb.UpdateState, id)
		if err != nil {
			return fmt.Errorf("device %s: %w", id, err)
		}
	}
	return tx.Commit()
}

// RunHeartbeatFlusher writes the pending heartbeats every interval (DefaultHeartbeatFlush
// when not positive) until ctx ends, and once more then. A failed flush is logged and
// retried at the next tick; Close flushes what is left.
func (db *DB) RunHeartbeatFlusher(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultHeartbeatFlush
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// The request's context is over; the last flush gets a little time of its own.
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := db.FlushHeartbeats(final); err != nil {
				db.log.Error("heartbeats: last flush", "err", err)
			}
			return
		case <-tick.C:
			if err := db.FlushHeartbeats(ctx); err != nil && !errors.Is(err, context.Canceled) {
				db.log.Error("heartbeats: flush", "err", err)
			}
		}
	}
}

// mergeInto lays what is pending for a device over its row as read, as the flush will
// write it.
func (p pendingBeat) mergeInto(d *Device) {
	d.ClockSkewMS = p.skewMS
	if !p.beat {
		return
	}
	if at := time.UnixMilli(p.at.UnixMilli()); at.After(d.LastSeen) {
		d.LastSeen = at
	}
	hb := p.hb
	d.AppVersion, d.QueueLength, d.OldestPending, d.FreeDisk = hb.AppVersion, hb.QueueLength, hb.OldestPendingAge, hb.FreeDiskBytes
	d.CollectorCertExpiry, d.ContactKeyID = time.Time{}, hb.ContactKeyID
	if !hb.CollectorCertExpiry.IsZero() {
		d.CollectorCertExpiry = time.UnixMilli(hb.CollectorCertExpiry.UnixMilli())
	}
	d.SettingsVersion, d.LocalOverrides = hb.SettingsVersion, slices.Clone(hb.LocalOverrides)
	d.DBBytes, d.LastPurged, d.LastPurgeAt = hb.DBBytes, hb.LastPurged, time.Time{}
	d.UpdateTarget, d.UpdateState = hb.UpdateTarget, hb.UpdateState
	if !hb.LastPurgeAt.IsZero() {
		d.LastPurgeAt = time.UnixMilli(hb.LastPurgeAt.UnixMilli()).UTC()
	}
}
