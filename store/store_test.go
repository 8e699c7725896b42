package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
)

// clock is a settable time source for tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *clock { return &clock{now: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var quiet = slog.New(slog.DiscardHandler)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// noRapid turns capture rule 3 off for tests that tap quickly on purpose.
var noRapid = RapidTapRule{BurstLimit: 1 << 30, BurstWindow: time.Nanosecond}

func openTest(t *testing.T, cfg Config) *DB {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "kiosk.db")
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	db, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustRecord(t *testing.T, db *DB, score int) string {
	t.Helper()
	rec, err := db.Record(context.Background(), response.Tap{Score: score, Locale: "en", SurveyVersion: 1})
	if err != nil {
		t.Fatalf("Record(%d): %v", score, err)
	}
	return rec.ID
}

func mustComplete(t *testing.T, db *DB, id string, f response.FollowUp) {
	t.Helper()
	if err := db.Complete(context.Background(), id, f); err != nil {
		t.Fatalf("Complete(%s): %v", id, err)
	}
}

func TestEveryConnectionIsWALAndSynchronousFull(t *testing.T) {
	db := openTest(t, Config{})
	ctx := context.Background()
	// Hold several connections at once so each is a distinct pooled connection.
	check := func(name string, pool *sql.DB, n int) {
		var conns []*sql.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := range n {
			conn, err := pool.Conn(ctx)
			if err != nil {
				t.Fatalf("%s conn %d: %v", name, i, err)
			}
			conns = append(conns, conn)
			var mode string
			var sync int
			if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if err := conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
				t.Fatal(err)
			}
			if mode != "wal" || sync != 2 {
				t.Errorf("%s conn %d: journal_mode=%s synchronous=%d, want wal and 2 (FULL)", name, i, mode, sync)
			}
		}
	}
	check("write", db.write, 1)
	check("read", db.read, 4)
	// The read pool must refuse writes.
	if _, err := db.read.ExecContext(ctx, `DELETE FROM responses`); err == nil {
		t.Error("read pool accepted a write")
	}
}

