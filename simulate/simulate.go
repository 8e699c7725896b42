// Package simulate makes realistic completed responses for demos, tests and benchmarks:
// a plausible score mix, reasons that fit the score, occasional comments, and times
// spread over opening hours of the past days.
package simulate

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// scoreWeights is a typical retail distribution (NPS around +30).
var scoreWeights = [11]int{2, 1, 1, 2, 2, 4, 6, 10, 17, 22, 33}

var comments = map[nps.Category][]string{
	nps.Detractor: {
		"Waited far too long at the checkout.",
		"The item I came for was out of stock again.",
		"Prices have gone up a lot.",
		"Nobody was around to help me.",
	},
	nps.Passive: {
		"Fine, but the queue could be shorter.",
		"Good choice, a bit pricey.",
		"OK visit.",
	},
	nps.Promoter: {
		"Staff were really friendly and helpful!",
		"Always find what I need here.",
		"Quick checkout, great service.",
		"Lovely clean store.",
	},
}

// Responses returns n completed responses tapped over the days before now, oldest first,
// using the survey's reasons and languages.
func Responses(rng *rand.Rand, n, days int, now time.Time, survey wire.Survey) []store.Response {
	total := 0
	for _, w := range scoreWeights {
		total += w
	}
	times := make([]time.Time, n)
	for i := range times {
		day := now.AddDate(0, 0, -rng.IntN(max(days, 1)))
		open := time.Date(day.Year(), day.Month(), day.Day(), 8, 0, 0, 0, now.Location())
		t := open.Add(time.Duration(rng.Int64N(int64(12 * time.Hour))))
		if t.After(now) {
			t = now.Add(-time.Duration(rng.Int64N(int64(time.Hour))))
		}
		times[i] = t
	}
	slices.SortFunc(times, time.Time.Compare)

	out := make([]store.Response, 0, n)
	for _, created := range times {
		score := pick(rng, total)
		cat := nps.Score(score).Category()
		r := store.Response{
			Score:         score,
			Locale:        survey.Languages[weightedLang(rng, len(survey.Languages))],
			SurveyVersion: survey.Version,
			CreatedAt:     created,
			CompletedAt:   created.Add(time.Duration(3+rng.IntN(40)) * time.Second),
			Outcome:       response.OutcomeSubmitted,
		}
		r.ID = uuidV7At(created)
		switch x := rng.IntN(10); {
		case x < 2:
			r.Outcome = response.OutcomeSkipped
		case x < 3:
			r.Outcome = response.OutcomeTimedOut
		}
		if r.Outcome != response.OutcomeSkipped {
			reasons := survey.ReasonsFor(cat)
			if len(reasons) > 0 {
				r.Reasons = []string{reasons[rng.IntN(len(reasons))].Key}
			}
			if cs := comments[cat]; rng.IntN(3) == 0 {
				r.Comment = cs[rng.IntN(len(cs))]
			}
		}
		out = append(out, r)
	}
	return out
}

func pick(rng *rand.Rand, total int) int {
	x := rng.IntN(total)
	for s, w := range scoreWeights {
		if x < w {
			return s
		}
		x -= w
	}
	return nps.MaxScore
}

// weightedLang favours the default language: most shoppers keep it.
func weightedLang(rng *rand.Rand, n int) int {
	if n == 1 || rng.IntN(10) < 7 {
		return 0
	}
	return 1 + rng.IntN(n-1)
}

// uuidV7At makes a UUIDv7 whose timestamp is t rather than now, as the device would
// have made at the time of the tap.
func uuidV7At(t time.Time) string {
	id := uuid.Must(uuid.NewV7())
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		id[i] = byte(ms >> (40 - 8*i))
	}
	return id.String()
}
