package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// NewResponse is a validated response ready to be stored for a device, with what the
// service derived from it.
type NewResponse struct {
	wire.Response
	Day  string // YYYY-MM-DD of the tap in the store's time zone
	Hash string // the response's content hash
	// Case, when set, is opened with the response if it is new.
	Case *NewCase
}

// InsertResult says what became of one NewResponse.
type InsertResult int

// What InsertBatch does with each response.
const (
	Inserted    InsertResult = iota // new: stored and counted in the rollups
	SameContent                     // its id was stored before with the same content: a retry
	Conflict                        // its id was stored before with other content, which is kept
)

// BatchResult says what InsertBatch did.
type BatchResult struct {
	Results []InsertResult // one per response, in order
	Events  int            // events queued for alerts: wake the alert worker when not zero
}

// Device returns the enrolled device with the given id.
func (db *DB) Device(ctx context.Context, deviceID string) (EnrolledDevice, error) {
	var d EnrolledDevice
	err := db.read.QueryRowContext(ctx,
		`SELECT d.id, d.store_id, s.timezone FROM devices d JOIN stores s ON s.id = d.store_id WHERE d.id = ?`,
		deviceID).Scan(&d.ID, &d.StoreID, &d.Timezone)
	if errors.Is(err, sql.ErrNoRows) {
		return EnrolledDevice{}, fmt.Errorf("device %s: %w", deviceID, ErrNotFound)
	}
	if err != nil {
		return EnrolledDevice{}, fmt.Errorf("device %s: %w", deviceID, err)
	}
	return d, nil
}

