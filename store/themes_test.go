package store

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/insight"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
)

// themeAnswer is one answer of the theme figures' data set.
type themeAnswer struct {
	score   int
	reasons []string
	comment string
	locale  string
	suspect bool
	daysAgo int
}

// themeData is 20 answers counted (7 detractors, 3 passives, 10 promoters: NPS +15) and
// two that must not be: a suspect tap and one from before the period. With the default
// taxonomy:
//
//	#   score  tags                           how
//	1-3  2,2,2 wait_time                      comment (2 is German)
//	4    2     wait_time                      reason and comment: counted once
//	5    3     wait_time, staff               comment
//	6    5     cleanliness                    reason only
//	7    6     cleanliness, staff             reason, comment
//	8    7     wait_time                      comment
//	9    8     cleanliness                    reason only
//	10   8     –                              no comment
//	11   9     staff                          negated comment: "not rude" still mentions staff
//	12   10    wait_time, staff               "No waiting": a mention, however positive
//	13   10    staff                          comment
//	14   9     staff                          comment
//	15   10    staff                          reason only
//	16   10    cleanliness                    reason only
//	17   9     cleanliness                    reason only
//	18   10    price                          comment
//	19   9     price                          comment
//	20   10    –                              no comment
var themeData = []themeAnswer{
	{score: 2, comment: "The queue was far too long", locale: "en"},
	{score: 2, comment: "Die Schlange war viel zu lang", locale: "de"},
	{score: 2, comment: "Waited forever in line", locale: "en"},
	{score: 2, reasons: []string{"wait_time"}, comment: "Only one till open, the queue never moved", locale: "en"},
	{score: 3, comment: "Waited 20 minutes in line, cashier rude", locale: "en"},
	{score: 5, reasons: []string{"cleanliness"}, locale: "en"},
	{score: 6, reasons: []string{"cleanliness"}, comment: "The cashier ignored me", locale: "en"},
	{score: 7, comment: "Long queue but fine", locale: "en"},
	{score: 8, reasons: []string{"cleanliness"}, locale: "fr"},
	{score: 8, locale: "en"},
	{score: 9, comment: "Staff were not rude", locale: "en"},
	{score: 10, comment: "No waiting at all, staff very kind", locale: "en"},
	{score: 10, comment: "Lovely staff", locale: "en"},
	{score: 9, comment: "The cashier was kind", locale: "en"},
	{score: 10, reasons: []string{"staff"}, locale: "es"},
	{score: 10, reasons: []string{"cleanliness"}, locale: "en"},
	{score: 9, reasons: []string{"cleanliness"}, locale: "de"},
	{score: 10, comment: "Good deals", locale: "en"},
	{score: 9, comment: "Nice offers", locale: "en"},
	{score: 10, locale: "en"},
	// Left out: a suspect tap, and an answer from before the 30 days.
	{score: 0, comment: "The queue was far too long", reasons: []string{"price"}, locale: "en", suspect: true},
	{score: 0, comment: "Dirty floors", reasons: []string{"cleanliness"}, locale: "en", daysAgo: 30},
}

