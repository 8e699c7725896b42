package storage

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"time"

	"github.com/npskiosk/npskiosk/nps"
)

// Report sums (migration 0021) make a report's cost depend on the stores and days it
// shows, not on the days it covers:
//
//   - scope_days: each day's counts of the chain, of each region and of each store
//     format, per slice. The chain's, a region's or a format's NPS and trend sum a row
//     per day (and shard), not a row per store and day.
//   - store_snapshots (snapshots.go): each store's running totals per scope and slice,
//     packed a few dozen stores to a row. Every store's counts over a range are two rows
//     a shard, however many days it covers.
//
// Both are kept in the transaction that changes daily_rollups and segment_rollups
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

// dayBefore is the calendar day before a YYYY-MM-DD day.
func dayBefore(day string) (string, error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return "", fmt.Errorf("%w: day %q is not YYYY-MM-DD", ErrInvalid, day)
	}
	return d.AddDate(0, 0, -1).Format(time.DateOnly), nil
}

// npsFromSums is NPS from the report sums; false when they cannot answer the filter.
func (db *DB) npsFromSums(ctx context.Context, f Filter) (NPSReport, bool, error) {
	slice, ok := f.slice()
	if !ok {
		return NPSReport{}, false, nil
	}
	if f.StoreID != "" {
		if f.Region != "" || f.Format != "" {
			return NPSReport{}, false, nil
		}
		before, err := dayBefore(f.From)
		if err != nil {
			return NPSReport{}, false, err
		}
		var c dayCounts
		err = db.storeTotals(ctx, "", slice, []int{snapshotShard(f.StoreID, "")}, before, f.To, func(to, before []byte) error {
			return eachDifference(to, before, func(id string, d dayCounts) {
				if id == f.StoreID {
					c = d
				}
			})
		})
		if err != nil {
			return NPSReport{}, false, err
		}
		return report(c.Tally, c.suspect), true, nil
	}
	scope, ok := f.scope()
	if !ok {
		return NPSReport{}, false, nil
	}
	var (
		t       nps.Tally
		suspect int64
	)
	st, err := db.stmts.get(ctx, db.read, `SELECT `+rollupSums+` FROM scope_days WHERE scope = ? AND slice = ? AND day BETWEEN ? AND ?`)
	if err != nil {
		return NPSReport{}, false, err
	}
	err = st.QueryRowContext(ctx, scope, slice, f.From, f.To).Scan(&t.Promoters, &t.Passives, &t.Detractors, &suspect)
	if err != nil {
		return NPSReport{}, false, err
	}
	return report(t, suspect), true, nil
}

// perStoreFromSums is perStore from the report sums; false when they cannot answer the
// filter. Stores with nothing in the range are left out, as the rollups leave them.
func (db *DB) perStoreFromSums(ctx context.Context, f Filter) ([]StoreNPS, bool, error) {
	slice, ok := f.slice()
	if !ok {
		return nil, false, nil
	}
	scope, ok := f.scope()
	var shards []int
	if f.StoreID != "" && f.Region == "" && f.Format == "" {
		scope, ok, shards = "", true, []int{snapshotShard(f.StoreID, "")}
	}
	if !ok {
		return nil, false, nil
	}
	before, err := dayBefore(f.From)
	if err != nil {
		return nil, false, err
	}
	var out []StoreNPS
	err = db.storeTotals(ctx, scope, slice, shards, before, f.To, func(to, before []byte) error {
		if out == nil && f.StoreID == "" {
			// Sized from the first shard: growing it step by step cost a fifth of the report.
			out = make([]StoreNPS, 0, countTotals(to)*snapshotShards(scope)*9/8)
		}
		return eachDifference(to, before, func(id string, c dayCounts) {
			if f.StoreID == "" || id == f.StoreID {
				out = append(out, StoreNPS{ID: id, NPSReport: report(c.Tally, c.suspect)})
			}
		})
	})
	if err != nil {
		return nil, false, err
	}
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
	var days [][]any
	for _, scope := range scopesOf(region, format) {
		for _, k := range keys {
			c := deltas[k]
			days = append(days, []any{scope, k.slice, k.day, shard, c.Promoters, c.Passives, c.Detractors, c.suspect})
		}
	}
	if err := addCounts(ctx, t, "scope_days", "scope, slice, day, shard", days); err != nil {
		return fmt.Errorf("report sums of %s: scope days: %w", storeID, err)
	}
	var changes []snapshotChange // by scope, then slice: the order of their locks
	for _, scope := range scopesOf(region, format) {
		for _, slice := range slicesIn(keys) {
			byDay := map[string]dayCounts{}
			for _, k := range keys {
				if k.slice == slice {
					byDay[k.day] = deltas[k]
				}
			}
			changes = append(changes, snapshotChange{scope, slice, byDay})
		}
	}
	if err := addSnapshots(ctx, t, storeID, changes); err != nil {
		return fmt.Errorf("report sums of %s: %w", storeID, err)
	}
	return nil
}

