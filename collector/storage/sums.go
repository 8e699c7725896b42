package storage

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/nps"
)

// Report sums (migration 0021) make a report's cost depend on the stores and days it
// shows, not on the days it covers:
//
//   - scope_days: each day's counts of the chain, of each region and of each store
//     format, per slice. The chain's, a region's or a format's NPS and trend sum a row
//     per day (and shard), not a row per store and day.
//   - store_sums: per store and slice, prefix sums with a row for every day from the
//     slice's first day at the store to its last. A store's counts over a range are its
//     row on the last day minus its row on the day before the first, and every store's
//     rows of one day are one index range: the stores table reads two rows a store.
//   - store_sums_last: each store slice's first and last day, and its counts on the last
//     day, for stores whose last day is before the range's end.
//
// All three are kept in the transaction that changes daily_rollups and segment_rollups
// (addRollups), and built from them once (buildReportSums). A report whose filter maps
// onto neither (a segment and a channel at once, or a region and a format) sums the
// rollups as before.

// reportShards is how many rows a scope's day is spread over, by store (shardOf).
const reportShards = 16

// shardOf is the scope_days shard a store's counts go to.
func shardOf(storeID string) int {
	h := fnv.New32a()
	h.Write([]byte(storeID))
	return int(h.Sum32() % reportShards)
}

// slicesOf are the slices a response of this channel, touchpoint and segment counts in.
func slicesOf(channel, touchpoint, segment string) []string {
	out := []string{"", "c:" + channel}
	if touchpoint != "" {
		out = append(out, "t:"+touchpoint, "c:"+channel+"/t:"+touchpoint)
	}
	if segment != "" {
		out = append(out, "g:"+segment)
	}
	return out
}

// slice is the one slice that counts the responses of the filter's channel, touchpoint
// and segment; false when no slice does (a segment with a channel or touchpoint).
func (f Filter) slice() (string, bool) {
	switch {
	case f.Segment != "" && (f.Channel != "" || f.Touchpoint != ""):
		return "", false
	case f.Segment != "":
		return "g:" + f.Segment, true
	case f.Channel != "" && f.Touchpoint != "":
		return "c:" + f.Channel + "/t:" + f.Touchpoint, true
	case f.Channel != "":
		return "c:" + f.Channel, true
	case f.Touchpoint != "":
		return "t:" + f.Touchpoint, true
	}
	return "", true
}

// scope is the scope_days scope of the filter's stores; false when it names a store, or
// a region and a format at once.
func (f Filter) scope() (string, bool) {
	switch {
	case f.StoreID != "", f.Region != "" && f.Format != "":
		return "", false
	case f.Region != "":
		return "r:" + f.Region, true
	case f.Format != "":
		return "f:" + f.Format, true
	}
	return "", true
}

// storeCondition narrows a query of a table aliased alias to the filter's stores.
func (f Filter) storeCondition(alias string) (string, []any) {
	var (
		conds []string
		args  []any
	)
	if f.StoreID != "" {
		conds, args = append(conds, alias+".store_id = ?"), append(args, f.StoreID)
	}
	if f.Region != "" {
		conds, args = append(conds, alias+".store_id IN (SELECT id FROM stores WHERE region = ?)"), append(args, f.Region)
	}
	if f.Format != "" {
		conds, args = append(conds, alias+".store_id IN (SELECT id FROM stores WHERE format = ?)"), append(args, f.Format)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " AND " + strings.Join(conds, " AND "), args
}

// dayBefore is the calendar day before a YYYY-MM-DD day.
func dayBefore(day string) (string, error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return "", fmt.Errorf("%w: day %q is not YYYY-MM-DD", ErrInvalid, day)
	}
	return d.AddDate(0, 0, -1).Format(time.DateOnly), nil
}

