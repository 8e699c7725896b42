package collector_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/insight"
	"github.com/npskiosk/npskiosk/sync/wire"
)

func themesOf(tags storage.ResponseTags) map[string]int {
	out := map[string]int{}
	for _, m := range tags.Themes {
		out[m.Theme] = m.Polarity
	}
	return out
}

// TestTaggingAtIngest: a kiosk upload and a survey link answer are stored with their
// comment's themes (and picked reasons that are themes), sentiment and the worth-a-look
// flag; a response without a comment has no sentiment; the drivers report counts them.
func TestTaggingAtIngest(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, be collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: be})
		c.AddStore(t, storage.Store{ID: "S1"})
		d := c.Enroll(t, "S1", "Till 1")
		now := time.Now().Add(-time.Hour)
		angry := tap(10, "price")
		angry.CreatedAt, angry.CompletedAt = now, now.Add(10*time.Second)
		angry.Comment = "The queue was endless and the staff was rude"
		quiet := tap(8)
		quiet.CreatedAt, quiet.CompletedAt = now, now.Add(10*time.Second)
		if res, err := c.Service.IngestFromDevice(ctx, d.DeviceID, []wire.Response{angry, quiet}); err != nil || len(res.Accepted) != 2 {
			t.Fatalf("ingest: %+v, %v", res, err)
		}
		tags, err := c.DB.TagsOf(ctx, angry.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"staff": -1, "wait_time": -1, "price": 0} // price: a picked reason only
		if got := themesOf(tags); !mapsEqual(got, want) {
			t.Errorf("kiosk themes = %v, want %v", got, want)
		}
		if tags.Sentiment == nil || *tags.Sentiment != -1 || tags.SentimentScore == nil || *tags.SentimentScore > -0.5 || !tags.WorthALook || tags.Fingerprint == "" {
			t.Errorf("kiosk tags = %+v: want negative, worth a look, a fingerprint", tags)
		}
		if tags, err := c.DB.TagsOf(ctx, quiet.ID); err != nil || tags.Sentiment != nil || tags.SentimentScore != nil || tags.WorthALook || len(tags.Themes) != 0 {
			t.Errorf("no comment: %+v, %v; want no sentiment, no themes", tags, err)
		}

		l, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: "qr"})
		if err != nil {
			t.Fatal(err)
		}
		answer := tap(9)
		answer.CreatedAt, answer.CompletedAt = now, now.Add(10*time.Second)
		answer.Comment, answer.Locale = "Sehr freundliches Personal", "de"
		if res, err := c.Service.IngestFromLink(ctx, l, answer); err != nil || res != storage.Inserted {
			t.Fatalf("link answer: %v, %v", res, err)
		}
		tags, err = c.DB.TagsOf(ctx, answer.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := themesOf(tags); !mapsEqual(got, map[string]int{"staff": 1}) || tags.Sentiment == nil || *tags.Sentiment != 1 || tags.WorthALook {
			t.Errorf("link answer tags = %+v", tags)
		}

		day := now.UTC().Format(time.DateOnly)
		rep, err := c.Service.Drivers(ctx, storage.Filter{From: day, To: day}, storage.KindTheme, "en", 1)
		if err != nil {
			t.Fatal(err)
		}
		if rep.WorthALook != 1 || driverByKey(t, rep, "staff").N != 2 || driverByKey(t, rep, "wait_time").N != 1 {
			t.Errorf("drivers after ingest: worth a look %d, %+v", rep.WorthALook, rep.Drivers)
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestRevisionMovesThemeRollups: a link answer revised to another score, comment and
// reasons leaves its old themes' counts (and its worth-a-look count) and is counted once
// under its new ones.
func TestRevisionMovesThemeRollups(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, be collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: be})
		c.AddStore(t, storage.Store{ID: "S1"})
		l, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: "qr"})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().Add(-time.Hour)
		r := tap(3, "staff")
		r.CreatedAt, r.CompletedAt = now, now.Add(10*time.Second)
		r.Comment = "Wonderful friendly staff, perfect" // a 3 with praise: worth a look
		if _, err := c.Service.IngestFromLink(ctx, l, r); err != nil {
			t.Fatal(err)
		}
		day := now.UTC().Format(time.DateOnly)
		worth := func() int64 {
			n, err := c.DB.WorthALookCount(ctx, storage.Filter{From: day, To: day})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := worth(); n != 1 {
			t.Errorf("worth a look before: %d, want 1", n)
		}
		drivers := func(kind string) map[string]storage.NPSReport {
			rep, err := c.Service.Drivers(ctx, storage.Filter{From: day, To: day}, kind, "en", 1)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]storage.NPSReport{}
			for _, d := range rep.Drivers {
				out[d.Key] = d.With
			}
			return out
		}
		if got := drivers(storage.KindTheme); len(got) != 1 || got["staff"].Detractors != 1 {
			t.Fatalf("before: %+v", got)
		}
		r.Score, r.Reasons, r.Comment = 10, []string{"price"}, "Love the cheap prices"
		if rev, err := c.Service.ReviseFromLink(ctx, l, r); err != nil || !rev.Changed {
			t.Fatalf("revise: %+v, %v", rev, err)
		}
		for _, kind := range []string{storage.KindTheme, storage.KindReason} {
			got := drivers(kind)
			if len(got) != 1 || got["price"].Promoters != 1 || got["price"].Responses != 1 {
				t.Errorf("%s after the revision: %+v; want price once, a promoter, and no staff", kind, got)
			}
		}
		if n := worth(); n != 0 {
			t.Errorf("worth a look after: %d, want 0", n)
		}
		if tags, err := c.DB.TagsOf(ctx, r.ID); err != nil || !mapsEqual(themesOf(tags), map[string]int{"price": 1}) {
			t.Errorf("tags after the revision: %+v, %v", tags, err)
		}
	})
}

