package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// pageAll reads every page after from with page size limit and returns the rows and the
// last cursor, checking that positions only ever go forward.
func pageAll(t *testing.T, db *storage.DB, q storage.ResponseQuery) ([]storage.ReceivedResponse, storage.Position) {
	t.Helper()
	var out []storage.ReceivedResponse
	for {
		page, next, err := db.ResponsesAfter(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 0 && !after(next, q.After) {
			t.Fatalf("cursor went from %+v to %+v", q.After, next)
		}
		out = append(out, page...)
		q.After = next
		if len(page) < q.Limit {
			return out, next
		}
	}
}

// pageAtLeast pages after q.After until it has read at least n rows, for up to 30 s. On
// PostgreSQL a committed row shows only once every older transaction on the server has
// ended, and other test packages share the server: a read right after a commit may have
// to wait a moment.
func pageAtLeast(t *testing.T, db *storage.DB, q storage.ResponseQuery, n int) ([]storage.ReceivedResponse, storage.Position) {
	t.Helper()
	var out []storage.ReceivedResponse
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		page, next := pageAll(t, db, q)
		out, q.After = append(out, page...), next
		if len(out) >= n || time.Now().After(deadline) {
			return out, q.After
		}
	}
}

func after(a, b storage.Position) bool { return a.XID > b.XID || a.XID == b.XID && a.Seq > b.Seq }

// Must-show (issue 19): four devices upload through the real HTTP ingest while a reader
// pages GET /v1/responses' storage with a page of 7; when they are done, one last drain.
// The reader sees every stored row exactly once. On PostgreSQL the uploads' transactions
// overlap and commit in any order.
func TestCursorSeesEveryRowOnceWhileWritersIngest(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: b, DeviceRate: 10000, DeviceBurst: 10000})
		c.AddStore(t, storage.Store{ID: "S001", Region: "North"})
		c.AddStore(t, storage.Store{ID: "S002", Region: "South"})
		const writers, batches = 4, 25
		var (
			mu      sync.Mutex
			stored  = map[string]bool{}
			wg      sync.WaitGroup
			errs    = make(chan error, writers)
			done    = make(chan struct{})
			started = time.Now()
		)
		for w := range writers {
			dev := c.Enroll(t, []string{"S001", "S002"}[w%2], "Till")
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				for range batches {
					batch := make([]wire.Response, 1+rng.IntN(9))
					for i := range batch {
						batch[i] = collectortest.Response(rng, started.Add(-time.Minute))
						batch[i].Comment = "writer"
					}
					res, err := collectortest.Upload(ctx, c.URL, dev.Token, batch)
					if err == nil && len(res.Accepted) != len(batch) {
						err = errors.New("batch not all accepted")
					}
					if err == nil {
						mu.Lock()
						for _, id := range res.Accepted {
							stored[id] = true
						}
						mu.Unlock()
					}
					if err == nil && rng.IntN(4) == 0 {
						// A retry of the same batch stores nothing twice.
						res, err = collectortest.Upload(ctx, c.URL, dev.Token, batch)
						if err == nil && len(res.Duplicate) != len(batch) {
							err = errors.New("retry not all duplicates")
						}
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		go func() { wg.Wait(); close(done) }()

		seen := map[string]int{}
		var maxSeq, behind int64
		q := storage.ResponseQuery{Limit: 7}
		read := func() int {
			page, next, err := c.DB.ResponsesAfter(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 0 && !after(next, q.After) {
				t.Fatalf("cursor went from %+v to %+v", q.After, next)
			}
			for _, r := range page {
				seen[r.ID]++
			}
			// A row served with a lower seq than one served before it would have been
			// skipped by a cursor over seq alone: the out-of-order commits the xid
			// guards against.
			if next.Seq < maxSeq {
				behind++
			}
			maxSeq = max(maxSeq, next.Seq)
			q.After = next
			return len(page)
		}
		pages := 0
	reading:
		for {
			select {
			case <-done:
				break reading
			default:
			}
			if read() == 0 {
				time.Sleep(time.Millisecond) // leave the writers the CPU
			}
			pages++
		}
		// The last drain: on PostgreSQL the last commits show once every older
		// transaction on the server has ended.
		for deadline := time.Now().Add(30 * time.Second); len(seen) < len(stored) && time.Now().Before(deadline); {
			if read() == 0 {
				time.Sleep(10 * time.Millisecond)
			}
			pages++
		}
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(stored) == 0 {
			t.Fatal("nothing stored")
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("response %s seen %d times", id, n)
			}
			if !stored[id] {
				t.Errorf("response %s seen but never accepted", id)
			}
		}
		for id := range stored {
			if seen[id] == 0 {
				t.Errorf("response %s stored but never seen", id)
			}
		}
		t.Logf("%s: %d responses from %d writers, read in %d pages of at most 7 while they ran; %d pages ended below a seq served before",
			b.Name, len(stored), writers, pages, behind)
	})
}

