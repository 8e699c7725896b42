package collector

import (
	"slices"
	"testing"
)

// TestRankDriversTies: equal impacts share a place and the next place skips (1, 1, 3);
// themes with fewer than min n mentions, or no impact, come after, unranked, most
// mentioned first; the median of an even count is the mean of the middle two.
func TestRankDriversTies(t *testing.T) {
	imp := func(p float64) *Impact { return &Impact{Points: p} }
	ds := []Driver{
		{Key: "few", N: 3, Impact: imp(50)},
		{Key: "b", N: 40, Impact: imp(2.5)},
		{Key: "c", N: 30, Impact: imp(1)},
		{Key: "a", N: 35, Impact: imp(2.5 + 1e-12)}, // equal but for float noise
		{Key: "none", N: 90},
		{Key: "fewer", N: 5, Impact: imp(0)},
	}
	rankDrivers(ds, 30)
	var keys []string
	var ranks []int
	for _, d := range ds {
		keys, ranks = append(keys, d.Key), append(ranks, d.Rank)
	}
	if want := []string{"b", "a", "c", "none", "fewer", "few"}; !slices.Equal(keys, want) {
		t.Errorf("order %v, want %v", keys, want)
	}
	if want := []int{1, 1, 3, 0, 0, 0}; !slices.Equal(ranks, want) {
		t.Errorf("ranks %v, want %v", ranks, want)
	}
	if m := median([]float64{0.4, 0.1, 0.3, 0.2}); m != 0.25 {
		t.Errorf("median = %v, want 0.25", m)
	}
}
