package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// TestGroupCommitFailsOneBatchAlone: concurrent batches written as one group, one of
// which breaks a constraint only the database checks, on both databases. Only that batch
// fails, with its own error; every other one is stored, counted once in the rollups and
// given its received-order positions, and the failed one leaves nothing behind.
func TestGroupCommitFailsOneBatchAlone(t *testing.T) {
	bad := []struct {
		name string
		make func(batch []NewResponse) (Origin, []NewResponse)
	}{
		{"unknown store", func(batch []NewResponse) (Origin, []NewResponse) {
			return Origin{StoreID: nowhere, DeviceID: "D1"}, batch
		}},
		{"unknown device", func(batch []NewResponse) (Origin, []NewResponse) {
			return Origin{StoreID: "S1", DeviceID: "GONE"}, batch
		}},
		{"a row's score out of range", func(batch []NewResponse) (Origin, []NewResponse) {
			batch[len(batch)/2].Score = 11
			return Origin{StoreID: "S1", DeviceID: "D1"}, batch
		}},
		{"a row's case id taken", func(batch []NewResponse) (Origin, []NewResponse) {
			// The rows, rollups and the batch's first cases go in before this one fails.
			batch[0].Case = &NewCase{ID: uuid.Must(uuid.NewV7()).String(), DueAt: time.Now()}
			batch[len(batch)/2].Case = &NewCase{ID: takenCase, DueAt: time.Now()}
			return Origin{StoreID: "S1", DeviceID: "D1"}, batch
		}},
	}
	storagetest.ForEachBackend(t, func(t *testing.T, b storagetest.Backend) {
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				db, err := Open(ctx, Config{Path: b.Path(t), Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				// Two stores and the unknown one, all of one writer (PostgreSQL has several,
				// by store), so that the batches of both go in one group.
				w := db.writerFor("S1")
				stores := []string{"S1", storeOf(db, w)}
				if db.writerFor(nowhere) != w {
					t.Fatalf("%s is not on S1's writer", nowhere)
				}
				devices := []string{"D1", "D" + stores[1][1:]}
				for i, s := range stores {
					if err := db.AddStore(ctx, Store{ID: s, Name: s, Timezone: "Europe/Berlin"}); err != nil {
						t.Fatal(err)
					}
					if _, err := db.write.ExecContext(ctx, `INSERT INTO devices (id, store_id, name, created_at) VALUES (?, ?, 'Till', 0)`,
						devices[i], s); err != nil {
						t.Fatal(err)
					}
				}
				const batches = 12
				rng := rand.New(rand.NewPCG(4, 2))
				day := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
				first := groupBatch(rng, day, 3)
				first[0].Case = &NewCase{ID: takenCase, DueAt: time.Now()}
				if _, err := db.InsertBatch(ctx, Origin{StoreID: "S1", DeviceID: "D1"}, first); err != nil {
					t.Fatal(err)
				}
				// The writer holds the first batch until the rest have queued, so they are
				// all written together in the next group.
				groups, release, held := make(chan int, batches+1), make(chan struct{}), false
				w.beforeGroup = func(size int) {
					groups <- size
					if !held {
						held = true
						<-release
					}
				}
				var (
					wg      sync.WaitGroup
					results = make([]BatchResult, batches+1)
					errs    = make([]error, batches+1)
					sent    = make([][]NewResponse, batches+1)
				)
				const badAt = 5
				for i := range batches + 1 {
					o := Origin{StoreID: stores[i%2], DeviceID: devices[i%2]}
					batch := groupBatch(rng, day, 20)
					if i == badAt {
						o, batch = tc.make(batch)
					}
					sent[i] = batch
					wg.Go(func() { results[i], errs[i] = db.InsertBatch(ctx, o, batch) })
					if i == 0 {
						// The writer takes this one alone and holds it, so that the rest
						// queue behind it.
						if size := <-groups; size != 1 {
							t.Fatalf("first group of %d", size)
						}
					}
				}
				for len(w.queue) < batches {
					time.Sleep(time.Millisecond)
				}
				close(release)
				wg.Wait()
				if size := <-groups; size != batches {
					t.Fatalf("second group of %d, want %d", size, batches)
				}
				// The first batch alone, the held one alone, then the rest together.
				if g, r := db.IngestGroups(); g != 3 || r != batches+2 {
					t.Errorf("IngestGroups = %d groups of %d requests, want 3 of %d", g, r, batches+2)
				}
				for i := range batches + 1 {
					if i == badAt {
						if errs[i] == nil {
							t.Fatalf("the bad batch was stored: %+v", results[i])
						}
						continue
					}
					if errs[i] != nil {
						t.Fatalf("batch %d failed with the bad one: %v", i, errs[i])
					}
					for j, r := range results[i].Results {
						if r != Inserted {
							t.Fatalf("batch %d row %d: %v, want Inserted", i, j, r)
						}
					}
				}
				// Every good row once, none of the bad one, and the rollups count each once.
				want := 3 + batches*20
				var rows, distinctSeq, rolled int64
				if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT seq) FROM responses`).Scan(&rows, &distinctSeq); err != nil {
					t.Fatal(err)
				}
				if err := db.read.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(promoters + passives + detractors + suspect), 0) AS BIGINT) FROM daily_rollups`).Scan(&rolled); err != nil {
					t.Fatal(err)
				}
				if rows != int64(want) || distinctSeq != rows || rolled != rows {
					t.Fatalf("%d rows, %d positions, %d in the rollups; want %d of each", rows, distinctSeq, rolled, want)
				}
				for _, r := range sent[badAt] {
					var n int
					if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM responses WHERE id = ?`, r.ID).Scan(&n); err != nil || n != 0 {
						t.Fatalf("a row of the failed batch was stored (%d, %v)", n, err)
					}
				}
				// A retry of a good batch is a retry, in a group or not.
				again, err := db.InsertBatch(ctx, Origin{StoreID: stores[1], DeviceID: devices[1]}, sent[1])
				if err != nil || again.Results[0] != SameContent {
					t.Fatalf("retry: %+v, %v", again, err)
				}
			})
		}
	})
}

// TestInsertBatchGivesUpWhileQueued: a caller whose context ends while its batch waits
// for the writer gets the context's error, and nothing of the batch is written.
func TestInsertBatchGivesUpWhileQueued(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{Path: storagetest.SQLite.Path(t), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.AddStore(ctx, Store{ID: "S1", Name: "S1", Timezone: "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO devices (id, store_id, name, created_at) VALUES ('D1', 'S1', 'Till', 0)`); err != nil {
		t.Fatal(err)
	}
	held, release, first := make(chan struct{}), make(chan struct{}), true
	db.writerFor("S1").beforeGroup = func(int) {
		if first {
			first = false
			held <- struct{}{}
			<-release
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	day := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	go db.InsertBatch(ctx, Origin{StoreID: "S1", DeviceID: "D1"}, groupBatch(rng, day, 1))
	<-held
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = db.InsertBatch(short, Origin{StoreID: "S1", DeviceID: "D1"}, groupBatch(rng, day, 5))
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's error", err)
	}
	// The writer still writes what comes next, and the abandoned batch is not in it.
	if _, err := db.InsertBatch(ctx, Origin{StoreID: "S1", DeviceID: "D1"}, groupBatch(rng, day, 2)); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountResponses(ctx, "S1"); err != nil || n != 3 {
		t.Fatalf("%d responses (%v), want 3", n, err)
	}
}

// nowhere is a store that is never added, of S1's writer.
const nowhere = "NOWHERE"

// storeOf is the first of S2, S3, … that w writes.
func storeOf(db *DB, w *groupWriter) string {
	for i := 2; ; i++ {
		if id := fmt.Sprint("S", i); db.writerFor(id) == w {
			return id
		}
	}
}

// takenCase is the id of a case the first batch opens.
const takenCase = "0190a8b2-0000-7000-8000-000000000001"

func groupBatch(rng *rand.Rand, day time.Time, n int) []NewResponse {
	batch := make([]NewResponse, n)
	for i := range batch {
		at := day.Add(time.Duration(rng.IntN(3600)) * time.Second)
		id := uuid.Must(uuid.NewV7()).String()
		batch[i] = NewResponse{Response: wire.Response{ID: id, Score: rng.IntN(11), Reasons: []string{},
			Locale: "en", SurveyVersion: 1, CreatedAt: at, CompletedAt: at.Add(10 * time.Second),
			Outcome: response.OutcomeSubmitted, Channel: "kiosk", Comment: fmt.Sprint("row ", i)},
			Day: at.Format(time.DateOnly), Hash: id}
	}
	return batch
}

// TestGroupCountsFailRetryAlone: when a group's rollups fail (here a trigger refuses
// one store's rows), no request is to blame yet, so each is tried again alone: only the
// batches that fail alone fail, the others are stored and counted once.
func TestGroupCountsFailRetryAlone(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := openOn(t, b)
		w := db.writerFor("S1")
		stores := []string{"S1", storeOf(db, w)}
		for _, s := range stores {
			if err := db.AddStore(ctx, Store{ID: s, Name: s, Timezone: "Europe/Berlin"}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.write.ExecContext(ctx, `INSERT INTO devices (id, store_id, name, created_at) VALUES (?, ?, 'Till', 0)`,
				"D"+s, s); err != nil {
				t.Fatal(err)
			}
		}
		refused := stores[1]
		refuse := []string{`CREATE TRIGGER refuse_rollups BEFORE INSERT ON daily_rollups
			WHEN NEW.store_id = '` + refused + `' BEGIN SELECT RAISE(ABORT, 'refused'); END`}
		if b.Name == "postgres" {
			refuse = []string{`CREATE FUNCTION refuse_rollups() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF NEW.store_id = '` + refused + `' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$`,
				`CREATE TRIGGER refuse_rollups BEFORE INSERT ON daily_rollups FOR EACH ROW EXECUTE FUNCTION refuse_rollups()`}
		}
		for _, q := range refuse {
			if _, err := db.write.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		// Held until the rest have queued, as in TestGroupCommitFailsOneBatchAlone.
		groups, release, held := make(chan int, 32), make(chan struct{}), false
		w.beforeGroup = func(size int) {
			groups <- size
			if !held {
				held = true
				<-release
			}
		}
		rng := rand.New(rand.NewPCG(7, 7))
		day := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
		const batches = 8
		var (
			wg   sync.WaitGroup
			errs = make([]error, batches+1)
		)
		for i := range batches + 1 {
			s := stores[i%2]
			batch := groupBatch(rng, day, 10)
			wg.Go(func() { _, errs[i] = db.InsertBatch(ctx, Origin{StoreID: s, DeviceID: "D" + s}, batch) })
			if i == 0 {
				<-groups
			}
		}
		for len(w.queue) < batches {
			time.Sleep(time.Millisecond)
		}
		close(release)
		wg.Wait()
		if size := <-groups; size != batches {
			t.Fatalf("second group of %d, want %d", size, batches)
		}
		for i, err := range errs {
			if fails := stores[i%2] == refused; (err != nil) != fails {
				t.Fatalf("batch %d of %s: %v", i, stores[i%2], err)
			}
		}
		var rows, rolled int64
		if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM responses`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if err := db.read.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(promoters + passives + detractors + suspect), 0) AS BIGINT) FROM daily_rollups`).Scan(&rolled); err != nil {
			t.Fatal(err)
		}
		if want := int64((batches/2 + 1) * 10); rows != want || rolled != want {
			t.Fatalf("%d rows, %d in the rollups; want %d of each", rows, rolled, want)
		}
	})
}
