package storage

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// NewResponse is a validated response ready to be stored for a device, with what the
// service derived from it. Its SealedContact, when set, is a contact the collector
// could not open: it is kept as it came (contact_sealed) and shown as sealed.
type NewResponse struct {
	wire.Response
	Day  string // YYYY-MM-DD of the tap in the store's time zone
	Hash string // the response's content hash
	// Case, when set, is opened with the response if it is new.
	Case *NewCase
	// Thanks, when set, queues a thank-you e-mail to the shopper (see NewThankYou).
	Thanks *NewThankYou
	// DeviceCreatedAt and DeviceCompletedAt are the times the device sent when the
	// Response's were corrected for its wrong clock; zero when they were taken as sent.
	DeviceCreatedAt, DeviceCompletedAt time.Time
	// ClockFlag, when set, says why the response's time is suspect (ClockFuture,
	// ClockBeforeEnrollment).
	ClockFlag string
	// Tags, when set, are the response's themes and sentiment: stored with it and
	// counted, with its reasons, in theme_rollups. Nil: stored untagged, for the
	// re-tagging job.
	Tags *Tags
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
	// Events counts the events and thank-you e-mails queued for the alert worker: wake
	// it when not zero.
	Events int
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

// Origin is where responses came from: an enrolled kiosk (DeviceID) or a survey link
// (LinkID), never both, at a store.
type Origin struct {
	StoreID  string
	DeviceID string
	LinkID   string
}

// nullable is a text column's value, NULL when empty.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// rollupKey is one row of the rollups within a store: its segment row in
// segment_rollups, and without the segment its row in daily_rollups.
type rollupKey struct{ day, channel, touchpoint, segment string }

// InsertBatch stores responses from one origin by id and adds the new ones to the
// per-day rollups of their channel and touchpoint, in one transaction: a batch is all
// stored or not at all, and a retry can never count twice. Responses must be valid,
// their channel set, and their ids unique within the batch. An upload from a device is
// noted as its last contact.
//
// Concurrent calls are group-committed (groupcommit.go): what needs no database (the
// columns, sealed contacts, the store's event listeners) is made here, by the caller,
// and the writer stores the batch with the others queued beside it in one transaction,
// in a savepoint of its own. A caller whose ctx ends while its batch is queued gets
// ctx.Err(), and nothing of the batch is written.
//
// On PostgreSQL, several collectors write at once, and a group of one may take its
// stores' and shards' locks in another order than another collector's group: PostgreSQL
// then fails one of them (deadlock_detected), having written nothing of it. Such a batch
// is submitted again, up to lockRetries times, rather than failing its upload.
func (db *DB) InsertBatch(ctx context.Context, o Origin, batch []NewResponse) (BatchResult, error) {
	for attempt := 1; ; attempt++ {
		r := &insertRequest{origin: o, batch: batch, now: db.now(), rows: make([][]any, len(batch))}
		var err error
		if r.listening, err = db.listeners(ctx, o.StoreID); err != nil {
			return BatchResult{}, fmt.Errorf("insert batch: %w", err)
		}
		for i, nr := range batch {
			if r.rows[i], err = db.responseColumns(o, nr, r.now); err != nil {
				return BatchResult{}, fmt.Errorf("insert %s: %w", nr.ID, err)
			}
		}
		res, err := db.writerFor(o.StoreID).submit(ctx, r)
		if err == nil || attempt == lockRetries || !retryAlone(err) || ctx.Err() != nil {
			return res, err
		}
		db.log.Info("insert batch: tried again after a lock conflict with another writer", "store", o.StoreID, "attempt", attempt, "err", err)
	}
}

// lockRetries is how many times InsertBatch submits a batch that PostgreSQL failed for
// a deadlock or a serialization failure.
const lockRetries = 4

// insertColumns are the responses columns InsertBatch writes, less seq, which SQLite's
// rows are given last (reservePositions).
const insertColumns = `id, store_id, device_id, link_id, channel, touchpoint, score, reasons, comment, contact,
	contact_consent, locale, survey_version, created_at, completed_at, outcome, suspect, day,
	content_hash, received_at, answers, order_id, segment,
	device_created_at, device_completed_at, clock_flag, contact_sealed,
	sentiment, sentiment_score, worth_a_look, theme_fingerprint, contact_index`

// responseColumns are one response's values of insertColumns.
func (db *DB) responseColumns(o Origin, r NewResponse, now time.Time) ([]any, error) {
	reasons, _ := json.Marshal(r.Reasons) // a string slice always marshals
	if r.Reasons == nil {
		reasons = []byte("[]")
	}
	sentiment, sentimentScore, worth, fingerprint := tagColumns(r.Tags)
	contact, err := db.vault.Seal(r.Contact)
	if err != nil {
		return nil, err
	}
	return []any{r.ID, o.StoreID, nullable(o.DeviceID), nullable(o.LinkID), r.Channel, r.Touchpoint, r.Score, string(reasons),
		r.Comment, contact, r.ContactConsent, r.Locale, r.SurveyVersion, r.CreatedAt.UnixMilli(), r.CompletedAt.UnixMilli(), string(r.Outcome), r.Suspect, r.Day,
		r.Hash, now.UnixMilli(), answersColumn(r.Answers), r.OrderID, r.Segment,
		nullMillis(r.DeviceCreatedAt), nullMillis(r.DeviceCompletedAt), nullable(r.ClockFlag), nullable(r.SealedContact),
		sentiment, sentimentScore, worth, fingerprint, nullable(db.vault.Index(r.Contact))}, nil
}

// insertChunk caps the rows of one multi-row INSERT: 33 columns a row stay under both
// databases' limit of bound values (SQLite 32766, PostgreSQL 65535).
const insertChunk = 500

// insertRows inserts a request's rows with multi-row INSERTs and returns the ids that
// were new; a row whose id is stored already is left as it is.
func insertRows(ctx context.Context, t tx, rows [][]any, seqBase int64) (map[string]bool, error) {
	inserted := make(map[string]bool, len(rows))
	cols, row := insertColumns, "(?"+strings.Repeat(", ?", strings.Count(insertColumns, ",")) // one ? a column
	if seqBase >= 0 {
		cols, row = cols+", seq", row+", ?"
	}
	row += ")"
	for done := 0; done < len(rows); done += insertChunk {
		chunk := rows[done:min(done+insertChunk, len(rows))]
		args := make([]any, 0, len(chunk)*(len(chunk[0])+1))
		for i, r := range chunk {
			args = append(args, r...)
			if seqBase >= 0 {
				args = append(args, seqBase+int64(done+i)+1)
			}
		}
		out, err := t.QueryContext(ctx, `INSERT INTO responses (`+cols+`) VALUES `+
			strings.TrimSuffix(strings.Repeat(row+",", len(chunk)), ",")+` ON CONFLICT (id) DO NOTHING RETURNING id`, args...)
		if err != nil {
			return nil, fmt.Errorf("insert responses: %w", err)
		}
		for out.Next() {
			var id string
			if err := out.Scan(&id); err != nil {
				out.Close()
				return nil, fmt.Errorf("insert responses: %w", err)
			}
			inserted[id] = true
		}
		if err := out.Close(); err != nil {
			return nil, fmt.Errorf("insert responses: %w", err)
		}
		if err := out.Err(); err != nil {
			return nil, fmt.Errorf("insert responses: %w", err)
		}
	}
	return inserted, nil
}

// storedHashes are the content hashes of the responses stored with these ids.
func storedHashes(ctx context.Context, t tx, ids []string) (map[string]string, error) {
	hashes := make(map[string]string, len(ids))
	for done := 0; done < len(ids); done += insertChunk {
		chunk := ids[done:min(done+insertChunk, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := t.QueryContext(ctx, `SELECT id, content_hash FROM responses WHERE id IN (?`+
			strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read stored hashes: %w", err)
		}
		for rows.Next() {
			var id, hash string
			if err := rows.Scan(&id, &hash); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read stored hashes: %w", err)
			}
			hashes[id] = hash
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("read stored hashes: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read stored hashes: %w", err)
		}
	}
	return hashes, nil
}

// insertRequestTx stores one InsertBatch in the writer's transaction, with its
// responses' themes, cases and events, and returns what its new responses add to the
// rollups, for the writer to write with those of the rest of its group (writeCounts),
// which also notes the upload as the device's last contact.
func (db *DB) insertRequestTx(ctx context.Context, t tx, req *insertRequest) (BatchResult, storeCounts, error) {
	o, batch, now, listening := req.origin, req.batch, req.now, req.listening
	announce := wants(listening, EventResponseCreated)
	if len(batch) == 0 {
		return BatchResult{Results: []InsertResult{}}, storeCounts{}, nil
	}
	var (
		inserted, opened map[string]bool
		together         bool // the themes and cases went with the responses
		err              error
	)
	if t.d.name == "postgres" {
		if inserted, opened, together, err = insertTogether(ctx, t, req, o.StoreID, now); err != nil {
			return BatchResult{}, storeCounts{}, fmt.Errorf("insert batch: %w", err)
		}
	}
	if !together {
		// The batch's positions in received order (cursor.go); PostgreSQL's come from the
		// columns' defaults.
		seqBase, err := reservePositions(ctx, t, len(batch))
		if err != nil {
			return BatchResult{}, storeCounts{}, fmt.Errorf("insert batch: %w", err)
		}
		if inserted, err = insertRows(ctx, t, req.rows, seqBase); err != nil {
			return BatchResult{}, storeCounts{}, fmt.Errorf("insert batch: %w", err)
		}
	}
	var old []string
	for _, r := range batch {
		if !inserted[r.ID] {
			old = append(old, r.ID)
		}
	}
	var hashes map[string]string
	if len(old) > 0 {
		if hashes, err = storedHashes(ctx, t, old); err != nil {
			return BatchResult{}, storeCounts{}, fmt.Errorf("insert batch: %w", err)
		}
	}
	results := make([]InsertResult, len(batch))
	events := 0
	rollups := map[rollupKey]dayCounts{}
	var (
		themes   themeRows
		newCases []NewResponse // the new responses that open a case
	)
	themeRollups := map[themeKey]nps.Tally{}
	for i, r := range batch {
		if !inserted[r.ID] {
			existing, ok := hashes[r.ID]
			if !ok {
				return BatchResult{}, storeCounts{}, fmt.Errorf("insert %s: neither inserted nor stored before", r.ID)
			}
			results[i] = Conflict
			if existing == r.Hash {
				results[i] = SameContent
			}
			continue
		}
		key := rollupKey{r.Day, r.Channel, r.Touchpoint, r.Segment}
		counts := rollups[key]
		if r.Suspect {
			counts.suspect++
		} else {
			counts.Add(nps.Score(r.Score))
		}
		rollups[key] = counts
		results[i] = Inserted
		if r.Tags != nil {
			if !together {
				themes.add(r.ID, r.Tags)
			}
			themeCounts(themeRollups, 1, r.Day, r.Channel, r.Touchpoint, r.Segment, r.Score, r.Suspect, r.Tags.WorthALook, themeKeys(r.Tags), r.Reasons)
		}
		if announce {
			created := struct {
				StoreID  string `json:"store_id"`
				DeviceID string `json:"device_id,omitempty"`
				LinkID   string `json:"link_id,omitempty"`
				wire.Response
			}{o.StoreID, o.DeviceID, o.LinkID, r.Response}
			// Personal data goes out with a case, never with every response; a sealed
			// contact is personal data too, and its envelope is no one's business.
			created.Contact, created.SealedContact = "", ""
			if _, err := emitEvent(ctx, t, EventResponseCreated, o.StoreID, created, now); err != nil {
				return BatchResult{}, storeCounts{}, err
			}
			events++
		}
		if r.Case != nil && !together {
			newCases = append(newCases, r)
		}
		if r.Thanks != nil {
			queued, err := queueThankYou(ctx, t, o.StoreID, r, now)
			if err != nil {
				return BatchResult{}, storeCounts{}, err
			}
			if queued {
				events++
			}
		}
	}
	var queued int
	if together {
		if wants(listening, EventCaseOpened) {
			queued, err = announceCases(ctx, t, db.vault, o.StoreID, batch, opened, now)
		}
	} else {
		if err := themes.insert(ctx, t); err != nil {
			return BatchResult{}, storeCounts{}, fmt.Errorf("insert batch: %w", err)
		}
		queued, err = openCases(ctx, t, db.vault, wants(listening, EventCaseOpened), o.StoreID, newCases, now)
	}
	if err != nil {
		return BatchResult{}, storeCounts{}, err
	}
	events += queued
	return BatchResult{Results: results, Events: events}, storeCounts{rollups, themeRollups}, nil
}

// noteUploads notes a group's uploads from devices as the devices' last contact, in one
// statement: at the time of the group's latest upload, which is at most the group's wait
// in the queue after each device's own. A minute is precise enough for "last contact",
// and a row that does not change costs the writer no page.
func noteUploads(ctx context.Context, t tx, devices map[string]bool, now time.Time) error {
	if len(devices) == 0 {
		return nil
	}
	args := []any{now.UnixMilli(), now.Add(-time.Minute).UnixMilli()}
	for _, id := range slices.Sorted(maps.Keys(devices)) {
		args = append(args, id)
	}
	_, err := t.ExecContext(ctx, `UPDATE devices SET last_seen_at = ? WHERE (last_seen_at IS NULL OR last_seen_at < ?)
		AND id IN (?`+strings.Repeat(", ?", len(devices)-1)+`)`, args...)
	if err != nil {
		return fmt.Errorf("insert batch: note the uploads: %w", err)
	}
	return nil
}

// answersColumn is the answers column: JSON, or empty when there are none.
func answersColumn(answers map[string][]string) string {
	if len(answers) == 0 {
		return ""
	}
	b, _ := json.Marshal(answers) // a map of string slices always marshals
	return string(b)
}

// dayCounts is what one batch adds to one day's rollup.
type dayCounts struct {
	nps.Tally
	suspect int64
}

func (c dayCounts) empty() bool {
	return c.Promoters == 0 && c.Passives == 0 && c.Detractors == 0 && c.suspect == 0
}

// addRollups adds a batch's counts (negative ones take away) to the rollups: every
// response to daily_rollups, and those with a segment to segment_rollups too. One
// statement per table, rows in key order, daily_rollups first: concurrent batches of one store
// then lock rollup rows in the same order and cannot deadlock. Rows whose counts come
// to nothing (a revision that only moved a response between segments) are not written.
func addRollups(ctx context.Context, t tx, storeID string, rollups map[rollupKey]dayCounts) error {
	if err := lockStoreRollups(ctx, t, storeID); err != nil {
		return err
	}
	daily := map[rollupKey]dayCounts{}
	for k, c := range rollups {
		k.segment = ""
		d := daily[k]
		d.Promoters += c.Promoters
		d.Passives += c.Passives
		d.Detractors += c.Detractors
		d.suspect += c.suspect
		daily[k] = d
	}
	byKey := func(a, b rollupKey) int {
		return cmp.Or(cmp.Compare(a.segment, b.segment), cmp.Compare(a.day, b.day), cmp.Compare(a.channel, b.channel),
			cmp.Compare(a.touchpoint, b.touchpoint))
	}
	var dailyRows, segmentRows [][]any
	for _, k := range slices.SortedFunc(maps.Keys(daily), byKey) {
		if c := daily[k]; !c.empty() {
			dailyRows = append(dailyRows, []any{storeID, k.day, k.channel, k.touchpoint, c.Promoters, c.Passives, c.Detractors, c.suspect})
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(rollups), byKey) {
		if c := rollups[k]; k.segment != "" && !c.empty() {
			segmentRows = append(segmentRows, []any{k.segment, k.day, storeID, k.channel, k.touchpoint, c.Promoters, c.Passives, c.Detractors, c.suspect})
		}
	}
	if err := addCounts(ctx, t, "daily_rollups", "store_id, day, channel, touchpoint", dailyRows); err != nil {
		return fmt.Errorf("update rollups of %s: %w", storeID, err)
	}
	if err := addCounts(ctx, t, "segment_rollups", "segment, day, store_id, channel, touchpoint", segmentRows); err != nil {
		return fmt.Errorf("update segment rollups of %s: %w", storeID, err)
	}
	return addSums(ctx, t, storeID, rollups)
}

// addCounts adds rows of counts to a table of counts keyed by keys, in one statement a
// few hundred rows: a round trip per row was most of an upload's time on PostgreSQL.
// Each row is its key's values, then promoters, passives, detractors and suspect; no key
// may come twice (PostgreSQL would refuse to update a row twice in one statement). Rows
// are written, and on PostgreSQL locked, in the order given.
func addCounts(ctx context.Context, t tx, table, keys string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	cols := strings.Count(keys, ",") + 1 + 4
	row := "(?" + strings.Repeat(", ?", cols-1) + ")"
	const chunk = 500 // 13 columns at most: under both databases' limit of bound values
	for done := 0; done < len(rows); done += chunk {
		part := rows[done:min(done+chunk, len(rows))]
		args := make([]any, 0, len(part)*cols)
		for _, r := range part {
			args = append(args, r...)
		}
		_, err := t.ExecContext(ctx, `INSERT INTO `+table+` (`+keys+`, promoters, passives, detractors, suspect) VALUES `+
			strings.TrimSuffix(strings.Repeat(row+",", len(part)), ",")+`
			ON CONFLICT (`+keys+`) DO UPDATE SET
			  promoters = `+table+`.promoters + excluded.promoters,
			  passives = `+table+`.passives + excluded.passives,
			  detractors = `+table+`.detractors + excluded.detractors,
			  suspect = `+table+`.suspect + excluded.suspect`, args...)
		if err != nil {
			return err
		}
	}
	return nil
}

// lockStoreRollups holds, until the transaction ends, the lock that orders the changes
// to one store's rollups and report sums: a revision reads a response's counts before it
// moves them, and a change of region or format reads the store's history before it moves
// it between scopes. Taken again in the same transaction it is held already. SQLite
// needs none: one writer.
func lockStoreRollups(ctx context.Context, t tx, storeID string) error {
	if t.d.lockText == "" {
		return nil
	}
	if _, err := t.ExecContext(ctx, t.d.lockText, "rollups:"+storeID); err != nil {
		return fmt.Errorf("lock the rollups of %s: %w", storeID, err)
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
