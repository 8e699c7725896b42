package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// commentsFixture is 1,000 commented responses in two stores, seven to a millisecond (so
// that paging must break ties by id), plus responses without a comment: five with a
// contact (listed) and five without (not listed). Three of the thousand, far apart, are
// detractors in S002 on the qr channel with the queue theme; a few carry texts the
// search tests look for.
type commentsFixture struct {
	c       *collectortest.Collector
	listed  []string // every listed response id
	queue3  []string // the three queue detractors
	contact []string // the responses with a consented contact
	from    string
}

var searchTexts = map[int]string{
	100: "Café très bon, merci",
	200: "The queue was long today",
	300: "Long queue at the till, the queue never moved",
	400: "Größe passt nicht: zu klein",
	500: "prices: 10% off? \"great\" -deal*",
}

func seedComments(t *testing.T, b collectortest.Backend) commentsFixture {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return t0.Add(48 * time.Hour) }})
	c.AddStore(t, storage.Store{ID: "S001", Region: "North"})
	c.AddStore(t, storage.Store{ID: "S002", Region: "South"})
	devs := map[string]string{"S001": c.Enroll(t, "S001", "Till 1").DeviceID, "S002": c.Enroll(t, "S002", "Till 1").DeviceID}
	rng := rand.New(rand.NewPCG(3, 4))
	f := commentsFixture{c: c, from: t0.Format(time.DateOnly)}
	batches := map[string][]storage.NewResponse{}
	for i := range 1010 {
		at := t0.Add(time.Duration(i/7) * time.Millisecond * 1000)
		r := collectortest.Response(rng, at)
		r.Score = 7 + rng.IntN(4)
		r.Comment = fmt.Sprintf("Comment number %d", i)
		r.Channel = "kiosk"
		store := []string{"S001", "S002"}[i%2]
		tags := &storage.Tags{Fingerprint: "test", HasSentiment: true, Sentiment: 1, SentimentScore: 0.5}
		if s, ok := searchTexts[i]; ok {
			r.Comment = s
		}
		switch i {
		case 11, 501, 989:
			store, r.Score, r.Channel = "S002", 3, "qr"
			tags.Sentiment = -1
			tags.Themes = []storage.ThemeMention{{Theme: "queue", Polarity: -1}}
		}
		switch {
		case i >= 1000 && i < 1005: // a contact, no comment: listed
			r.Comment, r.Contact, r.ContactConsent = "", fmt.Sprintf("shopper%d@example.com", i), true
			tags = nil
		case i >= 1005: // neither: not listed
			r.Comment = ""
			tags = nil
		case i%97 == 0: // a comment and a contact
			r.Contact, r.ContactConsent = "both@example.com", true
		}
		if r.Contact != "" {
			f.contact = append(f.contact, r.ID)
		}
		if r.Comment != "" || r.Contact != "" {
			f.listed = append(f.listed, r.ID)
		}
		if r.Channel == "qr" {
			f.queue3 = append(f.queue3, r.ID)
		}
		batches[store] = append(batches[store], storage.NewResponse{Response: r, Day: at.Format(time.DateOnly), Hash: r.ID, Tags: tags})
	}
	for store, batch := range batches {
		if _, err := c.DB.InsertBatch(ctx, storage.Origin{StoreID: store, DeviceID: devs[store]}, batch); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f commentsFixture) filter() storage.Filter {
	return storage.Filter{From: f.from, To: "2026-05-10"}
}

// allPages follows the Next cursors from the first page to the last.
func allPages(t *testing.T, db *storage.DB, cf storage.CommentFilter) []storage.Comment {
	t.Helper()
	var out []storage.Comment
	for pages := 0; ; pages++ {
		if pages > 2000 {
			t.Fatal("paging does not end")
		}
		p, err := db.CommentsPage(context.Background(), cf)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Comments) > max(cf.Limit, 1) {
			t.Fatalf("page of %d comments, limit %d", len(p.Comments), cf.Limit)
		}
		out = append(out, p.Comments...)
		if p.Next == "" {
			return out
		}
		cf.After = p.Next
	}
}

func ids(cs []storage.Comment) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("%s: %s listed twice", what, id)
		}
		seen[id] = true
	}
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(slices.Compact(g), w) {
		t.Errorf("%s: got %d ids, want %d", what, len(slices.Compact(g)), len(w))
	}
}

