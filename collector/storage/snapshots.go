package storage

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/npskiosk/npskiosk/nps"
)

// Store snapshots (store_snapshots, migration 0021) hold each store's running totals per
// scope and slice, packed many stores to a row: a report of every store over any range
// reads two rows a shard, and a shard holds a few dozen stores. A row is written on the
// days its shard changes, so the totals on a day are the shard's latest row on or before
// it.
//
// The packing is by hand because the rows are the product: returning a row a store
// through database/sql costs more than the whole report may take.

// snapshotShards is how many rows a scope's stores are spread over on each day: enough
// that a row holds a few dozen stores (a write rewrites one row) and that concurrent
// uploads seldom wait for the same row, few enough that a report reads few rows. A chain
// of 5,000 stores is 64 rows of about 80 stores; a region or format of 500, 8 of 60.
func snapshotShards(scope string) int {
	if scope == "" {
		return 64
	}
	return 8
}

// snapshotShard is the shard of scope that holds a store.
func snapshotShard(storeID, scope string) int {
	h := fnv.New32a()
	h.Write([]byte(storeID))
	return int(h.Sum32() % uint32(snapshotShards(scope)))
}

// storeTotal is one store's running totals in a snapshot.
type storeTotal struct {
	store  string
	counts dayCounts
}

// snapshot is a shard's running totals on one day: every store with any, by id.
type snapshot []storeTotal

// encode packs the snapshot: per store, its id's length and bytes, then its promoters,
// passives, detractors and suspect responses, each a varint.
func (s snapshot) encode() []byte { return s.appendTo(make([]byte, 0, len(s)*16)) }

func (s snapshot) appendTo(b []byte) []byte {
	for _, e := range s {
		b = binary.AppendUvarint(b, uint64(len(e.store)))
		b = append(b, e.store...)
		for _, v := range [...]int64{e.counts.Promoters, e.counts.Passives, e.counts.Detractors, e.counts.suspect} {
			b = binary.AppendVarint(b, v)
		}
	}
	return b
}

var errBadSnapshot = errors.New("store snapshot is corrupt")

// totalsReader reads an encoded snapshot's stores in id order.
type totalsReader struct {
	b    []byte
	read int // bytes of the snapshot read before b
	idAt int // where the id next returned starts in the snapshot
	err  error
}