// On PostgreSQL a transaction that took its position first but commits last must still
// be read, and before the rows that committed ahead of it: a reader paging by sequence
// alone would pass it and never see it. Both ways a transaction can be older: it
// inserted first, or it took its xid first and inserted after the other committed.
func TestCursorWaitsForAnOlderOpenTransaction(t *testing.T) {
	var pg collectortest.Backend
	for _, b := range collectortest.Backends(t) {
		if b.Name == "postgres" {
			pg = b
		}
	}
	if pg.Path == nil {
		t.Skip("PostgreSQL only (SQLite has one writer): run through scripts/with-postgres.sh")
	}
	for _, tc := range []struct {
		name        string
		insertFirst bool // the open transaction inserts before the other commits, else only takes its xid
	}{{"inserted first", true}, {"xid first, inserted last", false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := collectortest.Start(t, collectortest.Options{Backend: pg})
			c.AddStore(t, storage.Store{ID: "S001"})
			dev := c.Enroll(t, "S001", "Till")
			rng := rand.New(rand.NewPCG(1, 2))
			insert := func(id string) {
				r := collectortest.Response(rng, time.Now().Add(-time.Minute))
				r.ID = id
				if _, err := c.DB.InsertBatch(ctx, storage.Origin{StoreID: "S001", DeviceID: dev.DeviceID},
					[]storage.NewResponse{{Response: r, Day: time.Now().Format(time.DateOnly), Hash: id}}); err != nil {
					t.Fatal(err)
				}
			}
			insert("base")

			other, err := sql.Open("pgx", c.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			open, err := other.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer open.Rollback()
			insertOpen := func() {
				if _, err := open.ExecContext(ctx, `
					INSERT INTO responses (id, store_id, device_id, score, reasons, comment, contact, contact_consent, locale,
					                       survey_version, created_at, completed_at, outcome, suspect, day, content_hash, received_at)
					VALUES ('late', 'S001', $1, 9, '[]', '', '', false, 'en', 1, 0, 0, 'submitted', false, '2026-01-01', 'late', 0)`,
					dev.DeviceID); err != nil {
					t.Fatal(err)
				}
			}
			if tc.insertFirst {
				insertOpen()
			} else if _, err := open.ExecContext(ctx, `SELECT pg_current_xact_id()`); err != nil {
				t.Fatal(err)
			}
			insert("early") // commits while the older transaction is open
			if !tc.insertFirst {
				insertOpen()
			}

			got, cur := pageAtLeast(t, c.DB, storage.ResponseQuery{Limit: 7}, 1)
			if len(got) != 1 || got[0].ID != "base" {
				t.Fatalf("while the older transaction is open: %v; want only base (early waits behind it)", idsOf(got))
			}
			if err := open.Commit(); err != nil {
				t.Fatal(err)
			}
			got, _ = pageAtLeast(t, c.DB, storage.ResponseQuery{Limit: 7, After: cur}, 2)
			if ids := idsOf(got); len(ids) != 2 || ids[0] != "late" || ids[1] != "early" {
				t.Fatalf("after its commit: %v; want [late early]", ids)
			}
		})
	}
}

