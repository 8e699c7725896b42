package collector_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// summary writes a report in one line per question: answered (promoters/passives/
// detractors), each value's counts, a rating's means, a text's latest per category.
func summary(rep collector.QuestionsReport) string {
	var b strings.Builder
	counts := func(c collector.CategoryCounts) string {
		return fmt.Sprintf("%d (%d/%d/%d)", c.Total, c.Promoters, c.Passives, c.Detractors)
	}
	mean := func(m *float64) string {
		if m == nil {
			return "-"
		}
		return fmt.Sprintf("%.4f", *m)
	}
	for _, q := range rep.Questions {
		fmt.Fprintf(&b, "%s %s %q: %s", q.Key, q.Kind, q.Label, counts(q.Answered))
		for _, v := range q.Values {
			fmt.Fprintf(&b, "; %s %s", v.Label, counts(v.CategoryCounts))
		}
		if m := q.Means; m != nil {
			fmt.Fprintf(&b, "; mean %s (%s/%s/%s)", mean(m.All), mean(m.Promoters), mean(m.Passives), mean(m.Detractors))
		}
		if tx := q.Texts; tx != nil {
			for _, list := range [][]storage.AnswerText{tx.Promoters, tx.Passives, tx.Detractors} {
				var texts []string
				for _, t := range list {
					texts = append(texts, fmt.Sprintf("%s %d %s", t.Text, t.Score, t.Category))
				}
				fmt.Fprintf(&b, "; [%s]", strings.Join(texts, " | "))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// The questions report of a fixed, hand-counted set of answers (collectortest.SeedQuestions)
// matches the hand counts on SQLite and PostgreSQL, for the chain, a channel, a
// touchpoint and a store; a suspect response is left out.
func TestQuestionsReportMatchesHandCounts(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		collectortest.SeedQuestions(t, c)
		ctx := context.Background()
		today := c.DB.Now().UTC()
		days := storage.Filter{From: today.AddDate(0, 0, -2).Format(time.DateOnly), To: today.AddDate(0, 0, 1).Format(time.DateOnly)}
		with := func(change func(*storage.Filter)) storage.Filter {
			f := days
			change(&f)
			return f
		}
		tests := []struct {
			name   string
			filter storage.Filter
			want   string
		}{
			{"every store", days, `found single "Did you find everything?": 6 (3/1/2); Yes 2 (2/0/0); Partly 2 (1/1/0); No 2 (0/0/2)
topics multi "What did you shop for?": 4 (2/1/1); Food & drink 2 (1/1/0); Home 2 (1/0/1); Gifts 1 (1/0/0)
speed rating "How quick was checkout?": 7 (3/1/3); 1 2 (0/0/2); 2 1 (0/0/1); 3 1 (0/1/0); 4 1 (1/0/0); 5 2 (2/0/0); mean 3.0000 (4.6667/3.0000/1.3333)
improve text "One thing to do better <i>?</i>": 3 (1/1/1); [More tills 9 promoter]; [=cmd|' /C calc'!A0 7 passive]; [Queue too long <b> 2 detractor]
`},
			{"region West", with(func(f *storage.Filter) { f.Region = "West" }), ""}, // the same as every store: filled in below
			{"QR codes: the kiosks' question is not asked there", with(func(f *storage.Filter) { f.Channel = "qr" }),
				`topics multi "What did you shop for?": 1 (1/0/0); Food & drink 0 (0/0/0); Home 0 (0/0/0); Gifts 1 (1/0/0)
speed rating "How quick was checkout?": 1 (0/0/1); 1 1 (0/0/1); 2 0 (0/0/0); 3 0 (0/0/0); 4 0 (0/0/0); 5 0 (0/0/0); mean 1.0000 (-/-/1.0000)
improve text "One thing to do better <i>?</i>": 3 (1/1/1); [More tills 9 promoter]; [=cmd|' /C calc'!A0 7 passive]; [Queue too long <b> 2 detractor]
`},
			{"kiosks: the QR codes' question is not asked there", with(func(f *storage.Filter) { f.Channel = "kiosk" }),
				`found single "Did you find everything?": 6 (3/1/2); Yes 2 (2/0/0); Partly 2 (1/1/0); No 2 (0/0/2)
topics multi "What did you shop for?": 3 (1/1/1); Food & drink 2 (1/1/0); Home 2 (1/0/1); Gifts 0 (0/0/0)
speed rating "How quick was checkout?": 6 (3/1/2); 1 1 (0/0/1); 2 1 (0/0/1); 3 1 (0/1/0); 4 1 (1/0/0); 5 2 (2/0/0); mean 3.3333 (4.6667/3.0000/1.5000)
`},
			{"store Q2", with(func(f *storage.Filter) { f.StoreID = "Q2" }),
				`found single "Did you find everything?": 1 (1/0/0); Yes 0 (0/0/0); Partly 1 (1/0/0); No 0 (0/0/0)
topics multi "What did you shop for?": 0 (0/0/0); Food & drink 0 (0/0/0); Home 0 (0/0/0); Gifts 0 (0/0/0)
speed rating "How quick was checkout?": 1 (1/0/0); 1 0 (0/0/0); 2 0 (0/0/0); 3 0 (0/0/0); 4 0 (0/0/0); 5 1 (1/0/0); mean 5.0000 (5.0000/-/-)
improve text "One thing to do better <i>?</i>": 0 (0/0/0); []; []; []
`},
			{"a store without questions", with(func(f *storage.Filter) { f.StoreID = "NOPE" }), ""},
			{"another period", storage.Filter{From: "2020-01-01", To: "2020-01-31"},
				`found single "Did you find everything?": 0 (0/0/0); Yes 0 (0/0/0); Partly 0 (0/0/0); No 0 (0/0/0)
topics multi "What did you shop for?": 0 (0/0/0); Food & drink 0 (0/0/0); Home 0 (0/0/0); Gifts 0 (0/0/0)
speed rating "How quick was checkout?": 0 (0/0/0); 1 0 (0/0/0); 2 0 (0/0/0); 3 0 (0/0/0); 4 0 (0/0/0); 5 0 (0/0/0); mean - (-/-/-)
improve text "One thing to do better <i>?</i>": 0 (0/0/0); []; []; []
`},
		}
		tests[1].want = tests[0].want
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rep, err := c.Service.QuestionsReport(ctx, tt.filter, 5)
				if err != nil {
					t.Fatal(err)
				}
				if got := summary(rep); got != tt.want {
					t.Errorf("got\n%s\nwant\n%s", got, tt.want)
				}
			})
		}
	})
}

