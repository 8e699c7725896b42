package collector

import (
	"cmp"
	"slices"
	"strings"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// SortStores orders the stores table by "nps" or "responses" ("-" first for
// descending); anything else keeps the default order, by id.
func SortStores(rs []storage.StoreReport, by string) {
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