// slicesIn are the slices of keys sorted by slice, once each.
func slicesIn(keys []sliceDay) []string {
	var out []string
	for _, k := range keys {
		if len(out) == 0 || out[len(out)-1] != k.slice {
			out = append(out, k.slice)
		}
	}
	return out
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
	steps := []string{
		`DELETE FROM scope_days`,
		// Indexed after it is filled: one sort, where a key filled row by row out of its
		// order would move pages in and out of the cache for every row.
		`CREATE TEMP TABLE report_slice_days (slice TEXT NOT NULL, day TEXT NOT NULL, store_id TEXT NOT NULL,
		   promoters BIGINT NOT NULL, passives BIGINT NOT NULL, detractors BIGINT NOT NULL, suspect BIGINT NOT NULL)`,
		`INSERT INTO report_slice_days (slice, store_id, day, promoters, passives, detractors, suspect) ` + sliceDaysSQL("1 = 1"),
		`CREATE INDEX report_slice_days_key ON report_slice_days (slice, day, store_id)`,
		`INSERT INTO scope_days (scope, slice, day, shard, promoters, passives, detractors, suspect)
		 SELECT scope, slice, day, 0, SUM(promoters), SUM(passives), SUM(detractors), SUM(suspect) FROM (
		   SELECT '' AS scope, x.* FROM report_slice_days x
		   UNION ALL SELECT 'r:' || s.region, x.* FROM report_slice_days x JOIN stores s ON s.id = x.store_id WHERE s.region <> ''
		   UNION ALL SELECT 'f:' || s.format, x.* FROM report_slice_days x JOIN stores s ON s.id = x.store_id WHERE s.format <> ''
		 ) AS scoped GROUP BY scope, slice, day`,
	}
	for _, q := range steps {
		if _, err := t.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("build report sums: %w", err)
		}
	}
	if err := rebuildSnapshots(ctx, t); err != nil {
		return err
	}
	if _, err := t.ExecContext(ctx, `DROP TABLE report_slice_days`); err != nil {
		return fmt.Errorf("build report sums: %w", err)
	}
	return nil
}

// moveStoreSums moves a store's counts in scope_days and store_snapshots from the
// scopes of its old region and format to those of its new ones.
func moveStoreSums(ctx context.Context, t tx, storeID string, from, to []string) error {
	shard := shardOf(storeID)
	history, err := storeHistory(ctx, t, storeID)
	if err != nil {
		return err
	}
	move := func(scope string, sign int) error {
		for _, slice := range slices.Sorted(maps.Keys(history)) {
			byDay := map[string]dayCounts{}
			for day, c := range history[slice] {
				if sign < 0 {
					c = dayCounts{}.minus(c)
				}
				byDay[day] = c
			}
			if err := addSnapshots(ctx, t, storeID, []snapshotChange{{scope, slice, byDay}}); err != nil {
				return fmt.Errorf("move %s's report sums to scope %q: %w", storeID, scope, err)
			}
		}
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
	// In scope order, as addSums takes the snapshot locks.
	moves := map[string]int{}
	for _, scope := range from {
		moves[scope]--
	}
	for _, scope := range to {
		moves[scope]++
	}
	for _, scope := range slices.Sorted(maps.Keys(moves)) {
		if sign := moves[scope]; sign != 0 {
			if err := move(scope, sign); err != nil {
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

// storeHistory is a store's counts by slice and day, from the rollups.
func storeHistory(ctx context.Context, t tx, storeID string) (map[string]map[string]dayCounts, error) {
	rows, err := t.QueryContext(ctx, `SELECT slice, day, promoters, passives, detractors, suspect FROM (`+sliceDaysSQL("store_id = ?")+`) AS x`,
		storeArgs(storeID)...)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", storeID, err)
	}
	defer rows.Close()
	out := map[string]map[string]dayCounts{}
	for rows.Next() {
		var (
			slice, day string
			c          dayCounts
		)
		if err := rows.Scan(&slice, &day, &c.Promoters, &c.Passives, &c.Detractors, &c.suspect); err != nil {
			return nil, fmt.Errorf("history of %s: %w", storeID, err)
		}
		if out[slice] == nil {
			out[slice] = map[string]dayCounts{}
		}
		out[slice][day] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history of %s: %w", storeID, err)
	}
	return out, nil
}