// coffeeSurvey is the default survey with a taxonomy of one theme of its own.
func coffeeSurvey(t *testing.T) wire.Survey {
	t.Helper()
	s, err := assets.DefaultSurvey()
	if err != nil {
		t.Fatal(err)
	}
	s.Themes = []insight.Theme{{Key: "coffee", Labels: map[string]string{"en": "Coffee", "de": "Kaffee"},
		Terms: map[string]insight.Terms{"en": {Keywords: []string{"coffee"}}, "de": {Keywords: []string{"kaffee"}}}}}
	return s
}

// seedComments stores n responses of store S1 in one kiosk upload, every other one
// with a comment about coffee and the staff.
func seedComments(t *testing.T, c *collectortest.Collector, n int) time.Time {
	t.Helper()
	c.AddStore(t, storage.Store{ID: "S1"})
	d := c.Enroll(t, "S1", "Till 1")
	now := time.Now().Add(-time.Hour)
	var batch []wire.Response
	for i := range n {
		r := tap(2)
		r.CreatedAt, r.CompletedAt = now, now.Add(10*time.Second)
		if i%2 == 0 {
			r.Comment = "The coffee was cold and the staff was rude"
		}
		batch = append(batch, r)
	}
	if res, err := c.Service.IngestFromDevice(context.Background(), d.DeviceID, batch); err != nil || len(res.Accepted) != n {
		t.Fatalf("ingest: %d accepted, %v", len(res.Accepted), err)
	}
	return now
}

// TestRetagAfterTaxonomyChange: a new taxonomy in a store's survey starts a job that
// re-tags its responses in batches, reports its progress (done of total, also at GET
// /v1/reports/themes/status) and rebuilds the theme rollups: the old themes' counts go,
// the new theme's come.
func TestRetagAfterTaxonomyChange(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, be collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: be})
		now := seedComments(t, c, 25)
		day := now.UTC().Format(time.DateOnly)
		counts := func() map[string]int64 {
			rep, err := c.Service.Drivers(ctx, storage.Filter{From: day, To: day}, storage.KindTheme, "en", 1)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int64{}
			for _, d := range rep.Drivers {
				out[d.Key] = d.N
			}
			return out
		}
		if got := counts(); got["staff"] != 13 || got["coffee"] != 0 {
			t.Fatalf("before: %v", got)
		}
		// The worker's first scan notes the taxonomy the store's responses have: no work.
		if _, err := c.Service.SyncThemeJobs(ctx, nil, false); err != nil {
			t.Fatal(err)
		}
		if err := c.Service.RunThemeJobs(ctx, "test", "", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Service.SetSurvey(ctx, coffeeSurvey(t), []string{"S1"}); err != nil {
			t.Fatal(err)
		}
		status := themesStatus(t, c)
		if status.Finished || status.Total != 25 || status.Done != 0 {
			t.Errorf("status before running: %+v", status)
		}
		collector.SetRetagBatch(c.Service, 10)
		var seen []int64
		if err := c.Service.RunThemeJobs(ctx, "test", "", func(j storage.ThemeJob) { seen = append(seen, j.Done) }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seen, []int64{10, 20, 25}) {
			t.Errorf("progress = %v, want 10, 20, 25", seen)
		}
		if got := counts(); got["coffee"] != 13 || got["staff"] != 0 || len(got) != 1 {
			t.Errorf("after re-tagging: %v; want coffee 13 and nothing else", got)
		}
		status = themesStatus(t, c)
		if !status.Finished || status.Done != 25 || status.Total != 25 {
			t.Errorf("status after: %+v", status)
		}
	})
}