func insertThemeData(t testing.TB, db *DB, now time.Time, data []themeAnswer) {
	t.Helper()
	ctx := context.Background()
	for i, a := range data {
		at := now.Add(-time.Duration(i%500+1)*time.Minute).AddDate(0, 0, -a.daysAgo)
		r := Response{ID: uuid.Must(uuid.NewV7()).String(), Score: a.score, Reasons: a.reasons,
			Comment: a.comment, Locale: a.locale, SurveyVersion: 1, CreatedAt: at,
			CompletedAt: at.Add(10 * time.Second), Outcome: response.OutcomeSubmitted, Suspect: a.suspect}
		if err := db.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

// TestThemeFigures checks every figure against the data set above, counted by hand, with
// a minimum of 5 answers. Impact is the theme's detractors out of all 20 answers;
// margins are 1.96·√(p(1−p)/n) for a share and √(moe₁² + moe₂²) for a difference, with
// moe = 1.96·√((p + d − (p − d)²)/n).
//
//	wait_time    with  P1 p1 D5 (n 7): NPS (1−5)/7 = −57.1   without P9 p2 D2 (n 13): +53.8
//	             Δ −111.0 ± √(0.5306/7 + 0.5562/13)·196 = ± 67.5: significant
//	             impact 5/20 = 25 % ± 19.0 · detractors 5/7, passives 1/3, promoters 1/10
//	staff        with  P5 D2 (n 7): +42.9   without P5 p3 D5 (n 13): 0
//	             Δ +42.9 ± √(0.8163/7 + 0.7692/13)·196 = ± 82.2: not significant
//	             impact 2/20 = 10 % ± 13.1 · detractors 2/7, passives 0/3, promoters 5/10
//	cleanliness  with  P2 p1 D2 (n 5): 0   without P8 p2 D5 (n 15): +20
//	             Δ −20 ± √(0.8/5 + 0.8267/15)·196 = ± 90.9: not significant
//	             impact 2/20 = 10 % ± 13.1: a tie with staff, both ranked 2
//	price        with  P2 (n 2 < 5): few answers, not ranked
func TestThemeFigures(t *testing.T) {
	db := openTest(t, Config{RapidTap: noRapid})
	themes, err := NewThemes(insight.DefaultTaxonomy())
	if err != nil {
		t.Fatal(err)
	}
	insertThemeData(t, db, t0, themeData)
	// The manager view's period: the 30 local days up to today, today included.
	from := midnight(t0).AddDate(0, 0, -29)
	got, err := db.ThemeFigures(context.Background(), themes, from, t0.Add(time.Second), 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := (nps.Tally{Promoters: 10, Passives: 3, Detractors: 7}); got.All != want {
		t.Fatalf("all answers %+v, want %+v (the suspect and the old one left out)", got.All, want)
	}
	type want struct {
		key                string
		with               nps.Tally
		rank               int
		delta, deltaMargin float64
		enough, sig        bool
		impact, impactMoE  float64
		det, pas, pro      float64 // % of each category mentioning
	}
	wants := []want{
		{"wait_time", nps.Tally{Promoters: 1, Passives: 1, Detractors: 5}, 1, -100.0*4/7 - 100.0*7/13, 67.5, true, true, 25, 18.98, 100.0 * 5 / 7, 100.0 / 3, 10},
		{"staff", nps.Tally{Promoters: 5, Detractors: 2}, 2, 100.0 * 3 / 7, 82.18, true, false, 10, 13.15, 100.0 * 2 / 7, 0, 50},
		{"cleanliness", nps.Tally{Promoters: 2, Passives: 1, Detractors: 2}, 2, -20, 90.9, true, false, 10, 13.15, 100.0 * 2 / 7, 100.0 / 3, 20},
		{"price", nps.Tally{Promoters: 2}, 0, 100 - 100.0*1/18, 0, false, false, 0, 0, 0, 0, 20},
	}
	if len(got.Themes) != len(wants) {
		t.Fatalf("themes %+v, want %d of them", got.Themes, len(wants))
	}
	near := func(a, b, tol float64) bool { return math.Abs(a-b) <= tol }
	for i, w := range wants {
		t.Run(fmt.Sprintf("%d_%s", i+1, w.key), func(t *testing.T) {
			f := got.Themes[i]
			if f.Key != w.key || f.With != w.with || f.Rank != w.rank {
				t.Fatalf("theme %d: %s with %+v rank %d, want %s with %+v rank %d", i+1, f.Key, f.With, f.Rank, w.key, w.with, w.rank)
			}
			if all := f.With; all.Promoters+f.Without.Promoters != 10 || all.Passives+f.Without.Passives != 3 || all.Detractors+f.Without.Detractors != 7 {
				t.Errorf("with %+v and without %+v do not add up to all answers", f.With, f.Without)
			}
			d := f.Difference
			if !near(d.Delta, w.delta, 0.05) || (w.enough && !near(d.Margin, w.deltaMargin, 0.05)) || d.Enough != w.enough || d.Significant != w.sig {
				t.Errorf("difference %+v, want %.1f ± %.1f, enough %v, significant %v", d, w.delta, w.deltaMargin, w.enough, w.sig)
			}
			if !near(f.Impact.Percent, w.impact, 0.01) || !near(f.Impact.Margin, w.impactMoE, 0.01) || f.Impact.N != 20 {
				t.Errorf("impact %+v, want %.1f ± %.2f of 20", f.Impact, w.impact, w.impactMoE)
			}
			if !near(f.Detractors.Percent, w.det, 0.01) || !near(f.Passives.Percent, w.pas, 0.01) || !near(f.Promoters.Percent, w.pro, 0.01) {
				t.Errorf("shares of detractors, passives, promoters %.1f, %.1f, %.1f, want %.1f, %.1f, %.1f",
					f.Detractors.Percent, f.Passives.Percent, f.Promoters.Percent, w.det, w.pas, w.pro)
			}
		})
	}
}

// TestThemeFiguresEdges: no answers, answers without any theme, and the default minimum.
func TestThemeFiguresEdges(t *testing.T) {
	themes, err := NewThemes(insight.DefaultTaxonomy())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []themeAnswer
		all  int64
	}{
		{"no answers", nil, 0},
		{"no themes", []themeAnswer{{score: 9, locale: "en"}, {score: 3, comment: "meh", locale: "en"}}, 2},
		{"only old and suspect", themeData[20:], 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t, Config{RapidTap: noRapid})
			insertThemeData(t, db, t0, tt.data)
			got, err := db.ThemeFigures(context.Background(), themes, midnight(t0).AddDate(0, 0, -29), t0.Add(time.Second), 0)
			if err != nil {
				t.Fatal(err)
			}
			if got.All.Total() != tt.all || len(got.Themes) != 0 || got.MinResponses != nps.DefaultMinResponses {
				t.Errorf("got %+v, want %d answers, no themes, minimum %d", got, tt.all, nps.DefaultMinResponses)
			}
		})
	}
}

