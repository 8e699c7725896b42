package storage

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
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
	for _, be := range storagetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			db, err := Open(ctx, Config{Path: be.Path(b), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			start := time.Now()
			if err := generateHistory(ctx, db, shape); err != nil {
				b.Fatal(err)
			}
			b.Logf("generated %d responses, %d stores, %d days in %s", shape.responses, shape.stores, shape.days, time.Since(start).Round(time.Second))
			var daily, segmented int64
			if err := db.read.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM daily_rollups), (SELECT COUNT(*) FROM segment_rollups)`).
				Scan(&daily, &segmented); err != nil {
				b.Fatal(err)
			}
			b.Logf("rollup rows: %d in daily_rollups, %d in segment_rollups", daily, segmented)
			f := Filter{From: firstDay.Format(time.DateOnly), To: firstDay.AddDate(0, 0, shape.days-1).Format(time.DateOnly)}

			// The two paths must agree before their speed means anything.
			rolled, err := db.NPS(ctx, f)
			if err != nil {
				b.Fatal(err)
			}
			scanned, err := scanNPS(ctx, db, f)
			if err != nil {
				b.Fatal(err)
			}
			if rolled != scanned || rolled.Responses+rolled.Suspect != int64(shape.responses) {
				b.Fatalf("rollup %+v, scan %+v, %d generated", rolled, scanned, shape.responses)
			}
			perStore, err := db.perStore(ctx, f)
			if err != nil {
				b.Fatal(err)
			}
			perStoreScan, err := scanPerStore(ctx, db, f)
			if err != nil {
				b.Fatal(err)
			}
			if len(perStore) != shape.stores || len(perStoreScan) != shape.stores {
				b.Fatalf("per-store: %d rollup, %d scan, want %d", len(perStore), len(perStoreScan), shape.stores)
			}
			for id, r := range perStore {
				if perStoreScan[id] != r {
					b.Fatalf("store %s: rollup %+v, scan %+v", id, r, perStoreScan[id])
				}
			}

			// The whole history, and the dashboard's default view: the last 30 days; each
			// also for one customer segment (a fifth of the responses), and the last 30 days
			// for one store format (a third of the stores).
			last30 := Filter{From: firstDay.AddDate(0, 0, shape.days-30).Format(time.DateOnly), To: f.To}
			seg, seg30, format30 := f, last30, last30
			seg.Segment, seg30.Segment, format30.Format = "vip", "vip", "express"
			for _, sf := range []Filter{seg, seg30, format30} {
				rolled, err := db.NPS(ctx, sf)
				if err != nil {
					b.Fatal(err)
				}
				scanned, err := scanNPS(ctx, db, sf)
				if err != nil {
					b.Fatal(err)
				}
				if rolled != scanned || rolled.Responses == 0 {
					b.Fatalf("%+v: rollup %+v, scan %+v", sf, rolled, scanned)
				}
				rolledTrend, err := db.Trend(ctx, sf, "day")
				if err != nil {
					b.Fatal(err)
				}
				scannedTrend, err := scanTrend(ctx, db, sf)
				if err != nil {
					b.Fatal(err)
				}
				if !slices.Equal(rolledTrend, scannedTrend) {
					b.Fatalf("%+v: trend by rollup and by scan differ", sf)
				}
			}
			for _, q := range []struct {
				name string
				run  func() error
			}{
				{"chain/all/rollup", func() error { _, err := db.NPS(ctx, f); return err }},
				{"chain/all/scan", func() error { _, err := scanNPS(ctx, db, f); return err }},
				{"stores/all/rollup", func() error { _, err := db.perStore(ctx, f); return err }},
				{"stores/all/scan", func() error { _, err := scanPerStore(ctx, db, f); return err }},
				{"chain/30d/rollup", func() error { _, err := db.NPS(ctx, last30); return err }},
				{"chain/30d/scan", func() error { _, err := scanNPS(ctx, db, last30); return err }},
				{"stores/30d/rollup", func() error { _, err := db.perStore(ctx, last30); return err }},
				{"stores/30d/scan", func() error { _, err := scanPerStore(ctx, db, last30); return err }},
				{"trend/30d/rollup", func() error { _, err := db.Trend(ctx, last30, "day"); return err }},
				{"trend/30d/scan", func() error { _, err := scanTrend(ctx, db, last30); return err }},
				{"segment/chain/all/rollup", func() error { _, err := db.NPS(ctx, seg); return err }},
				{"segment/chain/all/scan", func() error { _, err := scanNPS(ctx, db, seg); return err }},
				{"segment/stores/all/rollup", func() error { _, err := db.perStore(ctx, seg); return err }},
				{"segment/stores/all/scan", func() error { _, err := scanPerStore(ctx, db, seg); return err }},
				{"segment/chain/30d/rollup", func() error { _, err := db.NPS(ctx, seg30); return err }},
				{"segment/chain/30d/scan", func() error { _, err := scanNPS(ctx, db, seg30); return err }},
				{"segment/stores/30d/rollup", func() error { _, err := db.perStore(ctx, seg30); return err }},
				{"segment/stores/30d/scan", func() error { _, err := scanPerStore(ctx, db, seg30); return err }},
				{"segment/trend/30d/rollup", func() error { _, err := db.Trend(ctx, seg30, "day"); return err }},
				{"segment/trend/30d/scan", func() error { _, err := scanTrend(ctx, db, seg30); return err }},
				{"format/stores/30d/rollup", func() error { _, err := db.perStore(ctx, format30); return err }},
				{"format/stores/30d/scan", func() error { _, err := scanPerStore(ctx, db, format30); return err }},
				{"format/trend/30d/rollup", func() error { _, err := db.Trend(ctx, format30, "day"); return err }},
				{"format/trend/30d/scan", func() error { _, err := scanTrend(ctx, db, format30); return err }},
			} {
				b.Run(q.name, func(b *testing.B) {
					for b.Loop() {
						if err := q.run(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
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
				                       content_hash, received_at, segment)
				SELECT printf('%%016d', i), printf('S%%05d', i / %[2]d), printf('D%%05d', i / %[2]d),
				       CASE WHEN r < 45 THEN 9 + r %% 2 WHEN r < 75 THEN 7 + r %% 2 ELSE r %% 7 END,
				       '[]', '', '', 0, 'en', 1, %[4]d + off * 86400000, %[4]d + off * 86400000, 'submitted',
				       i %% 200 = 0, date('%[5]s', '+' || off || ' days'), '', 0,
				       CASE i %% 5 WHEN 0 THEN '' WHEN 1 THEN 'new' WHEN 2 THEN 'returning' WHEN 3 THEN 'vip' ELSE 'staff' END
				  FROM g`, s.responses-1, perStore, s.days, base, firstDay.Format(time.DateOnly)),
		}
	case "postgres":
		stmts = []string{
			fmt.Sprintf(`INSERT INTO stores (id, name, timezone, region, format, created_at)
				SELECT 'S' || lpad(i::text, 5, '0'), 'Store ' || i, 'UTC', 'r' || (i %% 10),
				       (ARRAY['supermarket', 'express', 'outlet'])[i %% 3 + 1], 0 FROM generate_series(0, %d) AS i`, s.stores-1),
			`INSERT INTO devices (id, store_id, name, created_at) SELECT 'D' || substr(id, 2), id, 'Till', 0 FROM stores`,
			fmt.Sprintf(`INSERT INTO responses (id, store_id, device_id, score, reasons, comment, contact, contact_consent,
				                       locale, survey_version, created_at, completed_at, outcome, suspect, day,
				                       content_hash, received_at, segment)
				SELECT lpad(i::text, 16, '0'), 'S' || lpad((i / %[2]d)::text, 5, '0'), 'D' || lpad((i / %[2]d)::text, 5, '0'),
				       CASE WHEN r < 45 THEN 9 + r %% 2 WHEN r < 75 THEN 7 + r %% 2 ELSE r %% 7 END,
				       '[]', '', '', false, 'en', 1, %[4]d + off * 86400000::bigint, %[4]d + off * 86400000::bigint, 'submitted',
				       i %% 200 = 0, to_char(date '%[5]s' + off, 'YYYY-MM-DD'), '', 0,
				       (ARRAY['', 'new', 'returning', 'vip', 'staff'])[i %% 5 + 1]
				  FROM (SELECT i, ((i %% %[2]d) * %[3]d / %[2]d)::int AS off, (random() * 99)::int AS r
				          FROM generate_series(0::bigint, %[1]d) AS i) g`, s.responses-1, perStore, s.days, base, firstDay.Format(time.DateOnly)),
		}
	default:
		return fmt.Errorf("generate: unknown dialect %q", db.dialect.name)
	}
	stmts = append(stmts, `INSERT INTO daily_rollups (store_id, day, promoters, passives, detractors, suspect)
		SELECT store_id, day, `+scanSums+` FROM responses GROUP BY store_id, day`,
		`INSERT INTO segment_rollups (segment, day, store_id, channel, promoters, passives, detractors, suspect)
		SELECT segment, day, store_id, 'kiosk', `+scanSums+` FROM responses WHERE segment <> '' GROUP BY segment, day, store_id`)
	if db.dialect.name == "postgres" {
		stmts = append(stmts, `VACUUM ANALYZE`)
	} else {
		stmts = append(stmts, `ANALYZE`, `PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	for _, q := range stmts {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
	}
	return nil
}

// scanSums tallies raw responses the way the rollups count them.
const scanSums = `CAST(SUM(CASE WHEN suspect THEN 0 WHEN score >= 9 THEN 1 ELSE 0 END) AS BIGINT),
	CAST(SUM(CASE WHEN suspect THEN 0 WHEN score >= 7 AND score <= 8 THEN 1 ELSE 0 END) AS BIGINT),
	CAST(SUM(CASE WHEN suspect THEN 0 WHEN score <= 6 THEN 1 ELSE 0 END) AS BIGINT),
	CAST(SUM(CASE WHEN suspect THEN 1 ELSE 0 END) AS BIGINT)`

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
func scanPerStore(ctx context.Context, db *DB, f Filter) (map[string]NPSReport, error) {
	where, args := f.where("")
	return db.tallies(ctx, `SELECT store_id, `+scanSums+` FROM responses WHERE `+where+` GROUP BY store_id`, args...)
}

// scanTrend is DB.Trend by day without the rollups.
func scanTrend(ctx context.Context, db *DB, f Filter) ([]TrendPoint, error) {
	where, args := f.where("")
	rows, err := db.read.QueryContext(ctx, `SELECT day, `+scanSums+` FROM responses WHERE `+where+` GROUP BY day ORDER BY day`, args...)
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
