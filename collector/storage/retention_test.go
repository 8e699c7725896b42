package storage_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// testClock is a clock the test moves.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}
func (c *testClock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// retentionFixture is a store with 20 old responses (tapped 400 days before "now") and
// 10 recent ones (10 days before), each with a comment holding "queue", a free-text
// answer and a choice answer; every other one with a contact, some sealed. The old
// detractors have cases with notes written then, and their case.opened events went to a
// webhook that answered.
type retentionFixture struct {
	c             *collectortest.Collector
	clock         *testClock
	old, recent   []string
	oldContacts   int64
	oldDetractors int64
	oldEvents     int64
}

func seedRetention(t *testing.T, b collectortest.Backend) retentionFixture {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	oldAt, recentAt := now.AddDate(0, 0, -400), now.AddDate(0, 0, -10)
	clock := newTestClock(oldAt)
	c := collectortest.Start(t, collectortest.Options{Backend: b, Now: clock.now})
	c.AddStore(t, storage.Store{ID: "S001"})
	s, err := c.DB.Survey(ctx, "S001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB.SetSurvey(ctx, collectortest.QuestionsSurvey(s), []string{"S001"}); err != nil {
		t.Fatal(err)
	}
	dev := c.Enroll(t, "S001", "Till 1").DeviceID
	if _, err := c.DB.AddSubscription(ctx, storage.Subscription{ScopeKind: storage.ScopeChain, URL: "https://hooks.example.com/x", Secret: "whsec_test"}); err != nil {
		t.Fatal(err)
	}
	f := retentionFixture{c: c, clock: clock}
	rng := rand.New(rand.NewPCG(1, 2))
	insert := func(at time.Time, n int, ids *[]string, old bool) {
		clock.set(at.Add(time.Minute))
		var batch []storage.NewResponse
		for i := range n {
			r := collectortest.Response(rng, at.Add(time.Duration(i)*time.Second))
			r.Score = []int{2, 8, 10}[i%3]
			r.Comment = fmt.Sprintf("queue remark %d", i)
			r.Answers = map[string][]string{"improve": {"call me on 0170 555"}, "found": {"yes"}, "speed": {"4"}}
			if i%2 == 0 {
				r.Contact, r.ContactConsent = fmt.Sprintf("shopper%d@example.com", i), true
				if i%4 == 0 { // as a kiosk sends it: sealed
					r.Contact, r.SealedContact = "", "v1.not-opened-here"
				}
				if old {
					f.oldContacts++
				}
			}
			nr := storage.NewResponse{Response: r, Day: r.CreatedAt.Format(time.DateOnly), Hash: r.ID}
			if r.Score <= 6 {
				nr.Case = &storage.NewCase{ID: "case-" + r.ID, DueAt: at.Add(48 * time.Hour)}
				if old {
					f.oldDetractors++
				}
			}
			batch = append(batch, nr)
			*ids = append(*ids, r.ID)
		}
		if _, err := c.DB.InsertBatch(ctx, storage.Origin{StoreID: "S001", DeviceID: dev}, batch); err != nil {
			t.Fatal(err)
		}
		// Every case gets a note, and the webhook answers every event.
		cases, err := c.DB.Cases(ctx, storage.CaseFilter{StoreID: "S001"})
		if err != nil {
			t.Fatal(err)
		}
		for _, cs := range cases {
			if _, err := c.DB.ChangeCase(ctx, cs.ID, storage.CaseChange{Actor: "hq", Note: "called back on 0170 555 " + cs.ID}); err != nil && !errors.Is(err, storage.ErrInvalid) {
				t.Fatal(err)
			}
		}
		ds, err := c.DB.ClaimDeliveries(ctx, 1000, clock.now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if err := c.DB.RecordAttempt(ctx, d, storage.Attempt{StatusCode: 200, Duration: time.Millisecond}); err != nil {
				t.Fatal(err)
			}
		}
		if old {
			f.oldEvents = int64(len(ds))
		}
	}
	insert(oldAt, 20, &f.old, true)
	insert(recentAt, 10, &f.recent, false)
	clock.set(now)
	return f
}

// reports is every figure a purge must leave as it was.
type reports struct {
	NPS     storage.NPSReport
	Trend   []storage.TrendPoint
	Stores  []storage.StoreReport
	Answers []storage.AnswerTally
}

func readReports(t *testing.T, db *storage.DB) reports {
	t.Helper()
	ctx := context.Background()
	f := storage.Filter{From: "2024-01-01", To: "2026-12-31"}
	var r reports
	var err error
	if r.NPS, err = db.NPS(ctx, f); err != nil {
		t.Fatal(err)
	}
	if r.Trend, err = db.Trend(ctx, f, "day"); err != nil {
		t.Fatal(err)
	}
	if r.Stores, err = db.Stores(ctx, f); err != nil {
		t.Fatal(err)
	}
	tallies, err := db.AnswerTallies(ctx, f, []string{"found", "speed", "improve"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range tallies {
		// A text question's tallies by value are its texts, which a purge blanks; who
		// answered it (Value empty) stays.
		if a.Question != "improve" || a.Value == "" {
			r.Answers = append(r.Answers, a)
		}
	}
	return r
}

func search(t *testing.T, db *storage.DB, text string) int {
	t.Helper()
	p, err := db.CommentsPage(context.Background(), storage.CommentFilter{Filter: storage.Filter{From: "2024-01-01", To: "2026-12-31"}, Text: text, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Comments)
}

func TestPurgeBlanksOldTextsAndContactsOnly(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		f := seedRetention(t, b)
		db := f.c.DB
		policy := storage.RetentionPolicy{CommentsDays: 365, ContactsDays: 365}
		before := readReports(t, db)
		if n := search(t, db, "queue"); n != 30 {
			t.Fatalf("search finds %d comments before the purge, want 30", n)
		}
		want := storage.PurgeCounts{Comments: 20, Answers: 20, Contacts: f.oldContacts, CaseNotes: f.oldDetractors,
			Deliveries: f.oldEvents, DeliveryAttempts: f.oldEvents, Events: f.oldEvents}
		if f.oldEvents == 0 || f.oldDetractors == 0 {
			t.Fatalf("fixture: %d old events, %d old detractors", f.oldEvents, f.oldDetractors)
		}

		// A dry run counts and changes nothing; small batches make it page.
		dry, err := db.Purge(ctx, policy, storage.PurgeOptions{Owner: "test", DryRun: true, Batch: 3})
		if err != nil {
			t.Fatal(err)
		}
		if dry != want {
			t.Fatalf("dry run counts %+v, want %+v", dry, want)
		}
		if n := search(t, db, "queue"); n != 30 {
			t.Fatalf("after a dry run search finds %d, want 30", n)
		}

		got, err := db.Purge(ctx, policy, storage.PurgeOptions{Owner: "test", Batch: 3})
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("purge counts %+v, want %+v", got, want)
		}
		if n := search(t, db, "queue"); n != 10 {
			t.Fatalf("after the purge search finds %d comments, want the 10 recent", n)
		}
		for _, id := range f.old {
			var comment, contact, answers string
			var sealed *string
			if err := db.RawQueryRow(ctx, `SELECT comment, contact, contact_sealed, answers FROM responses WHERE id = ?`, id).
				Scan(&comment, &contact, &sealed, &answers); err != nil {
				t.Fatal(err)
			}
			if comment != "" || contact != "" || sealed != nil || answers != `{"found":["yes"],"improve":[""],"speed":["4"]}` {
				t.Fatalf("old response %s kept comment %q contact %q sealed %v answers %s", id, comment, contact, sealed, answers)
			}
		}
		for _, id := range f.recent {
			var comment string
			if err := db.RawQueryRow(ctx, `SELECT comment FROM responses WHERE id = ?`, id).Scan(&comment); err != nil {
				t.Fatal(err)
			}
			if comment == "" {
				t.Fatalf("recent response %s lost its comment", id)
			}
		}
		var notes int
		if err := db.RawQueryRow(ctx, `SELECT COUNT(*) FROM case_events WHERE note <> ''`).Scan(&notes); err != nil {
			t.Fatal(err)
		}
		if notes == 0 {
			t.Fatal("the recent case notes were purged too")
		}
		if after := readReports(t, db); !reflect.DeepEqual(before, after) {
			t.Fatalf("reports changed by the purge:\nbefore %+v\nafter  %+v", before, after)
		}

		// Nothing is left to purge.
		again, err := db.Purge(ctx, policy, storage.PurgeOptions{Owner: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if again != (storage.PurgeCounts{}) {
			t.Fatalf("a second purge found %+v", again)
		}
	})
}

func TestPurgeKeepsForeverAtZero(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		f := seedRetention(t, b)
		got, err := f.c.DB.Purge(context.Background(), storage.RetentionPolicy{}, storage.PurgeOptions{Owner: "test"})
		if err != nil || got != (storage.PurgeCounts{}) {
			t.Fatalf("purge with no limits: %+v, %v", got, err)
		}
		// Only comments: contacts stay, and so does the log (its limit is the sooner of the two).
		got, err = f.c.DB.Purge(context.Background(), storage.RetentionPolicy{CommentsDays: 365}, storage.PurgeOptions{Owner: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Comments != 20 || got.Contacts != 0 || got.CaseNotes != 0 || got.Events != f.oldEvents {
			t.Fatalf("comments-only purge: %+v", got)
		}
	})
}

func TestPurgeLease(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		f := seedRetention(t, b)
		db := f.c.DB
		if ok, err := db.ClaimRetentionLease(ctx, "other", time.Minute); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		_, err := db.Purge(ctx, storage.RetentionPolicy{CommentsDays: 30}, storage.PurgeOptions{Owner: "me"})
		if !errors.Is(err, storage.ErrRetentionBusy) {
			t.Fatalf("purge while another holds the lease: %v, want ErrRetentionBusy", err)
		}
		f.clock.set(f.clock.now().Add(2 * time.Minute)) // the other collector's lease ran out
		if _, err := db.Purge(ctx, storage.RetentionPolicy{CommentsDays: 30}, storage.PurgeOptions{Owner: "me"}); err != nil {
			t.Fatal(err)
		}
		// Released when done: another may purge at once.
		if ok, err := db.ClaimRetentionLease(ctx, "other", time.Minute); err != nil || !ok {
			t.Fatalf("claim after a purge: %v %v", ok, err)
		}
	})
}

func TestRetentionPolicy(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		p, err := c.DB.RetentionPolicy(ctx)
		if err != nil || !p.Off() {
			t.Fatalf("a new database's policy: %+v, %v; want keep forever", p, err)
		}
		for _, bad := range []storage.RetentionPolicy{{CommentsDays: -1}, {ContactsDays: storage.MaxRetentionDays + 1}} {
			if err := c.DB.SetRetentionPolicy(ctx, bad); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("SetRetentionPolicy(%+v) = %v, want ErrInvalid", bad, err)
			}
		}
		if err := c.DB.SetRetentionPolicy(ctx, storage.RetentionPolicy{CommentsDays: 365, ContactsDays: 90}); err != nil {
			t.Fatal(err)
		}
		p, err = c.DB.RetentionPolicy(ctx)
		if err != nil || p.CommentsDays != 365 || p.ContactsDays != 90 || p.UpdatedAt.IsZero() {
			t.Fatalf("policy read back: %+v, %v", p, err)
		}
		run := storage.RetentionRun{StartedAt: time.UnixMilli(1000).UTC(), FinishedAt: time.UnixMilli(2000).UTC(), Counts: storage.PurgeCounts{Comments: 3}}
		if err := c.DB.RecordRetentionRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		if err := c.DB.RecordRetentionRun(ctx, storage.RetentionRun{StartedAt: time.UnixMilli(3000), FinishedAt: time.UnixMilli(4000), DryRun: true,
			Counts: storage.PurgeCounts{Comments: 7}}); err != nil {
			t.Fatal(err)
		}
		last, ok, err := c.DB.LastRetentionRun(ctx)
		if err != nil || !ok || !reflect.DeepEqual(last, run) {
			t.Fatalf("last run %+v %v %v, want %+v (dry runs left out)", last, ok, err, run)
		}
		total, err := c.DB.RetentionTotals(ctx)
		if err != nil || total.Comments != 3 {
			t.Fatalf("totals %+v %v", total, err)
		}
		if size, err := c.DB.Size(ctx); err != nil || size <= 0 {
			t.Fatalf("size %d %v", size, err)
		}
	})
}