// TestCommentsPaging: keyset paging visits every listed response exactly once, newest
// first, with seven responses to each created_at; contacts without a comment are
// listed, responses with neither are not; every filter is applied before the page is
// cut, so a filter matching 3 of 1,000 returns exactly 3, across pages.
func TestCommentsPaging(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		f := seedComments(t, b)
		db := f.c.DB
		all := allPages(t, db, storage.CommentFilter{Filter: f.filter(), Limit: 37})
		sameSet(t, "every comment", ids(all), f.listed)
		if !slices.IsSortedFunc(all, func(a, b storage.Comment) int {
			if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(b.ID, a.ID)
		}) {
			t.Error("comments are not newest first, then by id")
		}
		noComment := 0
		for _, c := range all {
			if c.Comment == "" {
				noComment++
				if c.Contact == "" {
					t.Errorf("%s listed with neither a comment nor a contact", c.ID)
				}
			}
		}
		if noComment != 5 {
			t.Errorf("%d contacts without a comment listed, want 5", noComment)
		}

		score := &storage.ScoreRange{Min: 0, Max: 6}
		for name, cf := range map[string]storage.CommentFilter{
			"score":     {Filter: f.filter(), Scores: score},
			"category":  {Filter: f.filter(), Category: "detractor"},
			"theme":     {Filter: f.filter(), Theme: "queue"},
			"sentiment": {Filter: f.filter(), Sentiment: new(-1)},
			"channel":   {Filter: storage.Filter{From: f.from, To: "2026-05-10", Channel: "qr"}},
			"region":    {Filter: storage.Filter{From: f.from, To: "2026-05-10", Region: "South"}, Scores: score},
			"store":     {Filter: storage.Filter{From: f.from, To: "2026-05-10", StoreID: "S002"}, Theme: "queue", Scores: score},
		} {
			cf.Limit = 2
			got := allPages(t, db, cf)
			sameSet(t, name, ids(got), f.queue3)
			for _, c := range got {
				if !slices.Equal(c.Themes, []string{"queue"}) || c.Sentiment != "negative" {
					t.Errorf("%s: %s has themes %v, sentiment %q", name, c.ID, c.Themes, c.Sentiment)
				}
			}
		}
		none, err := db.Comments(context.Background(), storage.CommentFilter{Filter: storage.Filter{From: f.from, To: "2026-05-10", Region: "North"}, Theme: "queue"})
		if err != nil || len(none) != 0 {
			t.Errorf("queue comments in the North: %d, %v", len(none), err)
		}
		withContact := allPages(t, db, storage.CommentFilter{Filter: f.filter(), HasContact: true, Limit: 4})
		sameSet(t, "with contact", ids(withContact), f.contact)

		if _, err := db.CommentsPage(context.Background(), storage.CommentFilter{Filter: f.filter(), After: "not a cursor!"}); err == nil {
			t.Error("a made-up cursor was accepted")
		}
	})
}

// TestCommentSearch: words must all appear, a quoted phrase in order; case and accents
// do not matter; whatever a person types, the query does not fail.
func TestCommentSearch(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		f := seedComments(t, b)
		search := func(q string) []string {
			t.Helper()
			cs, err := f.c.DB.Comments(context.Background(), storage.CommentFilter{Filter: f.filter(), Text: q, Limit: 500})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			var out []string
			for _, c := range cs {
				out = append(out, c.Comment)
			}
			slices.Sort(out)
			return out
		}
		for q, want := range map[string][]string{
			"queue":                     {searchTexts[300], searchTexts[200]},
			"QUEUE long":                {searchTexts[300], searchTexts[200]},
			"queue today":               {searchTexts[200]},
			`"queue was long"`:          {searchTexts[200]},
			`"long queue"`:              {searchTexts[300]},
			"cafe":                      {searchTexts[100]},
			"CAFÉ TRES":                 {searchTexts[100]},
			"très":                      {searchTexts[100]},
			"number 999":                {"Comment number 999"},
			`"number 999`:               {"Comment number 999"}, // an unclosed quote
			"prices deal":               {searchTexts[500]},
			"queue nowhere-to-be-found": nil,
		} {
			slices.Sort(want)
			if got := search(q); !slices.Equal(got, want) {
				t.Errorf("search %q: got %q, want %q", q, got, want)
			}
		}
		for _, q := range []string{`"`, `""`, `"""`, `*`, `queue*`, `-queue`, `- -`, `NEAR`, `NEAR(queue long)`, `queue NEAR long`,
			`comment:queue`, `:`, `a:b`, `^queue`, `(`, `)`, `queue OR long`, `NOT queue`, `AND`, `'`, `\`, `;--`, `{}`, `!`, `&|`,
			`queue & long | x`, `<->`, "\x00"} {
			if _, err := f.c.DB.Comments(context.Background(), storage.CommentFilter{Filter: f.filter(), Text: q}); err != nil {
				t.Errorf("search %q failed: %v", q, err)
			}
		}
	})
}

// TestEachCommentStreamsAll: the export's reader is not paged: all 1,005 listed rows,
// filters applied.
func TestEachCommentStreamsAll(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		f := seedComments(t, b)
		var got []string
		var buf bytes.Buffer
		err := f.c.DB.EachComment(context.Background(), storage.CommentFilter{Filter: f.filter(), Limit: 10}, func(c storage.Comment) error {
			got = append(got, c.ID)
			buf.WriteString(c.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sameSet(t, "export", got, f.listed)
		got = got[:0]
		if err := f.c.DB.EachComment(context.Background(), storage.CommentFilter{Filter: f.filter(), Theme: "queue"}, func(c storage.Comment) error {
			got = append(got, c.ID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		sameSet(t, "export of a theme", got, f.queue3)
	})
}
