package storage

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
	"github.com/npskiosk/npskiosk/nps"
)

// reportShape is the generated history the report benchmarks read.
type reportShape struct {
	responses, stores, days int
}

var (
	// A chain's year and a bit: 5,000 stores, 400 days, five responses a store a day.
	fullReportShape  = reportShape{responses: 10_000_000, stores: 5_000, days: 400}
	smokeReportShape = reportShape{responses: 20_000, stores: 50, days: 40}
)

// firstDay is the first generated day; the last is firstDay + days - 1.
var firstDay = time.Date(2025, 10, 20, 0, 0, 0, 0, time.UTC)

// BenchmarkReports times the HQ reports over a large generated history: the chain's NPS
// and the per-store tallies of the stores table, each read from the per-day rollups (what
// the collector does) and, as the baseline, by a full scan of the responses.
// -short runs a small history so the benchmark keeps working in make test.
func BenchmarkReports(b *testing.B) {
	shape := fullReportShape
	if testing.Short() {
		shape = smokeReportShape
	}
	// NPS_REPORT_SHAPE=responses,stores,days runs another size, e.g. 1000000,5000,40 to
	// profile the stores table's cost (which follows the stores, not the days) quickly.
	if v := os.Getenv("NPS_REPORT_SHAPE"); v != "" {
		if _, err := fmt.Sscanf(v, "%d,%d,%d", &shape.responses, &shape.stores, &shape.days); err != nil {
			b.Fatalf("NPS_REPORT_SHAPE=%q: want responses,stores,days: %v", v, err)
		}
	}
	for _, be := range storagetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			// NPS_REPORT_DB keeps the SQLite history in that file, to time it again
			// without generating it again.
			path, kept := be.Path(b), false
			if keep := os.Getenv("NPS_REPORT_DB"); keep != "" && be.Name == "sqlite" {
				_, err := os.Stat(keep)
				path, kept = keep, err == nil
			}
			db, err := Open(ctx, Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if !kept {
				start := time.Now()
				if err := generateHistory(ctx, db, shape); err != nil {
					b.Fatal(err)
				}
				b.Logf("generated %d responses, %d stores, %d days in %s", shape.responses, shape.stores, shape.days, time.Since(start).Round(time.Second))
			}
			var daily, segmented, scopeDays, snapshots, snapshotBytes int64
			if err := db.read.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM daily_rollups), (SELECT COUNT(*) FROM segment_rollups),
				(SELECT COUNT(*) FROM scope_days), (SELECT COUNT(*) FROM store_snapshots), (SELECT COALESCE(SUM(length(counts)), 0) FROM store_snapshots)`).
				Scan(&daily, &segmented, &scopeDays, &snapshots, &snapshotBytes); err != nil {
				b.Fatal(err)
			}
			b.Logf("rows: %d in daily_rollups, %d in segment_rollups, %d in scope_days, %d in store_snapshots (%d MB packed)",
				daily, segmented, scopeDays, snapshots, snapshotBytes>>20)
			all := Filter{From: firstDay.Format(time.DateOnly), To: firstDay.AddDate(0, 0, shape.days-1).Format(time.DateOnly)}
			last30 := Filter{From: firstDay.AddDate(0, 0, shape.days-30).Format(time.DateOnly), To: all.To}
			if rolled, err := db.NPS(ctx, all); err != nil || rolled.Responses+rolled.Suspect != int64(shape.responses) {
				b.Fatalf("chain over every day: %+v, %v; %d generated", rolled, err, shape.responses)
			}
			for _, q := range reportBenchmarks(all, last30) {
				// The two paths must agree before their speed means anything.
				rolled, err := q.run(ctx, db, q.filter, false)
				if err != nil {
					b.Fatal(err)
				}
				scanned, err := q.run(ctx, db, q.filter, true)
				if err != nil {
					b.Fatal(err)
				}
				if stores, ok := rolled.([]StoreNPS); ok {
					// Per-store reports come in no particular order.
					rolled, scanned = byStoreID(stores), byStoreID(scanned.([]StoreNPS))
				}
				if fmt.Sprint(rolled) != fmt.Sprint(scanned) || fmt.Sprint(rolled) == "" {
					b.Fatalf("%s: from the sums and by scan differ:\n%.300v\n%.300v", q.name, rolled, scanned)
				}
				for _, scan := range []bool{false, true} {
					name := q.name + "/rollup"
					if scan {
						name = q.name + "/scan"
					}
					b.Run(name, func(b *testing.B) {
						for b.Loop() {
							if _, err := q.run(ctx, db, q.filter, scan); err != nil {
								b.Fatal(err)
							}
						}
					})
				}
			}
		})
	}
}

// reportBenchmark is one report over one filter, run from the sums (what the collector
// does) or by a scan of the responses. The two answers are compared as text before the
// timing, not in it: printing 5,000 stores' figures costs more than reading them.
type reportBenchmark struct {
	name   string
	filter Filter
	run    func(ctx context.Context, db *DB, f Filter, scan bool) (any, error)
}

// reportBenchmarks are the reports BenchmarkReports times: the chain's NPS, the stores
// table (every store's tally) and the daily trend, over the whole history and the last
// 30 days, unfiltered and for one segment, format, region and channel.
func reportBenchmarks(all, last30 Filter) []reportBenchmark {
	chain := func(ctx context.Context, db *DB, f Filter, scan bool) (any, error) {
		var (
			r   NPSReport
			err error
		)
		if scan {
			r, err = scanNPS(ctx, db, f)
		} else {
			r, err = db.NPS(ctx, f)
		}
		return r, err
	}
	stores := func(ctx context.Context, db *DB, f Filter, scan bool) (any, error) {
		var (
			r   []StoreNPS
			err error
		)
		if scan {
			r, err = scanPerStore(ctx, db, f)
		} else {
			r, err = db.perStore(ctx, f)
		}
		return r, err
	}
	trend := func(ctx context.Context, db *DB, f Filter, scan bool) (any, error) {
		var (
			r   []TrendPoint
			err error
		)
		if scan {
			r, err = scanTrend(ctx, db, f)
		} else {
			r, err = db.Trend(ctx, f, "day")
		}
		return r, err
	}
	with := func(f Filter, set func(*Filter)) Filter { set(&f); return f }
	segment := func(f *Filter) { f.Segment = "vip" }
	format := func(f *Filter) { f.Format = "express" }
	region := func(f *Filter) { f.Region = "r3" }
	channel := func(f *Filter) { f.Channel = "qr" }
	return []reportBenchmark{
		{"chain/all", all, chain},
		{"stores/all", all, stores},
		{"chain/30d", last30, chain},
		{"stores/30d", last30, stores},
		{"trend/30d", last30, trend},
		{"segment/chain/all", with(all, segment), chain},
		{"segment/stores/all", with(all, segment), stores},
		{"segment/chain/30d", with(last30, segment), chain},
		{"segment/stores/30d", with(last30, segment), stores},
		{"segment/trend/30d", with(last30, segment), trend},
		{"format/chain/30d", with(last30, format), chain},
		{"format/stores/30d", with(last30, format), stores},
		{"format/trend/30d", with(last30, format), trend},
		{"region/chain/30d", with(last30, region), chain},
		{"region/stores/30d", with(last30, region), stores},
		{"region/trend/30d", with(last30, region), trend},
		{"channel/chain/30d", with(last30, channel), chain},
		{"channel/stores/30d", with(last30, channel), stores},
		{"channel/trend/30d", with(last30, channel), trend},
	}
}

// generateHistory fills an empty collector database with shape's stores, one device each,
// in ten regions and three formats, and responses in store and day order, four in five
// with one of four customer segments, then builds the rollups the way ingest keeps them
// (suspect taps counted apart; the segments' apart too) in one statement each.
func generateHistory(ctx context.Context, db *DB, s reportShape) error {
	perStore := s.responses / s.stores
	if perStore*s.stores != s.responses || perStore < s.days {
		return fmt.Errorf("generate: %d responses do not spread evenly over %d stores and %d days", s.responses, s.stores, s.days)
	}
	base := firstDay.UnixMilli()
	var stmts []string
	switch db.dialect.name {
	case "sqlite":
		// A recursive counter; abs(random()) % 100 picks the score band.
		const counter = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d) `
		stmts = []string{
			fmt.Sprintf(counter+`INSERT INTO stores (id, name, timezone, region, format, created_at)
				SELECT printf('S%%05d', i), 'Store ' || i, 'UTC', 'r' || (i %% 10),
				       CASE i %% 3 WHEN 0 THEN 'supermarket' WHEN 1 THEN 'express' ELSE 'outlet' END, 0 FROM n`, s.stores-1),
			`INSERT INTO devices (id, store_id, name, created_at) SELECT 'D' || substr(id, 2), id, 'Till', 0 FROM stores`,
			fmt.Sprintf(counter+`, g(i, off, r) AS (SELECT i, (i %% %[2]d) * %[3]d / %[2]d, abs(random()) %% 100 FROM n)
				INSERT INTO responses (id, store_id, device_id, score, reasons, comment, contact, contact_consent,
				                       locale, survey_version, created_at, completed_at, outcome, suspect, day,
				                       content_hash, received_at, segment, channel, touchpoint, seq)
				SELECT printf('%%016d', i), printf('S%%05d', i / %[2]d), printf('D%%05d', i / %[2]d),
				       CASE WHEN r < 45 THEN 9 + r %% 2 WHEN r < 75 THEN 7 + r %% 2 ELSE r %% 7 END,
				       '[]', '', '', 0, 'en', 1, %[4]d + off * 86400000, %[4]d + off * 86400000, 'submitted',
				       i %% 200 = 0, date('%[5]s', '+' || off || ' days'), '', 0,
				       CASE i %% 5 WHEN 0 THEN '' WHEN 1 THEN 'new' WHEN 2 THEN 'returning' WHEN 3 THEN 'vip' ELSE 'staff' END,
				       CASE WHEN i %% 10 = 7 THEN 'qr' ELSE 'kiosk' END, CASE WHEN i %% 10 = 7 THEN 'door' ELSE '' END, i + 1
				  FROM g`, s.responses-1, perStore, s.days, base, firstDay.Format(time.DateOnly)),
			`UPDATE response_seq SET last = (SELECT MAX(seq) FROM responses)`,
		}
	case "postgres":
		stmts = []string{
			fmt.Sprintf(`INSERT INTO stores (id, name, timezone, region, format, created_at)
				SELECT 'S' || lpad(i::text, 5, '0'), 'Store ' || i, 'UTC', 'r' || (i %% 10),
				       (ARRAY['supermarket', 'express', 'outlet'])[i %% 3 + 1], 0 FROM generate_series(0, %d) AS i`, s.stores-1),
			`INSERT INTO devices (id, store_id, name, created_at) SELECT 'D' || substr(id, 2), id, 'Till', 0 FROM stores`,
			fmt.Sprintf(`INSERT INTO responses (id, store_id, device_id, score, reasons, comment, contact, contact_consent,
				                       locale, survey_version, created_at, completed_at, outcome, suspect, day,
				                       content_hash, received_at, segment, channel, touchpoint)
				SELECT lpad(i::text, 16, '0'), 'S' || lpad((i / %[2]d)::text, 5, '0'), 'D' || lpad((i / %[2]d)::text, 5, '0'),
				       CASE WHEN r < 45 THEN 9 + r %% 2 WHEN r < 75 THEN 7 + r %% 2 ELSE r %% 7 END,
				       '[]', '', '', false, 'en', 1, %[4]d + off * 86400000::bigint, %[4]d + off * 86400000::bigint, 'submitted',
				       i %% 200 = 0, to_char(date '%[5]s' + off, 'YYYY-MM-DD'), '', 0,
				       (ARRAY['', 'new', 'returning', 'vip', 'staff'])[i %% 5 + 1],
				       CASE WHEN i %% 10 = 7 THEN 'qr' ELSE 'kiosk' END, CASE WHEN i %% 10 = 7 THEN 'door' ELSE '' END
				  FROM (SELECT i, ((i %% %[2]d) * %[3]d / %[2]d)::int AS off, (random() * 99)::int AS r
				          FROM generate_series(0::bigint, %[1]d) AS i) g`, s.responses-1, perStore, s.days, base, firstDay.Format(time.DateOnly)),
		}
	default:
		return fmt.Errorf("generate: unknown dialect %q", db.dialect.name)
	}
	stmts = append(stmts, `INSERT INTO daily_rollups (store_id, day, channel, touchpoint, promoters, passives, detractors, suspect)
		SELECT store_id, day, channel, touchpoint, `+scanSums+` FROM responses GROUP BY store_id, day, channel, touchpoint`,
		`INSERT INTO segment_rollups (segment, day, store_id, channel, touchpoint, promoters, passives, detractors, suspect)
		SELECT segment, day, store_id, channel, touchpoint, `+scanSums+` FROM responses WHERE segment <> ''
		 GROUP BY segment, day, store_id, channel, touchpoint`)
	finish := []string{`ANALYZE`, `PRAGMA wal_checkpoint(TRUNCATE)`}
	if db.dialect.name == "postgres" {
		finish = []string{`VACUUM ANALYZE`}
	}
	for _, q := range stmts {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
	}
	// The report sums as the first Open after migration 0021 builds them from the rollups.
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	defer t.Rollback()
	if err := rebuildReportSums(ctx, t); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	for _, q := range finish {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
	}
	return nil
}