// storeSumsQuery is each store's counts over [f.From, f.To] in slice, from store_sums:
// rows (store_id, promoters, passives, detractors, suspect), a store with nothing in the
// range as zeros or not at all. A store whose slice has a row on f.To takes that row
// minus its row on the day before f.From (none: the slice starts within the range); one
// whose last day falls within the range takes its last counts minus the same.
func storeSumsQuery(f Filter, slice string) (string, []any, error) {
	before, err := dayBefore(f.From)
	if err != nil {
		return "", nil, err
	}
	tCond, tArgs := f.storeCondition("t")
	cCond, cArgs := f.storeCondition("c")
	diff := func(a string) string {
		return a + `.store_id AS store_id, ` + a + `.promoters - COALESCE(b.promoters, 0) AS promoters, ` +
			a + `.passives - COALESCE(b.passives, 0) AS passives, ` + a + `.detractors - COALESCE(b.detractors, 0) AS detractors, ` +
			a + `.suspect - COALESCE(b.suspect, 0) AS suspect`
	}
	q := `SELECT ` + diff("t") + `
		  FROM store_sums t LEFT JOIN store_sums b ON b.slice = t.slice AND b.day = ? AND b.store_id = t.store_id
		 WHERE t.slice = ? AND t.day = ?` + tCond + `
		UNION ALL
		SELECT ` + diff("c") + `
		  FROM store_sums_last c LEFT JOIN store_sums b ON b.slice = c.slice AND b.day = ? AND b.store_id = c.store_id
		 WHERE c.slice = ? AND c.last_day < ? AND c.last_day >= ?` + cCond
	args := append([]any{before, slice, f.To}, tArgs...)
	args = append(append(args, before, slice, f.To, before), cArgs...)
	return q, args, nil
}

// npsFromSums is NPS from the report sums; false when they cannot answer the filter.
func (db *DB) npsFromSums(ctx context.Context, f Filter) (NPSReport, bool, error) {
	slice, ok := f.slice()
	if !ok {
		return NPSReport{}, false, nil
	}
	var (
		q    string
		args []any
	)
	if scope, ok := f.scope(); ok {
		q = `SELECT ` + rollupSums + ` FROM scope_days WHERE scope = ? AND slice = ? AND day BETWEEN ? AND ?`
		args = []any{scope, slice, f.From, f.To}
	} else {
		inner, innerArgs, err := storeSumsQuery(f, slice)
		if err != nil {
			return NPSReport{}, false, err
		}
		q, args = `SELECT `+rollupSums+` FROM (`+inner+`) s`, innerArgs
	}
	var (
		t       nps.Tally
		suspect int64
	)
	if err := db.read.QueryRowContext(ctx, q, args...).Scan(&t.Promoters, &t.Passives, &t.Detractors, &suspect); err != nil {
		return NPSReport{}, false, err
	}
	return report(t, suspect), true, nil
}

// perStoreFromSums is perStore from the report sums; false when they cannot answer the
// filter. Stores with nothing in the range are left out, as the rollups leave them.
func (db *DB) perStoreFromSums(ctx context.Context, f Filter) (map[string]NPSReport, bool, error) {
	slice, ok := f.slice()
	if !ok {
		return nil, false, nil
	}
	q, args, err := storeSumsQuery(f, slice)
	if err != nil {
		return nil, false, err
	}
	out, err := db.tallies(ctx, q, args...)
	if err != nil {
		return nil, false, err
	}
	maps.DeleteFunc(out, func(_ string, r NPSReport) bool { return r.Responses == 0 && r.Suspect == 0 })
	return out, true, nil
}

// trendSource is the table and conditions a trend sums by day: scope_days when the
// filter has a scope and a slice, else the rollups (which, narrowed to one store, read
// that store's rows by their index).
func (f Filter) trendSource() (table, where string, args []any) {
	if slice, ok := f.slice(); ok {
		if scope, ok := f.scope(); ok {
			return "scope_days", "scope = ? AND slice = ? AND day BETWEEN ? AND ?", []any{scope, slice, f.From, f.To}
		}
	}
	where, args = f.where("")
	return f.rollups(), where, args
}

// sumCounts is dayCounts added up.
func (c *dayCounts) add(d dayCounts) {
	c.Promoters += d.Promoters
	c.Passives += d.Passives
	c.Detractors += d.Detractors
	c.suspect += d.suspect
}