// BenchmarkThemeFigures is the manager view's cost with a busy kiosk's month: 6,000
// answers, half with reasons, and a comment on every one (the worst case) or on one in
// five (nearer what shoppers write).
func BenchmarkThemeFigures(b *testing.B) {
	for _, every := range []int{1, 5} {
		b.Run(fmt.Sprintf("comment_every_%d", every), func(b *testing.B) { benchmarkThemeFigures(b, every) })
	}
}

func benchmarkThemeFigures(b *testing.B, commentEvery int) {
	db, err := Open(context.Background(), Config{Path: b.TempDir() + "/bench.db", RapidTap: noRapid, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	themes, err := NewThemes(insight.DefaultTaxonomy())
	if err != nil {
		b.Fatal(err)
	}
	comments := []themeAnswer{
		{comment: "The queue was far too long and only one till was open", locale: "en"},
		{comment: "Staff were lovely and helpful, found everything I needed", locale: "en"},
		{comment: "Die Schlange war viel zu lang, Personal aber nett", locale: "de"},
		{comment: "Prix trop chers, et le magasin était sale", locale: "fr"},
		{comment: "La cola era muy larga y faltaban productos", locale: "es"},
		{comment: "Great choice of brands but the aisles are narrow and crowded with pallets", locale: "en"},
	}
	data := make([]themeAnswer, 6000)
	for i := range data {
		data[i] = comments[i%len(comments)]
		if i%commentEvery != 0 {
			data[i].comment = ""
		}
		data[i].score = i % 11
		data[i].daysAgo = i % 30
		if i%2 == 0 {
			data[i].reasons = []string{"wait_time", "staff"}
		}
	}
	insertThemeData(b, db, t0, data)
	ctx := context.Background()
	from := midnight(t0).AddDate(0, 0, -29)
	for b.Loop() {
		f, err := db.ThemeFigures(ctx, themes, from, t0.Add(time.Second), 0)
		if err != nil || f.All.Total() != 6000 {
			b.Fatalf("%d answers, %v", f.All.Total(), err)
		}
	}
}
