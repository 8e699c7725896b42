package collector

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// SortStores orders the stores table by "nps" or "responses" ("-" first for
// descending), or by "rank" (best first, the unranked after them by id); anything else
// keeps the default order, by id.
func SortStores(rs []storage.StoreReport, by string) {
	if by == "rank" {
		last := func(r storage.StoreReport) int { // unranked (0) after every rank
			if r.Rank == 0 {
				return math.MaxInt
			}
			return r.Rank
		}
		slices.SortStableFunc(rs, func(a, b storage.StoreReport) int { return cmp.Compare(last(a), last(b)) })
		return
	}
	var key func(storage.StoreReport) float64
	switch strings.TrimPrefix(by, "-") {
	case "nps":
		key = func(r storage.StoreReport) float64 { return r.NPS }
	case "responses":
		key = func(r storage.StoreReport) float64 { return float64(r.Responses) }
	default:
		return
	}
	sign := 1
	if strings.HasPrefix(by, "-") {
		sign = -1
	}
	slices.SortStableFunc(rs, func(a, b storage.StoreReport) int { return sign * cmp.Compare(key(a), key(b)) })
}