func TestRecordAndComplete(t *testing.T) {
	clk := newClock(t0)
	db := openTest(t, Config{Now: clk.Now})
	ctx := context.Background()

	rec, err := db.Record(ctx, response.Tap{Score: 4, Locale: "de", SurveyVersion: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.ID) != 36 || rec.ID[14] != '7' {
		t.Errorf("id %q is not a UUIDv7", rec.ID)
	}
	got, err := db.Get(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Score != 4 || got.Locale != "de" || got.SurveyVersion != 3 || !got.CreatedAt.Equal(t0) ||
		!got.CompletedAt.IsZero() || got.Outcome != "" {
		t.Errorf("after Record: %+v", got)
	}

	clk.Advance(20 * time.Second)
	sealed := sealFor(t, testKeys(t).Current(), rec.ID, "a@example.com")
	f := response.FollowUp{Outcome: response.OutcomeSubmitted, Reasons: []string{"wait_time", "staff"},
		Comment: "Queue was long — but staff were lovely ☺", SealedContact: sealed, ContactConsent: true}
	mustComplete(t, db, rec.ID, f)
	got, err = db.Get(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != response.OutcomeSubmitted || !got.CompletedAt.Equal(t0.Add(20*time.Second)) ||
		strings.Join(got.Reasons, ",") != "wait_time,staff" || got.Comment != f.Comment ||
		got.Contact != "" || got.SealedContact != sealed || !got.ContactConsent {
		t.Errorf("after Complete: %+v", got)
	}

	// Submit racing the idle timeout: the second completion fails and changes nothing.
	err = db.Complete(ctx, rec.ID, response.FollowUp{Outcome: response.OutcomeTimedOut})
	if !errors.Is(err, ErrCompleted) {
		t.Errorf("second Complete error = %v, want ErrCompleted", err)
	}
	if again, _ := db.Get(ctx, rec.ID); again.Outcome != response.OutcomeSubmitted {
		t.Errorf("second Complete changed outcome to %s", again.Outcome)
	}
	if err := db.Complete(ctx, "0190aaaa-0000-7000-8000-000000000000", response.FollowUp{Outcome: response.OutcomeSkipped}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Complete(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestBadInputWritesNothing(t *testing.T) {
	db := openTest(t, Config{})
	ctx := context.Background()
	openID := mustRecord(t, db, 8)

	taps := []struct {
		name string
		tap  response.Tap
	}{
		{"score below range", response.Tap{Score: -1, Locale: "en"}},
		{"score above range", response.Tap{Score: 11, Locale: "en"}},
		{"no locale", response.Tap{Score: 5}},
		{"locale not UTF-8", response.Tap{Score: 5, Locale: "\xff"}},
		{"negative survey version", response.Tap{Score: 5, Locale: "en", SurveyVersion: -1}},
	}
	for _, tt := range taps {
		if _, err := db.Record(ctx, tt.tap); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("Record %s: error = %v, want ErrInvalidInput", tt.name, err)
		}
	}
	followUps := []struct {
		name string
		f    response.FollowUp
	}{
		{"no outcome", response.FollowUp{}},
		{"unknown outcome", response.FollowUp{Outcome: "abandoned"}},
		{"comment not UTF-8", response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: "ok \xc3\x28"}},
		{"comment too long", response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: strings.Repeat("é", response.MaxCommentRunes+1)}},
		{"contact without consent", response.FollowUp{Outcome: response.OutcomeSubmitted, Contact: "a@example.com"}},
		{"contact too long", response.FollowUp{Outcome: response.OutcomeSubmitted, Contact: strings.Repeat("a", response.MaxContactRunes+1), ContactConsent: true}},
		{"too many reasons", response.FollowUp{Outcome: response.OutcomeSubmitted, Reasons: strings.Split("a,b,c,d,e,f,g,h,i", ",")}},
		{"empty reason", response.FollowUp{Outcome: response.OutcomeSubmitted, Reasons: []string{""}}},
		{"repeated reason", response.FollowUp{Outcome: response.OutcomeSubmitted, Reasons: []string{"price", "price"}}},
		{"answer too long", response.FollowUp{Outcome: response.OutcomeSubmitted,
			Answers: map[string][]string{"improve": {strings.Repeat("x", response.MaxAnswerTextRunes+1)}}}},
		{"answer without values", response.FollowUp{Outcome: response.OutcomeSubmitted, Answers: map[string][]string{"found": {}}}},
		{"answer key in capitals", response.FollowUp{Outcome: response.OutcomeSubmitted, Answers: map[string][]string{"Found": {"yes"}}}},
	}
	for _, tt := range followUps {
		if err := db.Complete(ctx, openID, tt.f); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("Complete %s: error = %v, want ErrInvalidInput", tt.name, err)
		}
	}
	// A comment of exactly the limit is fine, measured in characters not bytes.
	var n int
	if err := db.read.QueryRow(`SELECT COUNT(*) FROM responses`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("bad input wrote rows: %d rows, want 1", n)
	}
	if r, _ := db.Get(ctx, openID); !r.CompletedAt.IsZero() {
		t.Errorf("bad follow-up completed the response: %+v", r)
	}
	mustComplete(t, db, openID, response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: strings.Repeat("é", response.MaxCommentRunes)})
}

func TestRapidTapsAreSuspect(t *testing.T) {
	clk := newClock(t0)
	db := openTest(t, Config{Now: clk.Now, RapidTap: RapidTapRule{
		MinGapAfterCompletion: 3 * time.Second, BurstLimit: 3, BurstWindow: time.Minute}})
	ctx := context.Background()
	tap := func() bool {
		t.Helper()
		rec, err := db.Record(ctx, response.Tap{Score: 10, Locale: "en"})
		if err != nil {
			t.Fatal(err)
		}
		mustComplete(t, db, rec.ID, response.FollowUp{Outcome: response.OutcomeSkipped})
		return rec.Suspect
	}
	steps := []struct {
		wait        time.Duration
		wantSuspect bool
	}{
		{0, false},               // first of the minute
		{2 * time.Second, true},  // within 3 s of the last thank-you
		{5 * time.Second, false}, // third in the minute, a fair gap
		{5 * time.Second, true},  // fourth in the minute: burst
		{2 * time.Minute, false}, // a new minute
	}
	for i, s := range steps {
		clk.Advance(s.wait)
		if got := tap(); got != s.wantSuspect {
			t.Errorf("tap %d after %s: suspect = %v, want %v", i, s.wait, got, s.wantSuspect)
		}
	}
	tally, err := db.Tally(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if tally.Total() != 3 || tally.Suspect != 2 {
		t.Errorf("tally = %+v, want 3 counted and 2 suspect", tally)
	}
}

func TestOpenRecoversResponsesLeftOpen(t *testing.T) {
	clk := newClock(t0)
	path := filepath.Join(t.TempDir(), "kiosk.db")
	db := openTest(t, Config{Path: path, Now: clk.Now})
	stale := mustRecord(t, db, 3)
	clk.Advance(9 * time.Minute)
	fresh := mustRecord(t, db, 9) // a live follow-up in another process
	db.Close()

	clk.Advance(2 * time.Minute)
	db = openTest(t, Config{Path: path, Now: clk.Now})
	ctx := context.Background()
	if r, _ := db.Get(ctx, stale); r.Outcome != response.OutcomeRecovered || !r.CompletedAt.Equal(clk.Now()) {
		t.Errorf("stale open response after Open: %+v, want recovered", r)
	}
	if r, _ := db.Get(ctx, fresh); r.Outcome != "" {
		t.Errorf("recent open response after Open: %+v, want still open", r)
	}
	if n, err := db.RecoverOpen(ctx, 0); err != nil || n != 1 {
		t.Errorf("RecoverOpen(0) = %d, %v; want 1", n, err)
	}
	if pending, _ := db.Pending(ctx, 10); len(pending) != 2 {
		t.Errorf("recovered responses pending = %d, want 2", len(pending))
	}
}

func TestOutbox(t *testing.T) {
	clk := newClock(t0)
	db := openTest(t, Config{Now: clk.Now, RapidTap: noRapid})
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		clk.Advance(time.Minute)
		id := mustRecord(t, db, i)
		mustComplete(t, db, id, response.FollowUp{Outcome: response.OutcomeSkipped})
		ids = append(ids, id)
	}
	openID := mustRecord(t, db, 10) // open: never pending

	got, err := db.Pending(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != ids[0] || got[2].ID != ids[2] {
		t.Fatalf("Pending(3) = %v, want the three oldest", responseIDs(got))
	}
	if n, err := db.MarkSynced(ctx, ids[:2]); err != nil || n != 2 {
		t.Fatalf("MarkSynced = %d, %v", n, err)
	}
	// The same ack again, and an open response's id: nothing changes.
	if n, err := db.MarkSynced(ctx, append(ids[:2:2], openID)); err != nil || n != 0 {
		t.Fatalf("MarkSynced again = %d, %v; want 0", n, err)
	}
	if err := db.Quarantine(ctx, ids[2], "unknown reason key"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{ids[0], openID, ids[2]} { // synced, open, already quarantined
		if err := db.Quarantine(ctx, id, "x"); !errors.Is(err, ErrNotQuarantine) {
			t.Errorf("Quarantine(%s) error = %v, want ErrNotQuarantine", id, err)
		}
	}
	got, err = db.Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(responseIDs(got), ",") != strings.Join(ids[3:], ",") {
		t.Errorf("Pending after ack = %v, want %v", responseIDs(got), ids[3:])
	}
	stats, err := db.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := OutboxStats{Pending: 2, OldestPending: t0.Add(4 * time.Minute), Open: 1, Quarantined: 1, Synced: 2}
	if !stats.OldestPending.Equal(want.OldestPending) {
		t.Errorf("OldestPending = %v, want %v", stats.OldestPending, want.OldestPending)
	}
	stats.OldestPending = want.OldestPending
	if stats != want {
		t.Errorf("Outbox = %+v, want %+v", stats, want)
	}
	q, err := db.Quarantined(ctx, 10)
	if err != nil || len(q) != 1 || q[0].ID != ids[2] || q[0].Reason != "unknown reason key" || q[0].Score != 2 {
		t.Errorf("Quarantined = %+v, %v", q, err)
	}
}

func responseIDs(rs []Response) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestStats(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	// 22:30 UTC on 19 Nov is 23:30 in Berlin; 23:30 UTC is already 20 Nov there.
	start := time.Date(2026, 11, 19, 22, 30, 0, 0, time.UTC)
	clk := newClock(start)
	db := openTest(t, Config{Now: clk.Now, RapidTap: noRapid})
	ctx := context.Background()
	add := func(score int, reasons []string, comment string) {
		t.Helper()
		id := mustRecord(t, db, score)
		mustComplete(t, db, id, response.FollowUp{Outcome: response.OutcomeSubmitted, Reasons: reasons, Comment: comment})
	}
	add(10, []string{"staff"}, "great")              // 19 Nov Berlin
	add(3, []string{"price", "wait_time"}, "pricey") // 19 Nov Berlin
	clk.Advance(time.Hour)                           // 23:30 UTC = 00:30 on 20 Nov in Berlin
	add(9, []string{"staff"}, "")
	add(7, nil, "fine")
	add(0, []string{"wait_time"}, "awful")
	clk.Advance(48 * time.Hour) // 22 Nov
	add(8, []string{"staff"}, "ok")

	tally, err := db.Tally(ctx, start, clk.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want := (nps.Tally{Promoters: 2, Passives: 2, Detractors: 2}); tally.Tally != want {
		t.Errorf("Tally = %+v, want %+v", tally.Tally, want)
	}

	days, err := db.Daily(ctx, start, clk.Now(), berlin)
	if err != nil {
		t.Fatal(err)
	}
	wantDays := []struct {
		day   string
		tally nps.Tally
	}{
		{"2026-11-19", nps.Tally{Promoters: 1, Detractors: 1}},
		{"2026-11-20", nps.Tally{Promoters: 1, Passives: 1, Detractors: 1}},
		{"2026-11-21", nps.Tally{}},
		{"2026-11-22", nps.Tally{Passives: 1}},
	}
	if len(days) != len(wantDays) {
		t.Fatalf("Daily returned %d days, want %d: %+v", len(days), len(wantDays), days)
	}
	for i, w := range wantDays {
		if got := days[i].Day.Format("2006-01-02"); got != w.day || days[i].Tally != w.tally {
			t.Errorf("day %d = %s %+v, want %s %+v", i, got, days[i].Tally, w.day, w.tally)
		}
	}

	reasons, err := db.ReasonCounts(ctx, start, clk.Now().Add(time.Second), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(reasons) != 2 || reasons[0] != (ReasonCount{"staff", 3}) || reasons[1] != (ReasonCount{"wait_time", 2}) {
		t.Errorf("ReasonCounts = %+v", reasons)
	}

	comments, err := db.RecentComments(ctx, start, 10)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range comments {
		texts = append(texts, c.Text)
	}
	// Detractors first (newest first among them), then the rest newest first.
	if got := strings.Join(texts, ","); got != "awful,pricey,ok,fine,great" {
		t.Errorf("RecentComments order = %s", got)
	}
}

func TestPurgeRemovesOnlySyncedAndScrubsFiles(t *testing.T) {
	clk := newClock(t0)
	path := filepath.Join(t.TempDir(), "kiosk.db")
	db := openTest(t, Config{Path: path, Now: clk.Now, RapidTap: noRapid})
	ctx := context.Background()
	secret := "SECRET-COMMENT-7f3a"
	add := func(comment string) string {
		id := mustRecord(t, db, 5)
		mustComplete(t, db, id, response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: comment})
		return id
	}
	oldSynced := add(secret)
	oldUnsynced := add("keep me: not synced")
	oldQuarantined := add("keep me: quarantined")
	if _, err := db.MarkSynced(ctx, []string{oldSynced}); err != nil {
		t.Fatal(err)
	}
	if err := db.Quarantine(ctx, oldQuarantined, "rejected"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(40 * 24 * time.Hour)
	newSynced := add("recent")
	if _, err := db.MarkSynced(ctx, []string{newSynced}); err != nil {
		t.Fatal(err)
	}

	n, err := db.Purge(ctx, 30*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	for _, id := range []string{oldUnsynced, oldQuarantined, newSynced} {
		if _, err := db.Get(ctx, id); err != nil {
			t.Errorf("Purge removed %s: %v", id, err)
		}
	}
	if _, err := db.Get(ctx, oldSynced); !errors.Is(err, ErrNotFound) {
		t.Errorf("old synced response still there: %v", err)
	}
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("purged comment still readable in %s", filepath.Base(f))
		}
	}
}

func TestOpenRejectsCorruptDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiosk.db")
	db := openTest(t, Config{Path: path, RapidTap: noRapid})
	for i := range 300 {
		id := mustRecord(t, db, i%11)
		mustComplete(t, db, id, response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: strings.Repeat("x", 200)})
	}
	if err := db.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Scribble over the middle of the file, leaving the header intact.
	for i := 4096 + 100; i < len(b)-4096; i += 7 {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), Config{Path: path, Logger: quiet})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open(corrupt) error = %v, want ErrCorrupt", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiosk.db")
	db := openTest(t, Config{Path: path})
	if _, err := db.write.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := Open(context.Background(), Config{Path: path, Logger: quiet})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open error = %v, want ErrSchemaTooNew", err)
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiosk.db")
	for range 2 {
		db := openTest(t, Config{Path: path})
		var v int
		if err := db.read.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != SchemaVersion() {
			t.Errorf("user_version = %d, want %d", v, SchemaVersion())
		}
		db.Close()
	}
}