type themesStatusReply struct {
	Done, Total int64
	Finished    bool
	Jobs        []storage.ThemeJob
}

func themesStatus(t *testing.T, c *collectortest.Collector) themesStatusReply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.URL+"/v1/reports/themes/status", nil)
	req.Header.Set("Authorization", "Bearer "+c.APIToken(t, ""))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out themesStatusReply
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("themes status: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRetagRunsOnce: two collectors on one database running the re-tagging job at once
// never both re-tag a store: every batch's progress is seen once, by one of them, and
// the rollups count each response once.
func TestRetagRunsOnce(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, be collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: be})
		other := collectortest.Start(t, collectortest.Options{Backend: be, DB: c.Path})
		now := seedComments(t, c, 60)
		if _, err := c.Service.SetSurvey(ctx, coffeeSurvey(t), []string{"S1"}); err != nil {
			t.Fatal(err)
		}
		var (
			mu   sync.Mutex
			seen = map[string][]int64{}
			wg   sync.WaitGroup
		)
		for i, svc := range []*collector.Service{c.Service, other.Service} {
			collector.SetRetagBatch(svc, 5)
			owner := []string{"one", "two"}[i]
			wg.Go(func() {
				err := svc.RunThemeJobs(ctx, owner, "", func(j storage.ThemeJob) {
					mu.Lock()
					seen[owner] = append(seen[owner], j.Done)
					mu.Unlock()
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(seen) != 1 {
			t.Errorf("both collectors re-tagged: %v", seen)
		}
		for _, done := range seen {
			// 12 full batches, then an empty one that finds nothing left.
			want := []int64{5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 60}
			if !slices.Equal(done, want) {
				t.Errorf("progress %v, want %v", done, want)
			}
		}
		day := now.UTC().Format(time.DateOnly)
		rep, err := c.Service.Drivers(ctx, storage.Filter{From: day, To: day}, storage.KindTheme, "en", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Drivers) != 1 || rep.Drivers[0].N != 30 {
			t.Errorf("after re-tagging: %+v; want coffee 30", rep.Drivers)
		}
	})
}

// TestRetagResumesAfterACrash: a collector that stops mid-job keeps its lease until it
// runs out, so no other collector takes the job before; then another resumes after the
// last batch done, not from the start, and the counts come out right.
func TestRetagResumesAfterACrash(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, be collectortest.Backend) {
		ctx := context.Background()
		var (
			mu   sync.Mutex
			skew time.Duration
		)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) }
		c := collectortest.Start(t, collectortest.Options{Backend: be, Now: clock})
		now := seedComments(t, c, 25)
		if _, err := c.Service.SetSurvey(ctx, coffeeSurvey(t), []string{"S1"}); err != nil {
			t.Fatal(err)
		}
		collector.SetRetagBatch(c.Service, 10)
		crash, stop := context.WithCancel(ctx)
		var first []int64
		err := c.Service.RunThemeJobs(crash, "one", "", func(j storage.ThemeJob) { first = append(first, j.Done); stop() })
		if err == nil || !slices.Equal(first, []int64{10}) {
			t.Fatalf("the crashed run: %v, progress %v", err, first)
		}
		var second []int64
		record := func(j storage.ThemeJob) { second = append(second, j.Done) }
		if err := c.Service.RunThemeJobs(ctx, "two", "", record); err != nil || len(second) != 0 {
			t.Fatalf("another collector took a leased job: %v, progress %v", err, second)
		}
		mu.Lock()
		skew = 2 * time.Minute // the lease (a minute) runs out
		mu.Unlock()
		if err := c.Service.RunThemeJobs(ctx, "two", "", record); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(second, []int64{20, 25}) {
			t.Errorf("resumed progress %v, want 20, 25", second)
		}
		day := now.UTC().Format(time.DateOnly)
		rep, err := c.Service.Drivers(ctx, storage.Filter{From: day, To: day}, storage.KindTheme, "en", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Drivers) != 1 || rep.Drivers[0].Key != "coffee" || rep.Drivers[0].N != 13 {
			t.Errorf("after resuming: %+v; want coffee 13", rep.Drivers)
		}
	})
}