type sliceDay struct{ slice, day string }

// addSums adds a store's rollup changes (what addRollups wrote) to the report sums.
func addSums(ctx context.Context, t tx, storeID string, rollups map[rollupKey]dayCounts) error {
	deltas := map[sliceDay]dayCounts{}
	for k, c := range rollups {
		for _, s := range slicesOf(k.channel, k.touchpoint, k.segment) {
			d := deltas[sliceDay{s, k.day}]
			d.add(c)
			deltas[sliceDay{s, k.day}] = d
		}
	}
	maps.DeleteFunc(deltas, func(_ sliceDay, c dayCounts) bool { return c.empty() })
	if len(deltas) == 0 {
		return nil
	}
	var region, format string
	if err := t.QueryRowContext(ctx, `SELECT region, format FROM stores WHERE id = ?`, storeID).Scan(&region, &format); err != nil {
		return fmt.Errorf("report sums of %s: %w", storeID, err)
	}
	keys := slices.SortedFunc(maps.Keys(deltas), func(a, b sliceDay) int {
		return cmp.Or(cmp.Compare(a.slice, b.slice), cmp.Compare(a.day, b.day))
	})
	// Scopes in key order, so that concurrent transactions lock shared rows in one order.
	shard := shardOf(storeID)
	for _, scope := range scopesOf(region, format) {
		for _, k := range keys {
			if err := addScopeDay(ctx, t, scope, k, shard, deltas[k]); err != nil {
				return fmt.Errorf("report sums of %s: %w", storeID, err)
			}
		}
	}
	var s *storeSeries
	for _, k := range keys {
		if s == nil || s.slice != k.slice {
			if s != nil {
				if err := s.save(ctx, t); err != nil {
					return fmt.Errorf("report sums of %s: %w", storeID, err)
				}
			}
			var err error
			if s, err = loadSeries(ctx, t, k.slice, storeID); err != nil {
				return fmt.Errorf("report sums of %s: %w", storeID, err)
			}
		}
		if err := s.add(ctx, t, k.day, deltas[k]); err != nil {
			return fmt.Errorf("report sums of %s: %w", storeID, err)
		}
	}
	if err := s.save(ctx, t); err != nil {
		return fmt.Errorf("report sums of %s: %w", storeID, err)
	}
	return nil
}

// scopesOf are the scope_days scopes of a store of this region and format, sorted.
func scopesOf(region, format string) []string {
	out := []string{""}
	if format != "" {
		out = append(out, "f:"+format)
	}
	if region != "" {
		out = append(out, "r:"+region)
	}
	return out
}

func addScopeDay(ctx context.Context, t tx, scope string, k sliceDay, shard int, c dayCounts) error {
	_, err := t.ExecContext(ctx, `
		INSERT INTO scope_days (scope, slice, day, shard, promoters, passives, detractors, suspect)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scope, slice, day, shard) DO UPDATE SET
		  promoters = scope_days.promoters + excluded.promoters,
		  passives = scope_days.passives + excluded.passives,
		  detractors = scope_days.detractors + excluded.detractors,
		  suspect = scope_days.suspect + excluded.suspect`,
		scope, k.slice, k.day, shard, c.Promoters, c.Passives, c.Detractors, c.suspect)
	if err != nil {
		return fmt.Errorf("scope %q slice %q day %s: %w", scope, k.slice, k.day, err)
	}
	return nil
}

// storeSeries is one store slice's prefix sums as store_sums_last has them.
type storeSeries struct {
	slice, storeID string
	exists         bool
	first, last    string
	counts         dayCounts // on the last day
}

func loadSeries(ctx context.Context, t tx, slice, storeID string) (*storeSeries, error) {
	s := &storeSeries{slice: slice, storeID: storeID}
	err := t.QueryRowContext(ctx, `
		SELECT first_day, last_day, promoters, passives, detractors, suspect FROM store_sums_last
		 WHERE slice = ? AND store_id = ?`, slice, storeID).
		Scan(&s.first, &s.last, &s.counts.Promoters, &s.counts.Passives, &s.counts.Detractors, &s.counts.suspect)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("slice %q: %w", slice, err)
	}
	s.exists = true
	return s, nil
}

