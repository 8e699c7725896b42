package insight

import "slices"

// ClearThreshold is how far from 0 a comment's score must be to contradict the shopper's
// rating: a single mild word does not, "furious" or two complaints do.
const ClearThreshold = 0.5

// WorthALook reports a comment at odds with its score: a promoter's (9 or 10) that is
// clearly negative (Score ≤ -ClearThreshold), or a detractor's or passive's up to 6 that
// is clearly positive (Score ≥ ClearThreshold). Such answers are often a mistap on the
// scale or a complaint the score hides.
func WorthALook(score int, a Analysis) bool {
	switch {
	case score >= 9 && score <= 10:
		return a.Score <= -ClearThreshold
	case score >= 0 && score <= 6:
		return a.Score >= ClearThreshold
	}
	return false
}

// ThemesWithReasons is the comment's themes together with the reasons the shopper picked
// that are themes of the taxonomy (a reason counts as its theme), sorted, each once.
func ThemesWithReasons(a Analysis, reasons []string, t Taxonomy) []string {
	out := slices.Clone(a.Themes)
	for _, r := range reasons {
		if _, ok := t.Lookup(r); ok {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