// next is the next store's id (valid until the snapshot's bytes change) and totals;
// false at the end or on a corrupt snapshot (err says which).
func (r *totalsReader) next() ([]byte, dayCounts, bool) {
	if len(r.b) == 0 || r.err != nil {
		return nil, dayCounts{}, false
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 || uint64(len(r.b)-k) < n {
		r.err = errBadSnapshot
		return nil, dayCounts{}, false
	}
	id := r.b[k : k+int(n)]
	r.idAt = r.read + k
	b := r.b[k+int(n):]
	var v [4]int64
	for i := range v {
		// Running totals mostly take one or two bytes: those are read here, the rest by
		// binary.Varint, which is not inlined and took a sixth of a region's decoding.
		var (
			ux uint64
			k  int
		)
		switch {
		case len(b) > 0 && b[0] < 0x80:
			ux, k = uint64(b[0]), 1
		case len(b) > 1 && b[1] < 0x80:
			ux, k = uint64(b[0]&0x7f)|uint64(b[1])<<7, 2
		default:
			var x int64
			if x, k = binary.Varint(b); k <= 0 {
				r.err = errBadSnapshot
				return nil, dayCounts{}, false
			}
			v[i], b = x, b[k:]
			continue
		}
		v[i], b = int64(ux>>1)^-int64(ux&1), b[k:]
	}
	r.read += len(r.b) - len(b)
	r.b = b
	return id, dayCounts{Tally: nps.Tally{Promoters: v[0], Passives: v[1], Detractors: v[2]}, suspect: v[3]}, true
}

// eachTotal calls fn with every store's totals in an encoded snapshot, in id order. The
// id is only valid during the call.
func eachTotal(b []byte, fn func(id []byte, c dayCounts)) error {
	r := totalsReader{b: b}
	for id, c, ok := r.next(); ok; id, c, ok = r.next() {
		fn(id, c)
	}
	return r.err
}

// eachDifference calls fn with each store's totals in snapshot to less those in
// snapshot before, both in id order, in one pass; a store with the same totals in both
// is left out. The ids are strings that stay valid: slices of one copy of to, since a
// string apiece cost more than the rest of a 5,000-store report.
func eachDifference(to, before []byte, fn func(id string, c dayCounts)) error {
	ids := string(to)
	a, b := totalsReader{b: to}, totalsReader{b: before}
	aID, aC, aOK := a.next()
	bID, bC, bOK := b.next()
	for aOK || bOK {
		switch order := bytes.Compare(aID, bID); {
		case aOK && (!bOK || order < 0):
			fn(ids[a.idAt:a.idAt+len(aID)], aC)
			aID, aC, aOK = a.next()
		case bOK && (!aOK || order > 0):
			fn(string(bID), dayCounts{}.minus(bC))
			bID, bC, bOK = b.next()
		default:
			if d := aC.minus(bC); !d.empty() {
				fn(ids[a.idAt:a.idAt+len(aID)], d)
			}
			aID, aC, aOK = a.next()
			bID, bC, bOK = b.next()
		}
	}
	return cmp.Or(a.err, b.err)
}

func decodeSnapshot(b []byte) (snapshot, error) {
	var s snapshot
	err := eachTotal(b, func(id []byte, c dayCounts) { s = append(s, storeTotal{string(id), c}) })
	return s, err
}

// minus is c less d.
func (c dayCounts) minus(d dayCounts) dayCounts {
	return dayCounts{Tally: nps.Tally{Promoters: c.Promoters - d.Promoters, Passives: c.Passives - d.Passives,
		Detractors: c.Detractors - d.Detractors}, suspect: c.suspect - d.suspect}
}

// plus is an encoded snapshot with c added to a store's totals, spliced without
// decoding the other stores; a store whose totals come to nothing leaves it.
func plus(b []byte, storeID string, c dayCounts) ([]byte, error) {
	r := totalsReader{b: b}
	out := make([]byte, 0, len(b)+len(storeID)+8)
	rest := b // from the first store after storeID
	for {
		at := r.b
		id, had, ok := r.next()
		if ok && string(id) < storeID {
			continue
		}
		out = append(out, b[:len(b)-len(at)]...)
		if ok && string(id) == storeID {
			c.add(had)
			rest = r.b
		} else {
			rest = at
		}
		break
	}
	if r.err != nil {
		return nil, r.err
	}
	if !c.empty() {
		out = snapshot{{storeID, c}}.appendTo(out)
	}
	return append(out, rest...), nil
}

// snapshotChange is a store's changes, by day, to one slice of one scope.
type snapshotChange struct {
	scope, slice string
	byDay        map[string]dayCounts
}

// addSnapshots adds a store's changes to their scopes' snapshots: to the shard's row on
// each of the days (copying the shard's latest row before it when there is none) and to
// every later row. However many scopes and slices change, it takes three statements:
// the locks, the rows, the writes (a round trip each on PostgreSQL, where it used to be
// three a slice of a scope). changes must be in the order of their scopes, then their
// slices, the order in which every transaction takes their locks.
func addSnapshots(ctx context.Context, t tx, storeID string, changes []snapshotChange) error {
	changes = slices.DeleteFunc(slices.Clone(changes), func(c snapshotChange) bool { return len(c.byDay) == 0 })
	if len(changes) == 0 {
		return nil
	}
	// Rows are read, then written: writers of one shard take turns, in the order of the
	// changes. (SQLite has one writer already.) A VALUES list is read, and its rows
	// locked, in order.
	if t.d.lockText != "" {
		keys := make([]any, len(changes))
		for i, c := range changes {
			keys[i] = "snapshots:" + c.scope + "|" + c.slice + "|" + strconv.Itoa(snapshotShard(storeID, c.scope))
		}
		if _, err := t.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(v.k, 0)) FROM (VALUES `+
			valueRows(len(keys), 1)+`) AS v(k)`, keys...); err != nil {
			return fmt.Errorf("lock the snapshots of %s: %w", storeID, err)
		}
	}
	// Each shard's rows from the change's first day on, and the latest before it (when
	// there is one) first: one statement for all.
	var (
		parts []string
		args  []any
	)
	for _, c := range changes {
		shard, first := snapshotShard(storeID, c.scope), slices.Min(slices.Collect(maps.Keys(c.byDay)))
		parts = append(parts, `SELECT scope, slice, day, counts FROM store_snapshots WHERE scope = ? AND slice = ? AND shard = ?
		   AND day >= COALESCE((SELECT MAX(day) FROM store_snapshots WHERE scope = ? AND slice = ? AND shard = ? AND day < ?), ?)`)
		args = append(args, c.scope, c.slice, shard, c.scope, c.slice, shard, first, first)
	}
	type row struct {
		day    string
		counts []byte
	}
	stored := map[[2]string][]row{} // by scope and slice, in day order
	q, err := t.QueryContext(ctx, strings.Join(parts, " UNION ALL ")+` ORDER BY 1, 2, 3`, args...)
	if err != nil {
		return fmt.Errorf("snapshots of %s: %w", storeID, err)
	}
	for q.Next() {
		var (
			scope, slice string
			r            row
		)
		if err := q.Scan(&scope, &slice, &r.day, &r.counts); err != nil {
			q.Close()
			return fmt.Errorf("snapshots of %s: %w", storeID, err)
		}
		stored[[2]string{scope, slice}] = append(stored[[2]string{scope, slice}], r)
	}
	q.Close()
	if err := q.Err(); err != nil {
		return fmt.Errorf("snapshots of %s: %w", storeID, err)
	}
	var written []any
	for _, c := range changes {
		scope, slice, shard := c.scope, c.slice, snapshotShard(storeID, c.scope)
		days := slices.Sorted(maps.Keys(c.byDay))
		rows := stored[[2]string{scope, slice}]
		var previous []byte // the latest row before the next day, as it was
		if len(rows) > 0 && rows[0].day < days[0] {
			previous, rows = rows[0].counts, rows[1:]
		}
		var (
			added dayCounts // the changes up to the day at hand
			next  int       // the next of rows
		)
		write := func(day string, was []byte) error {
			now, err := plus(was, storeID, added)
			if err != nil {
				return fmt.Errorf("snapshot of %q %q on %s: %w", scope, slice, day, err)
			}
			written = append(written, scope, slice, shard, day, now)
			return nil
		}
		for _, day := range days {
			for ; next < len(rows) && rows[next].day < day; next++ {
				if err := write(rows[next].day, rows[next].counts); err != nil {
					return err
				}
				previous = rows[next].counts
			}
			added.add(c.byDay[day])
			if next < len(rows) && rows[next].day == day {
				continue // written with the rows from here on
			}
			if err := write(day, previous); err != nil {
				return err
			}
		}
		for ; next < len(rows); next++ {
			if err := write(rows[next].day, rows[next].counts); err != nil {
				return err
			}
		}
	}
	return upsertSnapshots(ctx, t, written)
}

// upsertSnapshots writes rows of (scope, slice, shard, day, counts) arguments.
func upsertSnapshots(ctx context.Context, t tx, args []any) error {
	return insertSnapshots(ctx, t, "store_snapshots", `
			ON CONFLICT (scope, slice, shard, day) DO UPDATE SET counts = excluded.counts`, args)
}

// insertSnapshots inserts rows of (scope, slice, shard, day, counts) arguments into
// table, each statement ending with tail.
func insertSnapshots(ctx context.Context, t tx, table, tail string, args []any) error {
	const perRow, chunk = 5, 100
	for len(args) > 0 {
		n := min(len(args)/perRow, chunk)
		_, err := t.ExecContext(ctx, `INSERT INTO `+table+` (scope, slice, shard, day, counts) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", n), ", ")+tail, args[:n*perRow]...)
		if err != nil {
			return fmt.Errorf("write store snapshots: %w", err)
		}
		args = args[n*perRow:]
	}
	return nil
}