func idsOf(rs []storage.ReceivedResponse) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// The filters compose with the cursor: paging a filtered list by 2 gives exactly the
// rows of the unfiltered list the filter keeps, in the same order; contacts only on
// request; bad limits and cursors are ErrInvalid.
func TestResponsesAfterFilters(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		c.AddStore(t, storage.Store{ID: "S001", Region: "North"})
		c.AddStore(t, storage.Store{ID: "S002", Region: "South"})
		devs := map[string]string{"S001": c.Enroll(t, "S001", "Till").DeviceID, "S002": c.Enroll(t, "S002", "Till").DeviceID}
		rng := rand.New(rand.NewPCG(5, 6))
		now := time.Now()
		for i := range 30 {
			store := []string{"S001", "S002"}[i%2]
			r := collectortest.Response(rng, now.Add(-time.Hour))
			r.Channel = []string{"kiosk", "qr", "kiosk"}[i%3]
			if i%5 == 0 {
				r.Contact, r.ContactConsent = "shopper@example.com", true
			}
			if _, err := c.DB.InsertBatch(ctx, storage.Origin{StoreID: store, DeviceID: devs[store]},
				[]storage.NewResponse{{Response: r, Day: now.Format(time.DateOnly), Hash: r.ID}}); err != nil {
				t.Fatal(err)
			}
		}
		all, _ := pageAtLeast(t, c.DB, storage.ResponseQuery{Limit: 1000}, 30)
		if len(all) != 30 {
			t.Fatalf("%d responses, want 30", len(all))
		}
		for _, r := range all {
			if r.Contact != "" {
				t.Fatalf("contact %q without Contacts", r.Contact)
			}
		}
		withContacts, _ := pageAll(t, c.DB, storage.ResponseQuery{Limit: 1000, Contacts: true})
		contacts := 0
		for _, r := range withContacts {
			if r.Contact != "" {
				contacts++
			}
		}
		if contacts != 6 {
			t.Errorf("%d contacts with Contacts, want 6", contacts)
		}
		for _, tc := range []struct {
			name string
			q    storage.ResponseQuery
			keep func(storage.ReceivedResponse) bool
		}{
			{"store", storage.ResponseQuery{StoreID: "S002"}, func(r storage.ReceivedResponse) bool { return r.Store == "S002" }},
			{"region", storage.ResponseQuery{Region: "North"}, func(r storage.ReceivedResponse) bool { return r.Store == "S001" }},
			{"channel", storage.ResponseQuery{Channel: "qr"}, func(r storage.ReceivedResponse) bool { return r.Channel == "qr" }},
			{"since", storage.ResponseQuery{Since: now.Add(time.Hour)}, func(storage.ReceivedResponse) bool { return false }},
			{"store and channel", storage.ResponseQuery{StoreID: "S001", Channel: "kiosk"},
				func(r storage.ReceivedResponse) bool { return r.Store == "S001" && r.Channel == "kiosk" }},
		} {
			var want []string
			for _, r := range all {
				if tc.keep(r) {
					want = append(want, r.ID)
				}
			}
			tc.q.Limit = 2
			got, _ := pageAll(t, c.DB, tc.q)
			if g := idsOf(got); len(g) != len(want) || len(want) > 0 && !slices.Equal(g, want) {
				t.Errorf("%s: %v, want %v", tc.name, g, want)
			}
		}
		for _, limit := range []int{-1, storage.MaxResponsePage + 1} {
			if _, _, err := c.DB.ResponsesAfter(ctx, storage.ResponseQuery{Limit: limit}); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("limit %d: %v, want ErrInvalid", limit, err)
			}
		}
		for _, s := range []string{"x", "cjE6", "cjE6MTox"[:6], storage.Position{Seq: 3}.Cursor() + "A"} {
			if _, err := storage.ParseCursor(s); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("cursor %q: %v, want ErrInvalid", s, err)
			}
		}
		p := storage.Position{XID: 12345, Seq: 678}
		if got, err := storage.ParseCursor(p.Cursor()); err != nil || got != p {
			t.Errorf("cursor round trip: %+v, %v", got, err)
		}
	})
}
