package storage

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// TestWritersOwnTheirShards: the stores of one row of the report sums (a scope_days
// shard, a chain's, region's or format's snapshot shard) all have one writer, so that
// PostgreSQL's writers never wait for each other's locks on them.
func TestWritersOwnTheirShards(t *testing.T) {
	db := &DB{writers: make([]*groupWriter, pgWriters)}
	for i := range db.writers {
		db.writers[i] = &groupWriter{}
	}
	owner := map[string]*groupWriter{}
	for i := range 5000 {
		store := fmt.Sprintf("S%04d", i)
		w := db.writerFor(store)
		keys := []string{fmt.Sprint("scope_days ", shardOf(store))}
		for _, scope := range []string{"", "r:North", "f:express"} {
			keys = append(keys, fmt.Sprint("snapshots ", snapshotShards(scope), " ", snapshotShard(store, scope)))
		}
		for _, k := range keys {
			if o, ok := owner[k]; ok && o != w {
				t.Fatalf("%s: stores of two writers", k)
			}
			owner[k] = w
		}
	}
}

// TestConcurrentUploadsAcrossWriters: many devices of many stores (several regions and
// formats) upload at once, each batch with cases and themes, and a third of them upload
// their batch twice at once, as a kiosk retrying a lost answer does. On both databases:
// every response is stored once, with its case and themes once, and every device is
// seen; no upload waited on another writer's locks (none was retried alone); the
// rollups count each response once and the report sums kept at each upload equal those
// rebuilt from the rollups.
func TestConcurrentUploadsAcrossWriters(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		logs := &retryLog{}
		db, err := Open(ctx, Config{Path: b.Path(t), Logger: slog.New(logs)})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		const (
			stores  = 24
			devices = 3 // a store
			batches = 4 // a device
		)
		regions, formats := []string{"", "North", "South"}, []string{"", "express", "supermarket"}
		for s := range stores {
			id := fmt.Sprintf("S%02d", s)
			if err := db.AddStore(ctx, Store{ID: id, Name: id, Timezone: "Europe/Berlin",
				Region: regions[s%len(regions)], Format: formats[s/len(regions)%len(formats)]}); err != nil {
				t.Fatal(err)
			}
			for d := range devices {
				if _, err := db.write.ExecContext(ctx, `INSERT INTO devices (id, store_id, name, created_at) VALUES (?, ?, 'Till', 0)`,
					fmt.Sprintf("D%02d-%d", s, d), id); err != nil {
					t.Fatal(err)
				}
			}
		}
		day := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
		var (
			wg                      sync.WaitGroup
			mu                      sync.Mutex
			failures                []error
			rows, cases, themeCount int
		)
		for s := range stores {
			for d := range devices {
				rng := rand.New(rand.NewPCG(uint64(s), uint64(d)))
				o := Origin{StoreID: fmt.Sprintf("S%02d", s), DeviceID: fmt.Sprintf("D%02d-%d", s, d)}
				var sent [][]NewResponse
				for range batches {
					batch := make([]NewResponse, 10+rng.IntN(30))
					for i := range batch {
						at := day.Add(-time.Duration(rng.IntN(7*24)) * time.Hour)
						id := uuid.Must(uuid.NewV7()).String()
						r := NewResponse{Response: wire.Response{ID: id, Score: rng.IntN(11), Reasons: []string{"staff"},
							Locale: "en", SurveyVersion: 1, CreatedAt: at, CompletedAt: at.Add(10 * time.Second),
							Outcome: response.OutcomeSubmitted, Channel: "kiosk", Segment: []string{"", "vip"}[rng.IntN(2)],
							Comment: "queue"}, Day: at.Format(time.DateOnly), Hash: id,
							Tags: &Tags{Fingerprint: "f", Themes: []ThemeMention{{Theme: "queue", Polarity: -1}}}}
						if r.Score <= 6 {
							r.Case = &NewCase{ID: uuid.Must(uuid.NewV7()).String(), DueAt: day.Add(24 * time.Hour)}
							cases++
						}
						batch[i] = r
						themeCount++
					}
					rows += len(batch)
					sent = append(sent, batch)
				}
				upload := func(batch []NewResponse) {
					if _, err := db.InsertBatch(ctx, o, batch); err != nil {
						mu.Lock()
						failures = append(failures, err)
						mu.Unlock()
					}
				}
				wg.Go(func() {
					for _, batch := range sent {
						upload(batch)
					}
				})
				if d == 0 { // the same batches again, at once
					wg.Go(func() {
						for _, batch := range sent {
							upload(batch)
						}
					})
				}
			}
		}
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("%d uploads failed, the first: %v", len(failures), failures[0])
		}
		if n := logs.count(); n > 0 {
			t.Errorf("%d uploads were retried alone after a lock conflict", n)
		}
		count := func(q string) int {
			var n int
			if err := db.read.QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for q, want := range map[string]int{
			`SELECT COUNT(*) FROM responses`:                                                                        rows,
			`SELECT COUNT(DISTINCT seq) FROM responses`:                                                             rows,
			`SELECT CAST(SUM(promoters + passives + detractors + suspect) AS BIGINT) FROM daily_rollups`:            rows,
			`SELECT COUNT(*) FROM devices WHERE last_seen_at IS NOT NULL`:                                           stores * devices,
			`SELECT COUNT(*) FROM cases`:                                                                            cases,
			`SELECT COUNT(*) FROM case_events`:                                                                      cases,
			`SELECT COUNT(*) FROM response_themes`:                                                                  themeCount,
			`SELECT CAST(SUM(promoters + passives + detractors) AS BIGINT) FROM theme_rollups WHERE kind = 'theme'`: themeCount,
			// PostgreSQL has no foreign keys on these (migration 0033): ingest must never
			// write a child without its parent, duplicates sent at once included.
			`SELECT COUNT(*) FROM response_themes t WHERE NOT EXISTS (SELECT 1 FROM responses r WHERE r.id = t.response_id)`:                   0,
			`SELECT COUNT(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM responses r WHERE r.id = c.response_id AND r.store_id = c.store_id)`: 0,
			`SELECT COUNT(*) FROM case_events e WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = e.case_id)`:                               0,
		} {
			if got := count(q); got != want {
				t.Errorf("%s: %d, want %d", q, got, want)
			}
		}
		// The rollups equal a scan of the responses, and the sums kept at each upload
		// equal the sums rebuilt from the rollups.
		scan := func(q string) []string {
			out, err := db.read.QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			var lines []string
			for out.Next() {
				var key string
				var p, pa, d int64
				if err := out.Scan(&key, &p, &pa, &d); err != nil {
					t.Fatal(err)
				}
				lines = append(lines, fmt.Sprint(key, p, pa, d))
			}
			return lines
		}
		rolled := scan(`SELECT store_id || '|' || day, SUM(promoters), SUM(passives), SUM(detractors) FROM daily_rollups
			GROUP BY store_id, day ORDER BY 1`)
		scanned := scan(`SELECT store_id || '|' || day, SUM(CASE WHEN score >= 9 THEN 1 ELSE 0 END),
			SUM(CASE WHEN score IN (7, 8) THEN 1 ELSE 0 END), SUM(CASE WHEN score <= 6 THEN 1 ELSE 0 END)
			FROM responses GROUP BY store_id, day ORDER BY 1`)
		if !slices.Equal(rolled, scanned) {
			t.Errorf("rollups %v, by scan %v", rolled, scanned)
		}
		kept := randomHistory{}.sumTables(t, db)
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := rebuildReportSums(ctx, tx); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		for table, rows := range (randomHistory{}).sumTables(t, db) {
			if !slices.Equal(kept[table], rows) {
				t.Errorf("%s: kept at upload %d rows, rebuilt %d rows, and they differ", table, len(kept[table]), len(rows))
			}
		}
	})
}

// retryLog is a log handler that counts the uploads retried alone.
type retryLog struct {
	mu sync.Mutex
	n  int
}

func (l *retryLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *retryLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "retried alone") {
		l.mu.Lock()
		l.n++
		l.mu.Unlock()
	}
	return nil
}
func (l *retryLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *retryLog) WithGroup(string) slog.Handler      { return l }

func (l *retryLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}
