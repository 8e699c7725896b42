package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/npskiosk/npskiosk/insight"
	"github.com/npskiosk/npskiosk/nps"
)

// Themes is a survey's comment taxonomy with its analyzer. Building the analyzer costs
// far more than reading one comment, so a caller builds a Themes once per survey version
// and passes it to every ThemeFigures call.
type Themes struct {
	taxonomy insight.Taxonomy
	analyzer *insight.Analyzer
}

// NewThemes builds the analyzer for a taxonomy (validated first).
func NewThemes(t insight.Taxonomy) (*Themes, error) {
	a, err := insight.NewAnalyzer(t)
	if err != nil {
		return nil, fmt.Errorf("comment themes: %w", err)
	}
	return &Themes{taxonomy: t, analyzer: a}, nil
}

// Taxonomy is the themes' taxonomy, for their labels.
func (t *Themes) Taxonomy() insight.Taxonomy { return t.taxonomy }

// ThemeFigures is what the kiosk's own answers of a period say about each theme.
type ThemeFigures struct {
	// All is every answer counted: the same set as the period's NPS (Tally), suspect
	// taps left out.
	All nps.Tally
	// MinResponses is the fewest answers mentioning a theme for it to be ranked, and
	// for each side of its with/without comparison to be judged.
	MinResponses int64
	// Themes are the ranked themes, greatest impact first, then those with too few
	// answers to rank, most mentioned first. Themes nobody mentioned are left out.
	Themes []ThemeFigure
}

// ThemeFigure is one theme's figures.
type ThemeFigure struct {
	Key string
	// With is the tally of the answers that mention the theme, in their comment or by
	// a picked reason that is the theme; Without is that of all the others.
	With, Without nps.Tally
	// Detractors, Passives and Promoters are the share of each category's answers that
	// mention the theme.
	Detractors, Passives, Promoters nps.Share
	// Difference is the NPS of the answers with the theme minus that of those without,
	// judged significant only when both sides have MinResponses answers.
	Difference nps.Difference
	// Impact is how many NPS points the store would gain if the theme's detractors had
	// been passives instead: the theme's detractors out of all answers, in %, with its
	// margin. The issue measures impact against the chain's median detractor share for
	// the theme; a kiosk works offline and does not know the chain, so it takes that
	// median as 0, which makes the figure the theme's whole detractor share, an upper
	// bound of the chain-relative one.
	Impact nps.Share
	// Rank is the place by impact, from 1, equal impacts sharing a place (1, 1, 3); 0
	// when the theme has fewer than MinResponses answers and so is not ranked.
	Rank int
}

// Mentions is how many answers mention the theme.
func (f ThemeFigure) Mentions() int64 { return f.With.Total() }

// ThemeFigures tags the comment of every answer tapped in [from, to) with the themes'
// taxonomy, adds the picked reasons that are themes, and counts each theme's figures,
// ranked by impact. Suspect taps are left out, as from the NPS. minResponses of zero or
// less is nps.DefaultMinResponses.
//
// It reads and analyses on every call instead of keeping each answer's themes: a kiosk
// holds a few thousand answers a month, which take a few tens of milliseconds
// (BenchmarkThemeFigures), and a new taxonomy then needs no recount.
func (db *DB) ThemeFigures(ctx context.Context, themes *Themes, from, to time.Time, minResponses int64) (ThemeFigures, error) {
	if minResponses <= 0 {
		minResponses = nps.DefaultMinResponses
	}
	out := ThemeFigures{MinResponses: minResponses}
	rows, err := db.read.QueryContext(ctx, `
		SELECT score, reasons, comment, locale FROM responses
		 WHERE created_at >= ? AND created_at < ? AND suspect = 0`,
		millis(from), millis(to))
	if err != nil {
		return out, fmt.Errorf("theme figures: %w", err)
	}
	defer rows.Close()
	with := map[string]*nps.Tally{}
	for rows.Next() {
		var (
			score                     int
			reasonsJSON, text, locale string
			reasons                   []string
		)
		if err := rows.Scan(&score, &reasonsJSON, &text, &locale); err != nil {
			return out, fmt.Errorf("theme figures: %w", err)
		}
		if reasonsJSON != "" && reasonsJSON != "[]" { // most answers pick none
			if err := json.Unmarshal([]byte(reasonsJSON), &reasons); err != nil {
				return out, fmt.Errorf("theme figures: reasons %q: %w", reasonsJSON, err)
			}
		}
		s := nps.Score(score)
		out.All.Add(s)
		if text == "" && len(reasons) == 0 {
			continue
		}
		var a insight.Analysis
		if text != "" {
			a = themes.analyzer.Analyze(text, locale)
		}
		for _, key := range insight.ThemesWithReasons(a, reasons, themes.taxonomy) {
			t := with[key]
			if t == nil {
				t = &nps.Tally{}
				with[key] = t
			}
			t.Add(s)
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("theme figures: %w", err)
	}
	for key, t := range with {
		out.Themes = append(out.Themes, themeFigure(key, *t, out.All, minResponses))
	}
	rankByImpact(out.Themes, minResponses)
	return out, nil
}

func themeFigure(key string, with, all nps.Tally, minResponses int64) ThemeFigure {
	without := nps.Tally{
		Promoters:  all.Promoters - with.Promoters,
		Passives:   all.Passives - with.Passives,
		Detractors: all.Detractors - with.Detractors,
	}
	return ThemeFigure{
		Key:        key,
		With:       with,
		Without:    without,
		Detractors: nps.ShareOf(with.Detractors, all.Detractors),
		Passives:   nps.ShareOf(with.Passives, all.Passives),
		Promoters:  nps.ShareOf(with.Promoters, all.Promoters),
		Difference: nps.Compare(without, with, minResponses),
		Impact:     nps.ShareOf(with.Detractors, all.Total()),
	}
}

// rankByImpact sorts the themes with enough answers by impact, then the others by
// mentions, and numbers the first. Impacts share one denominator, so equal detractor
// counts are equal impacts: they share a place, and their key only fixes the order.
func rankByImpact(fs []ThemeFigure, minResponses int64) {
	enough := func(f ThemeFigure) bool { return f.Mentions() >= minResponses }
	slices.SortFunc(fs, func(a, b ThemeFigure) int {
		if ea, eb := enough(a), enough(b); ea != eb {
			if ea {
				return -1
			}
			return 1
		}
		if enough(a) {
			if c := cmp.Compare(b.With.Detractors, a.With.Detractors); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(b.Mentions(), a.Mentions()); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	for i := range fs {
		switch {
		case !enough(fs[i]):
			return
		case i > 0 && fs[i].With.Detractors == fs[i-1].With.Detractors:
			fs[i].Rank = fs[i-1].Rank
		default:
			fs[i].Rank = i + 1
		}
	}
}