// storeTotals calls fn with each shard's snapshots of one scope and slice around the
// days after before up to and including to: the shard's latest row on or before to and
// its latest on or before before (either empty when there is none). shards limits it to
// some shards (nil: all of the scope's). The bytes are only valid during the call: on
// SQLite they are the driver's, not copies (a 5,000-store table reads 200 kB of them).
func (db *DB) storeTotals(ctx context.Context, scope, slice string, shards []int, before, to string, fn func(to, before []byte) error) error {
	if shards == nil {
		for i := range snapshotShards(scope) {
			shards = append(shards, i)
		}
	}
	if db.dialect.name == "postgres" {
		return db.storeTotalsPostgres(ctx, scope, slice, shards, before, to, fn)
	}
	// One statement per number of shards (1, 8 or 64), prepared once: SQLite parsed
	// and planned the 64-shard one on every report.
	args := make([]any, 0, len(shards)+6)
	args = append(args, scope, slice, to, scope, slice, before)
	for _, s := range shards {
		args = append(args, s)
	}
	rows, err := db.stmts.query(ctx, db.read, storeTotalsQuery(len(shards)), args...)
	if err != nil {
		return fmt.Errorf("store snapshots: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p [2]sql.RawBytes
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			return fmt.Errorf("store snapshots: %w", err)
		}
		if err := fn(p[0], p[1]); err != nil {
			return fmt.Errorf("store snapshots of %q %q: %w", scope, slice, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store snapshots: %w", err)
	}
	return nil
}

// storeTotalsPostgres is storeTotals on PostgreSQL. In a busy scope every shard has a
// row on both days, and one statement reads them all, one index descent a day; only the
// shards that lack one (a quiet shard or slice, a range ending today before a shop
// opened) are probed for their latest rows, by store_snapshot_pairs
// (0032_store_snapshot_pairs.sql), planned once per connection: as a prepared
// statement PostgreSQL planned those probes anew on every run.
func (db *DB) storeTotalsPostgres(ctx context.Context, scope, slice string, shards []int, before, to string, fn func(to, before []byte) error) error {
	// Every shard of the scope (a stores table) is every row of the two days; a store's
	// own figures name its one shard, which the key finds.
	q, args := `SELECT shard, day = ?, counts FROM store_snapshots WHERE scope = ? AND slice = ? AND day IN (?, ?)`,
		[]any{to, scope, slice, to, before}
	if len(shards) != snapshotShards(scope) {
		q += ` AND shard = ANY(CAST(? AS BIGINT[]))`
		args = append(args, intArray(shards))
	}
	rows, err := db.stmts.query(ctx, db.read, q, args...)
	if err != nil {
		return fmt.Errorf("store snapshots: %w", err)
	}
	defer rows.Close()
	type span struct {
		from, to int
		found    bool
	}
	ends := make([][2]span, snapshotShards(scope)) // by shard: to, before, in buf
	var buf []byte
	for rows.Next() {
		var (
			shard  int
			isTo   bool
			counts sql.RawBytes
		)
		if err := rows.Scan(&shard, &isTo, &counts); err != nil {
			return fmt.Errorf("store snapshots: %w", err)
		}
		if shard < 0 || shard >= len(ends) {
			return fmt.Errorf("store snapshots of %q %q: shard %d of %d", scope, slice, shard, len(ends))
		}
		if buf == nil {
			buf = make([]byte, 0, 2*len(shards)*len(counts)*9/8)
		}
		end := 1
		if isTo {
			end = 0
		}
		ends[shard][end] = span{len(buf), len(buf) + len(counts), true}
		buf = append(buf, counts...)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store snapshots: %w", err)
	}
	rows.Close()
	var quiet []int
	for _, s := range shards {
		if !ends[s][0].found || !ends[s][1].found {
			quiet = append(quiet, s)
		}
	}
	if len(quiet) > 0 {
		rows, err := db.stmts.query(ctx, db.read, `SELECT to_counts, before_counts FROM store_snapshot_pairs(?, ?, ?, ?, CAST(? AS INTEGER[]))`,
			scope, slice, to, before, intArray(quiet))
		if err != nil {
			return fmt.Errorf("store snapshots: %w", err)
		}
		defer rows.Close()
		for i := 0; rows.Next(); i++ {
			var p [2]sql.RawBytes
			if err := rows.Scan(&p[0], &p[1]); err != nil {
				return fmt.Errorf("store snapshots: %w", err)
			}
			if i >= len(quiet) {
				return fmt.Errorf("store snapshots of %q %q: more pairs than the %d shards asked for", scope, slice, len(quiet))
			}
			for end := range p {
				ends[quiet[i]][end] = span{len(buf), len(buf) + len(p[end]), true}
				buf = append(buf, p[end]...)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store snapshots: %w", err)
		}
	}
	for _, s := range shards {
		e := ends[s]
		if err := fn(buf[e[0].from:e[0].to], buf[e[1].from:e[1].to]); err != nil {
			return fmt.Errorf("store snapshots of %q %q: %w", scope, slice, err)
		}
	}
	return nil
}

// storeTotalsQuery is storeTotals' statement for n shards. Its arguments: scope, slice
// and the range's last day, scope, slice and the day before it starts, then the shards.
func storeTotalsQuery(n int) string {
	latest := `(SELECT counts FROM store_snapshots s WHERE s.scope = ? AND s.slice = ? AND s.shard = g.column1 AND s.day <= ? ORDER BY s.day DESC LIMIT 1)`
	return `SELECT ` + latest + `, ` + latest + ` FROM (VALUES ` + strings.TrimSuffix(strings.Repeat("(CAST(? AS INTEGER)), ", n), ", ") + `) AS g`
}

// intArray is ns as a PostgreSQL array literal, {1,2,3}.
func intArray(ns []int) string {
	b := []byte{'{'}
	for i, n := range ns {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return string(append(b, '}'))
}

// countTotals is how many stores an encoded snapshot holds (0 for a corrupt one, which
// reading it will report).
func countTotals(b []byte) int {
	n := 0
	for len(b) > 0 {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return 0
		}
		b = b[k+int(l):]
		for range 4 {
			_, k := binary.Varint(b)
			if k <= 0 {
				return 0
			}
			b = b[k:]
		}
		n++
	}
	return n
}

// snapshotWindow is how many days of the rollups a rebuild reads at once.
const snapshotWindow = 31

// rebuildSnapshots writes store_snapshots anew from report_slice_days (rebuildReportSums
// fills it): per slice, a window of days at a time, each day's totals of every shard
// that changed. They are made in slice and day order, and go to a scratch table first:
// written straight into store_snapshots, out of its key order, they would rewrite its
// pages over and over (SQLite spilled gigabytes of pages to the log in one transaction).
func rebuildSnapshots(ctx context.Context, t tx) error {
	for _, q := range []string{
		`DELETE FROM store_snapshots`,
		`CREATE TEMP TABLE snapshot_rows (scope TEXT NOT NULL, slice TEXT NOT NULL, shard BIGINT NOT NULL, day TEXT NOT NULL, counts BYTEA NOT NULL)`,
	} {
		if _, err := t.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("rebuild store snapshots: %w", err)
		}
	}
	type scopeShard struct {
		scope string
		shard int
	}
	members := map[scopeShard][]string{} // sorted ids
	homes := map[string][]scopeShard{}
	rows, err := t.QueryContext(ctx, `SELECT id, region, format FROM stores ORDER BY id`)
	if err != nil {
		return fmt.Errorf("rebuild store snapshots: %w", err)
	}
	for rows.Next() {
		var id, region, format string
		if err := rows.Scan(&id, &region, &format); err != nil {
			rows.Close()
			return fmt.Errorf("rebuild store snapshots: %w", err)
		}
		for _, scope := range scopesOf(region, format) {
			k := scopeShard{scope, snapshotShard(id, scope)}
			members[k] = append(members[k], id)
			homes[id] = append(homes[id], k)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rebuild store snapshots: %w", err)
	}
	var sliceNames []string
	rows, err = t.QueryContext(ctx, `SELECT DISTINCT slice FROM report_slice_days ORDER BY slice`)
	if err != nil {
		return fmt.Errorf("rebuild store snapshots: %w", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("rebuild store snapshots: %w", err)
		}
		sliceNames = append(sliceNames, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rebuild store snapshots: %w", err)
	}
	type change struct {
		day, store string
		counts     dayCounts
	}
	for _, slice := range sliceNames {
		totals := map[string]dayCounts{}
		var from string // the first day not yet read
		for {
			// A window of days, read whole before anything is written: PostgreSQL runs one
			// statement at a time on a transaction's connection.
			end := "~" // after every day
			err := t.QueryRowContext(ctx, `SELECT DISTINCT day FROM report_slice_days WHERE slice = ? AND day >= ? ORDER BY day LIMIT 1 OFFSET `+
				strconv.Itoa(snapshotWindow), slice, from).Scan(&end)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("rebuild store snapshots: %w", err)
			}
			var changes []change
			rows, err := t.QueryContext(ctx, `
				SELECT day, store_id, promoters, passives, detractors, suspect FROM report_slice_days
				 WHERE slice = ? AND day >= ? AND day < ? ORDER BY day, store_id`, slice, from, end)
			if err != nil {
				return fmt.Errorf("rebuild store snapshots: %w", err)
			}
			for rows.Next() {
				var c change
				if err := rows.Scan(&c.day, &c.store, &c.counts.Promoters, &c.counts.Passives, &c.counts.Detractors, &c.counts.suspect); err != nil {
					rows.Close()
					return fmt.Errorf("rebuild store snapshots: %w", err)
				}
				changes = append(changes, c)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("rebuild store snapshots: %w", err)
			}
			var written []any
			for i := 0; i < len(changes); {
				day := changes[i].day
				dirty := map[scopeShard]bool{}
				for ; i < len(changes) && changes[i].day == day; i++ {
					c := changes[i]
					sum := totals[c.store]
					sum.add(c.counts)
					totals[c.store] = sum
					for _, k := range homes[c.store] {
						dirty[k] = true
					}
				}
				for _, k := range slices.SortedFunc(maps.Keys(dirty), func(a, b scopeShard) int {
					return cmp.Or(cmp.Compare(a.scope, b.scope), cmp.Compare(a.shard, b.shard))
				}) {
					var s snapshot
					for _, id := range members[k] {
						if c := totals[id]; !c.empty() {
							s = append(s, storeTotal{id, c})
						}
					}
					written = append(written, k.scope, slice, k.shard, day, s.encode())
				}
			}
			if err := insertSnapshots(ctx, t, "snapshot_rows", "", written); err != nil {
				return fmt.Errorf("rebuild store snapshots: %w", err)
			}
			if end == "~" {
				break
			}
			from = end
		}
	}
	for _, q := range []string{
		`INSERT INTO store_snapshots (scope, slice, shard, day, counts)
		 SELECT scope, slice, shard, day, counts FROM snapshot_rows ORDER BY scope, slice, shard, day`,
		`DROP TABLE snapshot_rows`,
	} {
		if _, err := t.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("rebuild store snapshots: %w", err)
		}
	}
	return nil
}