// add adds c to the prefix sums from day on, writing the rows the series lacks: days
// after its last (carrying its counts forward to day) or before its first.
func (s *storeSeries) add(ctx context.Context, t tx, day string, c dayCounts) error {
	switch {
	case !s.exists:
		if err := s.insert(ctx, t, []string{day}, c); err != nil {
			return err
		}
		s.exists, s.first, s.last, s.counts = true, day, day, c
		return nil
	case day > s.last:
		gap, err := daysBetween(s.last, day) // after last, before day
		if err != nil {
			return err
		}
		if err := s.insert(ctx, t, gap, s.counts); err != nil {
			return err
		}
		s.counts.add(c)
		if err := s.insert(ctx, t, []string{day}, s.counts); err != nil {
			return err
		}
		s.last = day
		return nil
	case day < s.first:
		gap, err := daysBetween(day, s.first)
		if err != nil {
			return err
		}
		if err := s.insert(ctx, t, append([]string{day}, gap...), c); err != nil {
			return err
		}
		if err := s.update(ctx, t, s.first, c); err != nil {
			return err
		}
		s.first = day
	default:
		if err := s.update(ctx, t, day, c); err != nil {
			return err
		}
	}
	s.counts.add(c)
	return nil
}

// sumsChunk is how many days one statement writes.
const sumsChunk = 200

// insert writes rows for days, each with counts c.
func (s *storeSeries) insert(ctx context.Context, t tx, days []string, c dayCounts) error {
	for chunk := range slices.Chunk(days, sumsChunk) {
		args := make([]any, 0, len(chunk)*7)
		for _, d := range chunk {
			args = append(args, s.slice, d, s.storeID, c.Promoters, c.Passives, c.Detractors, c.suspect)
		}
		_, err := t.ExecContext(ctx, `INSERT INTO store_sums (slice, day, store_id, promoters, passives, detractors, suspect) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", len(chunk)), ", "), args...)
		if err != nil {
			return fmt.Errorf("slice %q from %s: %w", s.slice, chunk[0], err)
		}
	}
	return nil
}

// update adds c to the rows from day to the last, named day by day so that each is a
// lookup by key rather than a range over every store's rows.
func (s *storeSeries) update(ctx context.Context, t tx, day string, c dayCounts) error {
	days, err := daysBetween(day, s.last)
	if err != nil {
		return err
	}
	days = append(append([]string{day}, days...), s.last)
	if day == s.last {
		days = days[:1]
	}
	for chunk := range slices.Chunk(days, sumsChunk) {
		args := []any{c.Promoters, c.Passives, c.Detractors, c.suspect, s.slice, s.storeID}
		for _, d := range chunk {
			args = append(args, d)
		}
		_, err := t.ExecContext(ctx, `
			UPDATE store_sums SET promoters = promoters + ?, passives = passives + ?, detractors = detractors + ?, suspect = suspect + ?
			 WHERE slice = ? AND store_id = ? AND day IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return fmt.Errorf("slice %q from %s: %w", s.slice, chunk[0], err)
		}
	}
	return nil
}

func (s *storeSeries) save(ctx context.Context, t tx) error {
	_, err := t.ExecContext(ctx, `
		INSERT INTO store_sums_last (slice, store_id, first_day, last_day, promoters, passives, detractors, suspect)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (slice, store_id) DO UPDATE SET first_day = excluded.first_day, last_day = excluded.last_day,
		  promoters = excluded.promoters, passives = excluded.passives, detractors = excluded.detractors, suspect = excluded.suspect`,
		s.slice, s.storeID, s.first, s.last, s.counts.Promoters, s.counts.Passives, s.counts.Detractors, s.counts.suspect)
	if err != nil {
		return fmt.Errorf("slice %q: %w", s.slice, err)
	}
	return nil
}