// The number of texts per category is bounded, and a text's answers come newest first.
func TestQuestionsReportTextsPerCategory(t *testing.T) {
	c := collectortest.Start(t, collectortest.Options{})
	link := collectortest.SeedQuestions(t, c)
	ctx := context.Background()
	f := storage.Filter{From: "2000-01-01", To: "2999-12-31"}
	for i, text := range []string{"Second", "Third"} {
		r := collectortest.Response(rand.New(rand.NewPCG(1, 1)), c.DB.Now().Add(time.Duration(i-2)*time.Minute))
		r.Score, r.Answers = 10, map[string][]string{"improve": {text}}
		if _, err := c.Service.IngestFromLink(ctx, link, r); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := c.Service.QuestionsReport(ctx, f, 2)
	if err != nil {
		t.Fatal(err)
	}
	improve := rep.Questions[3]
	var got []string
	for _, tx := range improve.Texts.Promoters {
		got = append(got, tx.Text)
	}
	if strings.Join(got, ",") != "Third,Second" || improve.Answered.Promoters != 3 {
		t.Errorf("promoters' texts %v of %d, want Third,Second of 3", got, improve.Answered.Promoters)
	}
	for _, n := range []int{-1, collector.MaxTextsPerCategory + 1} {
		if _, err := c.Service.QuestionsReport(ctx, f, n); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("%d texts per category: %v, want ErrInvalid", n, err)
		}
	}
}
