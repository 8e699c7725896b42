package collector

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

// MaxClockSkew is how far in the future a device's timestamp may be before the response
// is rejected: device clocks drift, but not by days.
const MaxClockSkew = 10 * time.Minute

// validate checks one response: the domain's rules, as the kiosk applies them, then
// what only the collector can check (the store's survey and the collector's clock).
func validate(r wire.Response, survey wire.Survey, now time.Time) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := r.CheckReasons(survey); err != nil {
		return err
	}
	return r.CheckClock(now, MaxClockSkew)
}

// IngestFromDevice stores a batch as if the enrolled device deviceID had posted it: for
// imports and benchmarks that bypass HTTP.
func (db *DB) IngestFromDevice(ctx context.Context, deviceID string, batch []wire.Response) (wire.UploadResult, error) {
	var d device
	err := db.read.QueryRowContext(ctx,
		`SELECT d.id, d.store_id, s.timezone FROM devices d JOIN stores s ON s.id = d.store_id WHERE d.id = ?`,
		deviceID).Scan(&d.ID, &d.StoreID, &d.Timezone)
	if errors.Is(err, sql.ErrNoRows) {
		return wire.UploadResult{}, fmt.Errorf("ingest: device %s: %w", deviceID, ErrNotFound)
	}
	if err != nil {
		return wire.UploadResult{}, fmt.Errorf("ingest: device %s: %w", deviceID, err)
	}
	return db.ingest(ctx, d, batch)
}

// ingest stores a batch from one device. Each response is accepted (new), duplicate (the
// same id with the same content: a retry) or rejected with a reason (invalid, or the same
// id with other content, whose original is kept). Inserts and the per-day rollups are one
// transaction: a batch is all stored or not at all, and a retry can never count twice.
func (db *DB) ingest(ctx context.Context, d device, batch []wire.Response) (wire.UploadResult, error) {
	res := wire.UploadResult{Accepted: []string{}, Duplicate: []string{}, Rejected: []wire.Rejection{}}
	survey, err := db.Survey(ctx, d.StoreID)
	if err != nil {
		return res, err
	}
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		return res, fmt.Errorf("ingest: store %s time zone: %w", d.StoreID, err)
	}
	now := db.now()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("ingest: begin: %w", err)
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
		return res, fmt.Errorf("ingest: prepare: %w", err)
	}
	defer insert.Close()
	seen := make(map[string]bool, len(batch))
	rollups := map[string]dayCounts{}
	for _, r := range batch {
		if err := validate(r, survey, now); err != nil {
			res.Rejected = append(res.Rejected, wire.Rejection{ID: r.ID, Error: err.Error()})
			continue
		}
		if seen[r.ID] {
			res.Duplicate = append(res.Duplicate, r.ID)
			continue
		}
		seen[r.ID] = true
		hash := r.ContentHash()
		reasons, _ := json.Marshal(r.Reasons)
		if r.Reasons == nil {
			reasons = []byte("[]")
		}
		day := r.CreatedAt.In(loc).Format(time.DateOnly)
		out, err := insert.ExecContext(ctx,
			r.ID, d.StoreID, d.ID, r.Score, string(reasons), r.Comment, r.Contact, r.ContactConsent,
			r.Locale, r.SurveyVersion, r.CreatedAt.UnixMilli(), r.CompletedAt.UnixMilli(), r.Outcome, r.Suspect, day,
			hash, now.UnixMilli())
		if err != nil {
			return res, fmt.Errorf("ingest %s: %w", r.ID, err)
		}
		if n, _ := out.RowsAffected(); n == 0 {
			var existing string
			if err := tx.QueryRowContext(ctx, `SELECT content_hash FROM responses WHERE id = ?`, r.ID).Scan(&existing); err != nil {
				return res, fmt.Errorf("ingest %s: %w", r.ID, err)
			}
			if existing == hash {
				res.Duplicate = append(res.Duplicate, r.ID)
			} else {
				res.Rejected = append(res.Rejected, wire.Rejection{ID: r.ID, Error: "conflict: this id was already stored with other content"})
			}
			continue
		}
		counts := rollups[day]
		switch {
		case r.Suspect:
			counts.suspect++
		default:
			counts.Add(nps.Score(r.Score))
		}
		rollups[day] = counts
		res.Accepted = append(res.Accepted, r.ID)
	}
	if err := addRollups(ctx, tx, d.StoreID, rollups); err != nil {
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("ingest: commit: %w", err)
	}
	return res, nil
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