// daysBetween are the days strictly between two YYYY-MM-DD days, in order.
func daysBetween(from, to string) ([]string, error) {
	a, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return nil, fmt.Errorf("%w: day %q is not YYYY-MM-DD", ErrInvalid, from)
	}
	b, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return nil, fmt.Errorf("%w: day %q is not YYYY-MM-DD", ErrInvalid, to)
	}
	var out []string
	for d := a.AddDate(0, 0, 1); d.Before(b); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(time.DateOnly))
	}
	return out, nil
}

// sliceDaysSQL is the per-store, per-slice, per-day counts of the rollups of the stores
// where cond (on store_id) holds: rows (slice, store_id, day, promoters, passives,
// detractors, suspect), as slicesOf and addSums count them.
func sliceDaysSQL(cond string) string {
	sums := `SUM(promoters), SUM(passives), SUM(detractors), SUM(suspect)`
	named := `SUM(promoters) AS promoters, SUM(passives) AS passives, SUM(detractors) AS detractors, SUM(suspect) AS suspect`
	return `SELECT '' AS slice, store_id, day, ` + named + ` FROM daily_rollups WHERE ` + cond + ` GROUP BY store_id, day
		UNION ALL SELECT 'c:' || channel, store_id, day, ` + sums + ` FROM daily_rollups WHERE ` + cond + ` GROUP BY channel, store_id, day
		UNION ALL SELECT 't:' || touchpoint, store_id, day, ` + sums + ` FROM daily_rollups
		 WHERE touchpoint <> '' AND ` + cond + ` GROUP BY touchpoint, store_id, day
		UNION ALL SELECT 'c:' || channel || '/t:' || touchpoint, store_id, day, ` + sums + ` FROM daily_rollups
		 WHERE touchpoint <> '' AND ` + cond + ` GROUP BY channel, touchpoint, store_id, day
		UNION ALL SELECT 'g:' || segment, store_id, day, ` + sums + ` FROM segment_rollups WHERE ` + cond + ` GROUP BY segment, store_id, day`
}