// scanSums tallies raw responses the way the rollups count them.
const scanSums = `CAST(COALESCE(SUM(CASE WHEN suspect THEN 0 WHEN score >= 9 THEN 1 ELSE 0 END), 0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN suspect THEN 0 WHEN score >= 7 AND score <= 8 THEN 1 ELSE 0 END), 0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN suspect THEN 0 WHEN score <= 6 THEN 1 ELSE 0 END), 0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN suspect THEN 1 ELSE 0 END), 0) AS BIGINT)`

// scanNPS is DB.NPS without the rollups: every response in the range is read.
func scanNPS(ctx context.Context, db *DB, f Filter) (NPSReport, error) {
	where, args := f.where("")
	var (
		t       nps.Tally
		suspect int64
	)
	err := db.read.QueryRowContext(ctx, `SELECT `+scanSums+` FROM responses WHERE `+where, args...).
		Scan(&t.Promoters, &t.Passives, &t.Detractors, &suspect)
	if err != nil {
		return NPSReport{}, fmt.Errorf("scan nps: %w", err)
	}
	return report(t, suspect), nil
}

// scanPerStore is DB.perStore without the rollups.
func scanPerStore(ctx context.Context, db *DB, f Filter) ([]StoreNPS, error) {
	where, args := f.where("")
	return db.tallies(ctx, `SELECT store_id, `+scanSums+` FROM responses WHERE `+where+` GROUP BY store_id`, args...)
}

// scanTrend is DB.Trend by day without the rollups.
func scanTrend(ctx context.Context, db *DB, f Filter) ([]TrendPoint, error) {
	return scanTrendBy(ctx, db, f, "day")
}

// scanTrendBy is DB.Trend without the rollups, by "day" or "week".
func scanTrendBy(ctx context.Context, db *DB, f Filter, interval string) ([]TrendPoint, error) {
	period := "day"
	if interval == "week" {
		period = db.dialect.weekStart
	}
	where, args := f.where("")
	rows, err := db.read.QueryContext(ctx, `SELECT `+period+` AS p, `+scanSums+` FROM responses WHERE `+where+` GROUP BY p ORDER BY p`, args...)
	if err != nil {
		return nil, fmt.Errorf("scan trend: %w", err)
	}
	defer rows.Close()
	var out []TrendPoint
	for rows.Next() {
		var (
			p       TrendPoint
			t       nps.Tally
			suspect int64
		)
		if err := rows.Scan(&p.Start, &t.Promoters, &t.Passives, &t.Detractors, &suspect); err != nil {
			return nil, fmt.Errorf("scan trend: %w", err)
		}
		p.NPSReport = report(t, suspect)
		out = append(out, p)
	}
	return out, rows.Err()
}