// InsertBatch stores a device's responses by id and adds the new ones to the per-day
// rollups, in one transaction: a batch is all stored or not at all, and a retry can
// never count twice. Responses must be valid and their ids unique within the batch. It
// also notes the upload as the device's last contact.
func (db *DB) InsertBatch(ctx context.Context, d EnrolledDevice, batch []NewResponse) (BatchResult, error) {
	now := db.now()
	listening, err := db.listeners(ctx, d.StoreID)
	if err != nil {
		return BatchResult{}, fmt.Errorf("insert batch: %w", err)
	}
	announce := wants(listening, EventResponseCreated)
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return BatchResult{}, fmt.Errorf("insert batch: begin: %w", err)
	}
	defer tx.Rollback()
	// One prepared statement for the batch: preparing per row was a fifth of the CPU.
	insert, err := tx.PrepareContext(ctx, `
		INSERT INTO responses (id, store_id, device_id, score, reasons, comment, contact, contact_consent,
		                       locale, survey_version, created_at, completed_at, outcome, suspect, day,
		                       content_hash, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return BatchResult{}, fmt.Errorf("insert batch: prepare: %w", err)
	}
	defer insert.Close()
	results := make([]InsertResult, len(batch))
	events := 0
	var cases *caseOpener // made at the batch's first case
	rollups := map[string]dayCounts{}
	for i, r := range batch {
		reasons, _ := json.Marshal(r.Reasons)
		if r.Reasons == nil {
			reasons = []byte("[]")
		}
		out, err := insert.ExecContext(ctx,
			r.ID, d.StoreID, d.ID, r.Score, string(reasons), r.Comment, r.Contact, r.ContactConsent,
			r.Locale, r.SurveyVersion, r.CreatedAt.UnixMilli(), r.CompletedAt.UnixMilli(), string(r.Outcome), r.Suspect, r.Day,
			r.Hash, now.UnixMilli())
		if err != nil {
			return BatchResult{}, fmt.Errorf("insert %s: %w", r.ID, err)
		}
		if n, _ := out.RowsAffected(); n == 0 {
			var existing string
			if err := tx.QueryRowContext(ctx, `SELECT content_hash FROM responses WHERE id = ?`, r.ID).Scan(&existing); err != nil {
				return BatchResult{}, fmt.Errorf("insert %s: %w", r.ID, err)
			}
			results[i] = Conflict
			if existing == r.Hash {
				results[i] = SameContent
			}
			continue
		}
		counts := rollups[r.Day]
		if r.Suspect {
			counts.suspect++
		} else {
			counts.Add(nps.Score(r.Score))
		}
		rollups[r.Day] = counts
		results[i] = Inserted
		if announce {
			created := struct {
				StoreID  string `json:"store_id"`
				DeviceID string `json:"device_id"`
				wire.Response
			}{d.StoreID, d.ID, r.Response}
			created.Contact = "" // personal data goes out with a case, never with every response
			if _, err := emitEvent(ctx, tx, EventResponseCreated, d.StoreID, created, now); err != nil {
				return BatchResult{}, err
			}
			events++
		}
		if r.Case != nil {
			if cases == nil {
				if cases, err = newCaseOpener(ctx, tx, wants(listening, EventCaseOpened)); err != nil {
					return BatchResult{}, err
				}
				defer cases.Close()
			}
			queued, err := cases.open(ctx, tx, d.StoreID, r, now)
			if err != nil {
				return BatchResult{}, err
			}
			if queued {
				events++
			}
		}
	}
	if err := addRollups(ctx, tx, d.StoreID, rollups); err != nil {
		return BatchResult{}, err
	}
	// A minute is precise enough for "last contact", and a row that does not change
	// costs the writer no page.
	if _, err := tx.ExecContext(ctx, `UPDATE devices SET last_seen_at = ? WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)`,
		now.UnixMilli(), d.ID, now.Add(-time.Minute).UnixMilli()); err != nil {
		return BatchResult{}, fmt.Errorf("insert batch: note the upload: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return BatchResult{}, fmt.Errorf("insert batch: commit: %w", err)
	}
	return BatchResult{Results: results, Events: events}, nil
}

// dayCounts is what one batch adds to one day's rollup.
type dayCounts struct {
	nps.Tally
	suspect int64
}

// addRollups adds a batch's counts to the per-day rollups, one statement per day, in
// day order: concurrent batches of one store then lock rollup rows in the same order
// and cannot deadlock.
func addRollups(ctx context.Context, t tx, storeID string, rollups map[string]dayCounts) error {
	days := slices.Sorted(maps.Keys(rollups))
	for _, day := range days {
		c := rollups[day]
		_, err := t.ExecContext(ctx, `
			INSERT INTO daily_rollups (store_id, day, promoters, passives, detractors, suspect) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (store_id, day) DO UPDATE SET
			  promoters = daily_rollups.promoters + excluded.promoters,
			  passives = daily_rollups.passives + excluded.passives,
			  detractors = daily_rollups.detractors + excluded.detractors,
			  suspect = daily_rollups.suspect + excluded.suspect`,
			storeID, day, c.Promoters, c.Passives, c.Detractors, c.suspect)
		if err != nil {
			return fmt.Errorf("update rollup %s %s: %w", storeID, day, err)
		}
	}
	return nil
}

// StoreTally is the NPS tally of a store over days [from, to], from the rollups.
func (db *DB) StoreTally(ctx context.Context, storeID, from, to string) (nps.Tally, error) {
	var t nps.Tally
	err := db.read.QueryRowContext(ctx, `
		SELECT CAST(COALESCE(SUM(promoters), 0) AS BIGINT), CAST(COALESCE(SUM(passives), 0) AS BIGINT),
		       CAST(COALESCE(SUM(detractors), 0) AS BIGINT)
		  FROM daily_rollups WHERE store_id = ? AND day BETWEEN ? AND ?`, storeID, from, to).
		Scan(&t.Promoters, &t.Passives, &t.Detractors)
	if err != nil {
		return nps.Tally{}, fmt.Errorf("tally of %s: %w", storeID, err)
	}
	return t, nil
}

// CountResponses is the number of raw response rows stored for a store.
func (db *DB) CountResponses(ctx context.Context, storeID string) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM responses WHERE store_id = ?`, storeID).Scan(&n)
	return n, err
}