// buildReportSums fills the report sums from the rollups once, after migration 0021.
func (db *DB) buildReportSums(ctx context.Context) error {
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("build report sums: %w", err)
	}
	defer t.Rollback()
	var built int
	if err := t.QueryRowContext(ctx, `SELECT built FROM report_sums_state`+db.dialect.forUpdate).Scan(&built); err != nil {
		return fmt.Errorf("build report sums: %w", err)
	}
	if built != 0 {
		return nil
	}
	start := time.Now()
	if err := rebuildReportSums(ctx, t); err != nil {
		return err
	}
	if _, err := t.ExecContext(ctx, `UPDATE report_sums_state SET built = 1`); err != nil {
		return fmt.Errorf("build report sums: %w", err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("build report sums: %w", err)
	}
	db.log.Info("built report sums", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// rebuildReportSums replaces the report sums with what the rollups hold.
func rebuildReportSums(ctx context.Context, t tx) error {
	// The calendar of each store slice, from its first day to its last.
	calendar := `WITH RECURSIVE cal (slice, store_id, day, last_day) AS (
		  SELECT slice, store_id, MIN(day), MAX(day) FROM report_slice_days GROUP BY slice, store_id
		  UNION ALL SELECT slice, store_id, date(day, '+1 day'), last_day FROM cal WHERE day < last_day)`
	calendarFrom := `cal`
	if t.d.name == "postgres" {
		calendar = `WITH b AS (SELECT slice, store_id, MIN(day) AS first_day, MAX(day) AS last_day FROM report_slice_days GROUP BY slice, store_id),
		  cal AS (SELECT b.slice, b.store_id, to_char(g, 'YYYY-MM-DD') AS day
		            FROM b, generate_series(b.first_day::date, b.last_day::date, interval '1 day') g)`
	}
	steps := []string{
		`DELETE FROM scope_days`,
		`DELETE FROM store_sums`,
		`DELETE FROM store_sums_last`,
		`CREATE TEMP TABLE report_slice_days (slice TEXT NOT NULL, store_id TEXT NOT NULL, day TEXT NOT NULL,
		   promoters BIGINT NOT NULL, passives BIGINT NOT NULL, detractors BIGINT NOT NULL, suspect BIGINT NOT NULL,
		   PRIMARY KEY (slice, store_id, day))`,
		`INSERT INTO report_slice_days (slice, store_id, day, promoters, passives, detractors, suspect) ` + sliceDaysSQL("1 = 1"),
		`INSERT INTO scope_days (scope, slice, day, shard, promoters, passives, detractors, suspect)
		 SELECT scope, slice, day, 0, SUM(promoters), SUM(passives), SUM(detractors), SUM(suspect) FROM (
		   SELECT '' AS scope, x.* FROM report_slice_days x
		   UNION ALL SELECT 'r:' || s.region, x.* FROM report_slice_days x JOIN stores s ON s.id = x.store_id WHERE s.region <> ''
		   UNION ALL SELECT 'f:' || s.format, x.* FROM report_slice_days x JOIN stores s ON s.id = x.store_id WHERE s.format <> ''
		 ) AS scoped GROUP BY scope, slice, day`,
		calendar + `
		 INSERT INTO store_sums (slice, day, store_id, promoters, passives, detractors, suspect)
		 SELECT c.slice, c.day, c.store_id,
		        SUM(COALESCE(x.promoters, 0)) OVER w, SUM(COALESCE(x.passives, 0)) OVER w,
		        SUM(COALESCE(x.detractors, 0)) OVER w, SUM(COALESCE(x.suspect, 0)) OVER w
		   FROM ` + calendarFrom + ` c LEFT JOIN report_slice_days x ON x.slice = c.slice AND x.store_id = c.store_id AND x.day = c.day
		 WINDOW w AS (PARTITION BY c.slice, c.store_id ORDER BY c.day)`,
		`INSERT INTO store_sums_last (slice, store_id, first_day, last_day, promoters, passives, detractors, suspect)
		 SELECT b.slice, b.store_id, b.first_day, b.last_day, s.promoters, s.passives, s.detractors, s.suspect
		   FROM (SELECT slice, store_id, MIN(day) AS first_day, MAX(day) AS last_day FROM report_slice_days GROUP BY slice, store_id) b
		   JOIN store_sums s ON s.slice = b.slice AND s.day = b.last_day AND s.store_id = b.store_id`,
		`DROP TABLE report_slice_days`,
	}
	for _, q := range steps {
		if _, err := t.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("build report sums: %w", err)
		}
	}
	return nil
}

// moveStoreSums moves a store's counts in scope_days from the scopes of its old region
// and format to those of its new ones (store_sums is per store and does not change).
func moveStoreSums(ctx context.Context, t tx, storeID string, from, to []string) error {
	shard := shardOf(storeID)
	move := func(scope string, sign int) error {
		_, err := t.ExecContext(ctx, `
			INSERT INTO scope_days (scope, slice, day, shard, promoters, passives, detractors, suspect)
			SELECT ?, slice, day, ?, ? * promoters, ? * passives, ? * detractors, ? * suspect
			  FROM (`+sliceDaysSQL("store_id = ?")+`) AS x
			 WHERE true
			ON CONFLICT (scope, slice, day, shard) DO UPDATE SET
			  promoters = scope_days.promoters + excluded.promoters,
			  passives = scope_days.passives + excluded.passives,
			  detractors = scope_days.detractors + excluded.detractors,
			  suspect = scope_days.suspect + excluded.suspect`,
			append([]any{scope, shard, sign, sign, sign, sign}, storeArgs(storeID)...)...)
		if err != nil {
			return fmt.Errorf("move %s's report sums to scope %q: %w", storeID, scope, err)
		}
		return nil
	}
	for _, scope := range from {
		if !slices.Contains(to, scope) {
			if err := move(scope, -1); err != nil {
				return err
			}
		}
	}
	for _, scope := range to {
		if !slices.Contains(from, scope) {
			if err := move(scope, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// storeArgs repeats a store id for each of sliceDaysSQL's five conditions.
func storeArgs(storeID string) []any {
	return []any{storeID, storeID, storeID, storeID, storeID}
}
