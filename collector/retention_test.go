package collector_test

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

// retentionClock is the collector's clock, moved by the test.
type retentionClock struct{ ns atomic.Int64 }

func (c *retentionClock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *retentionClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// commented stores n responses with a comment and a contact, tapped at at.
func commented(t *testing.T, c *collectortest.Collector, device string, at time.Time, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(at.Unix()), 1))
	var batch []storage.NewResponse
	for i := range n {
		r := collectortest.Response(rng, at.Add(time.Duration(i)*time.Second))
		r.Score, r.Comment, r.Contact, r.ContactConsent = 9, fmt.Sprintf("comment %d", i), "a@example.com", true
		batch = append(batch, storage.NewResponse{Response: r, Day: at.Format(time.DateOnly), Hash: r.ID})
	}
	if _, err := c.DB.InsertBatch(context.Background(), storage.Origin{StoreID: "S001", DeviceID: device}, batch); err != nil {
		t.Fatal(err)
	}
}

func TestRunRetentionPurgesAtStartAndEachRoundUntilCancelled(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		start := time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC)
		clock := &retentionClock{}
		clock.set(start.AddDate(0, 0, -400))
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: clock.now})
		c.AddStore(t, storage.Store{ID: "S001"})
		dev := c.Enroll(t, "S001", "Till 1").DeviceID
		commented(t, c, dev, clock.now(), 4) // 400 days before start
		clock.set(start.AddDate(0, 0, -200))
		commented(t, c, dev, clock.now(), 3) // 200 days before start
		clock.set(start)
		if err := c.DB.SetRetentionPolicy(ctx, storage.RetentionPolicy{CommentsDays: 365, ContactsDays: 365}); err != nil {
			t.Fatal(err)
		}

		// The job's timer is the test's: each round asks for it, and waits for a tick.
		asked, tick := make(chan time.Duration), make(chan time.Time)
		after := func(d time.Duration) <-chan time.Time { asked <- d; return tick }
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Service.RunRetention(runCtx, "test-owner", 24*time.Hour, after) }()

		lastRun := func(wantComments int64) {
			t.Helper()
			select {
			case d := <-asked:
				if d != 24*time.Hour {
					t.Fatalf("the job waits %s, want 24h", d)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the job did not finish a round")
			}
			run, ok, err := c.DB.LastRetentionRun(ctx)
			if err != nil || !ok {
				t.Fatalf("last run: %v %v", ok, err)
			}
			if run.Counts.Comments != wantComments || run.Counts.Contacts != wantComments || !run.StartedAt.Equal(clock.now()) {
				t.Fatalf("last run %+v, want %d comments and contacts at %s", run, wantComments, clock.now())
			}
		}
		lastRun(4) // at start: the 400-day-old ones

		clock.set(start.AddDate(0, 0, 200)) // the others are 400 days old now
		tick <- clock.now()
		lastRun(3)

		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("RunRetention returned %v, want context.Canceled", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("RunRetention did not stop with its context")
		}
	})
}

func TestPurgeNow(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		now := time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC)
		clock := &retentionClock{}
		clock.set(now.AddDate(-2, 0, 0))
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: clock.now})
		c.AddStore(t, storage.Store{ID: "S001"})
		commented(t, c, c.Enroll(t, "S001", "Till 1").DeviceID, clock.now(), 5)
		clock.set(now)

		// No policy: nothing purged, nothing recorded.
		if got, err := c.Service.PurgeNow(ctx, "me", false); err != nil || got.Total() != 0 {
			t.Fatalf("purge without a policy: %+v %v", got, err)
		}
		if err := c.DB.SetRetentionPolicy(ctx, storage.RetentionPolicy{ContactsDays: 30}); err != nil {
			t.Fatal(err)
		}
		dry, err := c.Service.PurgeNow(ctx, "me", true)
		if err != nil || dry.Contacts != 5 || dry.Comments != 0 {
			t.Fatalf("dry run: %+v %v", dry, err)
		}
		if _, ok, _ := c.DB.LastRetentionRun(ctx); ok {
			t.Fatal("a dry run shows as the last run")
		}
		// Another collector purging: this one skips, with ErrRetentionBusy.
		if ok, err := c.DB.ClaimRetentionLease(ctx, "other", time.Minute); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if _, err := c.Service.PurgeNow(ctx, "me", false); !errors.Is(err, storage.ErrRetentionBusy) {
			t.Fatalf("purge while another purges: %v", err)
		}
		c.DB.ReleaseRetentionLease(ctx, "other")
		got, err := c.Service.PurgeNow(ctx, "me", false)
		if err != nil || got.Contacts != 5 {
			t.Fatalf("purge: %+v %v", got, err)
		}
		st, err := c.Service.RetentionStatus(ctx)
		if err != nil || st.LastRun == nil || st.LastRun.Counts.Contacts != 5 || st.Totals.Contacts != 5 || st.DBBytes <= 0 || st.Policy.ContactsDays != 30 {
			t.Fatalf("status %+v %v", st, err)
		}
	})
}

// TestRetagKeepsPurgedResponsesThemes: a response whose comment retention blanked keeps
// the themes it was counted under when a new taxonomy re-tags the store, so the theme
// reports stay as they were, and the job still finishes.
func TestRetagKeepsPurgedResponsesThemes(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		clock := &retentionClock{}
		clock.set(time.Now())
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: clock.now})
		at := seedComments(t, c, 10)
		day := at.UTC().Format(time.DateOnly)
		tallies := func() []storage.ThemeTally {
			t.Helper()
			out, err := c.DB.ThemeTallies(ctx, storage.Filter{From: day, To: day}, storage.KindTheme, true)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		before := tallies()
		if len(before) == 0 {
			t.Fatal("the fixture's comments have no themes")
		}
		clock.set(time.Now().AddDate(0, 0, 400))
		if err := c.DB.SetRetentionPolicy(ctx, storage.RetentionPolicy{CommentsDays: 365}); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Service.PurgeNow(ctx, "test", false); err != nil || got.Comments != 5 {
			t.Fatalf("purge: %+v %v", got, err)
		}
		if _, err := c.Service.SetSurvey(ctx, coffeeSurvey(t), []string{"S1"}); err != nil {
			t.Fatal(err)
		}
		if err := c.Service.RunThemeJobs(ctx, "test", "", nil); err != nil {
			t.Fatal(err)
		}
		jobs, err := c.DB.ThemeJobs(ctx)
		if err != nil || len(jobs) != 1 || !jobs[0].Finished() {
			t.Fatalf("re-tagging jobs %+v, %v; want one, finished", jobs, err)
		}
		if after := tallies(); !reflect.DeepEqual(before, after) {
			t.Fatalf("theme tallies changed by re-tagging purged responses:\nbefore %+v\nafter  %+v", before, after)
		}
	})
}