func TestSettings(t *testing.T) {
	db := openTest(t, Config{})
	ctx := context.Background()
	if _, ok, err := db.Setting(ctx, "pin"); ok || err != nil {
		t.Fatalf("Setting(missing) = %v, %v", ok, err)
	}
	for _, v := range []string{"one", "two"} {
		if err := db.SetSetting(ctx, "pin", v); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok, err := db.Setting(ctx, "pin"); v != "two" || !ok || err != nil {
		t.Errorf("Setting = %q, %v, %v", v, ok, err)
	}
}

// The store applies exactly the domain's rules: the shared invalid corpus gives the
// same errors here as in the response package and the collector, and writes nothing.
func TestInvalidCorpusGivesTheDomainErrors(t *testing.T) {
	db := openTest(t, Config{})
	ctx := context.Background()
	for _, tc := range response.InvalidCorpus() {
		err := db.Insert(ctx, tc.Response)
		if !errors.Is(err, ErrInvalidInput) || !strings.HasSuffix(err.Error(), ": "+tc.Error) {
			t.Errorf("%s: Insert = %v, want an error ending in %q", tc.Name, err, tc.Error)
		}
		if tc.Response.Tap().Validate() == nil {
			continue // a rule of the follow-up: Record has nothing to refuse
		}
		if _, err := db.Record(ctx, tc.Response.Tap()); err == nil || !strings.HasSuffix(err.Error(), ": "+tc.Error) {
			t.Errorf("%s: Record = %v, want an error ending in %q", tc.Name, err, tc.Error)
		}
	}
	if ob, err := db.Outbox(ctx); err != nil || ob.Pending+ob.Open+ob.Synced != 0 {
		t.Errorf("invalid input was written: %+v, %v", ob, err)
	}
}

// PendingAfter pages through the outbox in its order (created_at, then id, so responses
// tapped in the same millisecond are neither skipped nor repeated), leaving out what is
// synced or quarantined, the way the sync worker reads ahead of its acknowledgements.
func TestPendingAfterPagesInOutboxOrder(t *testing.T) {
	db := openTest(t, Config{RapidTap: noRapid})
	ctx := context.Background()
	// Three taps share each created_at; ids out of insert order within a time.
	ids := []string{"3", "1", "2", "6", "5", "4", "7"}
	for i, id := range ids {
		created := t0.Add(time.Duration(i/3) * time.Minute)
		r := Response{ID: "0192f6a4-0000-7000-8000-00000000000" + id, Score: i, Locale: "en", SurveyVersion: 1,
			CreatedAt: created, CompletedAt: created.Add(time.Second), Outcome: response.OutcomeSkipped}
		if err := db.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	key := func(s string) string { return "0192f6a4-0000-7000-8000-00000000000" + s }
	if err := db.Quarantine(ctx, key("5"), "unknown reason key"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MarkSynced(ctx, []string{key("2")}); err != nil {
		t.Fatal(err)
	}
	var pages [][]string
	var after OutboxKey
	for range 10 {
		got, err := db.PendingAfter(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		var page []string
		for _, r := range got {
			page = append(page, strings.TrimPrefix(r.ID, "0192f6a4-0000-7000-8000-00000000000"))
		}
		pages = append(pages, page)
		last := got[len(got)-1]
		after = OutboxKey{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	if got, want := fmt.Sprint(pages), "[[1 3] [4 6] [7]]"; got != want {
		t.Errorf("pages = %s, want %s", got, want)
	}
	// The zero key is Pending.
	got, err := db.PendingAfter(ctx, OutboxKey{}, 10)
	if err != nil || strings.Join(responseIDs(got), ",") != strings.Join([]string{key("1"), key("3"), key("4"), key("6"), key("7")}, ",") {
		t.Errorf("PendingAfter(zero) = %v, %v", responseIDs(got), err)
	}
}
