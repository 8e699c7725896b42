package collector

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/insight"
	"github.com/npskiosk/npskiosk/nps"
)

// DriversReport is what the comments' themes (or the picked reasons) of a report filter
// say about its NPS: see Service.Drivers.
type DriversReport struct {
	Kind string `json:"kind"` // storage.KindTheme or storage.KindReason
	// MinResponses is the fewest responses a theme needs to be ranked and its
	// with/without difference judged, and a store needs to count in the chain's median.
	MinResponses int64 `json:"min_n"`
	// All is the filter's tally: every response counted, suspect ones left out.
	All storage.NPSReport `json:"all"`
	// WorthALook counts the filter's comments at odds with their score.
	WorthALook int64 `json:"worth_a_look"`
	// MedianStores is how many of the chain's stores had MinResponses in the period,
	// channel and touchpoint of the filter: the stores the median is taken over. None:
	// no impact is known, and nothing is ranked.
	MedianStores int      `json:"median_stores"`
	Drivers      []Driver `json:"drivers"`
}

// Driver is one theme's (or reason's) figures in a report filter.
type Driver struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	// N is how many responses mention the theme (in their comment or by a picked reason
	// that is the theme).
	N int64 `json:"n"`
	// Detractors, Passives and Promoters are the share of each category's responses
	// that mention the theme.
	Detractors nps.Share `json:"detractors"`
	Passives   nps.Share `json:"passives"`
	Promoters  nps.Share `json:"promoters"`
	// With and Without are the NPS of the responses that mention the theme and of all
	// the others; Difference is With − Without, with its 95 % interval, judged
	// significant only when both sides have MinResponses.
	With       storage.NPSReport `json:"with"`
	Without    storage.NPSReport `json:"without"`
	Difference nps.Difference    `json:"difference"`
	// DetractorShare is the theme's detractors out of all the filter's responses (d).
	DetractorShare nps.Share `json:"detractor_share"`
	// ChainMedian is the median over the chain's stores (those with MinResponses) of
	// their d for the theme, in %.
	ChainMedian float64 `json:"chain_median"`
	// Impact is nil when no store has MinResponses.
	Impact *Impact `json:"impact"`
	// Rank is the place by impact from 1, equal impacts sharing a place (1, 1, 3); 0 for
	// a theme with fewer than MinResponses mentions, listed after the ranked ones.
	Rank int `json:"rank"`
}

// Impact is how many NPS points the filter's scope would gain if the theme's detractor
// share fell to the chain's median, with the 95 % interval of its detractor share.
type Impact struct {
	Points float64 `json:"points"`
	Margin float64 `json:"margin"`
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
	N      int64   `json:"n"` // the responses the scope's detractor share is of
}

// Drivers ranks the themes (kind storage.KindTheme) or the picked reasons
// (storage.KindReason) of a report filter by their impact on its NPS, labelled in lang
// (en when the taxonomy or survey has no label in it). minResponses of zero or less is
// nps.DefaultMinResponses.
//
// With d_s the detractors mentioning the theme out of all the responses of store s in
// the filter's period, channel, touchpoint (and segment) — whatever its store and region
// limits — and m the median of d_s over the chain's stores with at least minResponses
// responses, a store's impact is max(0, d_s − m)·100: the NPS points it would gain if
// its detractors mentioning the theme were only as many as the median store's, and they
// became passives. A region's or the chain's impact is the response-weighted sum over its
// stores, Σ n_s·max(0, d_s − m)·100 / Σ n_s, which is the points its own NPS would gain
// (stores below the median gain nothing, and do not offset the others). The interval is
// that of the scope's detractor share d (nps.ShareOf), the median taken as known.
//
// The shares, with/without and ranking are the kiosk's (store.ThemeFigures) on the
// collector's rollups, where the kiosk, offline, takes the chain's median as 0.
func (s *Service) Drivers(ctx context.Context, f storage.Filter, kind, lang string, minResponses int64) (DriversReport, error) {
	if minResponses <= 0 {
		minResponses = nps.DefaultMinResponses
	}
	switch kind {
	case "":
		kind = storage.KindTheme
	case storage.KindTheme, storage.KindReason:
	default:
		return DriversReport{}, fmt.Errorf("drivers: %w: kind must be theme or reason", storage.ErrInvalid)
	}
	out := DriversReport{Kind: kind, MinResponses: minResponses, Drivers: []Driver{}}
	// The chain: the same days, channel and touchpoint, every store.
	chain := f
	chain.StoreID, chain.Region = "", ""
	scopeStores, err := s.StoreTallies(ctx, f)
	if err != nil {
		return out, fmt.Errorf("drivers: %w", err)
	}
	chainStores, err := s.StoreTallies(ctx, chain)
	if err != nil {
		return out, fmt.Errorf("drivers: %w", err)
	}
	inScope, err := s.ThemeTallies(ctx, f, kind, false)
	if err != nil {
		return out, fmt.Errorf("drivers: %w", err)
	}
	perStore, err := s.ThemeTallies(ctx, chain, kind, true)
	if err != nil {
		return out, fmt.Errorf("drivers: %w", err)
	}
	if out.WorthALook, err = s.WorthALookCount(ctx, f); err != nil {
		return out, fmt.Errorf("drivers: %w", err)
	}
	var all nps.Tally
	for _, t := range scopeStores {
		all.Merge(t)
	}
	out.All = storage.NPSReport{NPS: all.NPS(), MarginOfError: all.MarginOfError(), Responses: all.Total(),
		Promoters: all.Promoters, Passives: all.Passives, Detractors: all.Detractors}

	// detractors[theme][store]: the theme's detractors per store, over the chain.
	detractors := map[string]map[string]int64{}
	for _, t := range perStore {
		if detractors[t.Theme] == nil {
			detractors[t.Theme] = map[string]int64{}
		}
		detractors[t.Theme][t.StoreID] = t.Detractors
	}
	var medianStores []string
	for id, t := range chainStores {
		if t.Total() >= minResponses {
			medianStores = append(medianStores, id)
		}
	}
	out.MedianStores = len(medianStores)

	keys := make([]string, len(inScope))
	for i, t := range inScope {
		keys[i] = t.Theme
	}
	labels, err := s.driverLabels(ctx, f, scopeStores, keys, kind, lang)
	if err != nil {
		return out, fmt.Errorf("drivers: %w", err)
	}
	for _, t := range inScope {
		if t.Total() == 0 { // every mention revised away
			continue
		}
		d := driver(t.Theme, t.Tally, all, minResponses)
		d.Label = labels(t.Theme)
		if len(medianStores) > 0 {
			byStore := detractors[t.Theme]
			shares := make([]float64, len(medianStores))
			for i, id := range medianStores {
				shares[i] = float64(byStore[id]) / float64(chainStores[id].Total())
			}
			m := median(shares)
			d.ChainMedian = m * 100
			var gain float64
			for id, n := range scopeStores {
				ds := float64(byStore[id]) / float64(n.Total())
				gain += float64(n.Total()) * max(0, ds-m)
			}
			points := 100 * gain / float64(all.Total())
			margin := d.DetractorShare.Margin
			d.Impact = &Impact{Points: points, Margin: margin, Low: points - margin, High: points + margin, N: all.Total()}
		}
		out.Drivers = append(out.Drivers, d)
	}
	rankDrivers(out.Drivers, minResponses)
	return out, nil
}

// driver is a theme's figures but its impact: those the kiosk shows too.
func driver(key string, with, all nps.Tally, minResponses int64) Driver {
	without := nps.Tally{
		Promoters:  all.Promoters - with.Promoters,
		Passives:   all.Passives - with.Passives,
		Detractors: all.Detractors - with.Detractors,
	}
	tallyReport := func(t nps.Tally) storage.NPSReport {
		return storage.NPSReport{NPS: t.NPS(), MarginOfError: t.MarginOfError(), Responses: t.Total(),
			Promoters: t.Promoters, Passives: t.Passives, Detractors: t.Detractors}
	}
	return Driver{
		Key:            key,
		N:              with.Total(),
		Detractors:     nps.ShareOf(with.Detractors, all.Detractors),
		Passives:       nps.ShareOf(with.Passives, all.Passives),
		Promoters:      nps.ShareOf(with.Promoters, all.Promoters),
		With:           tallyReport(with),
		Without:        tallyReport(without),
		Difference:     nps.Compare(without, with, minResponses),
		DetractorShare: nps.ShareOf(with.Detractors, all.Total()),
	}
}

// median of xs (sorted in place): the middle one, or the mean of the two middle ones.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// impactKey is an impact rounded to a millionth of a point, so that impacts equal but for
// the float sums' last bits tie.
func impactKey(d Driver) float64 {
	if d.Impact == nil {
		return 0
	}
	return math.Round(d.Impact.Points * 1e6)
}

// rankDrivers puts the drivers with MinResponses mentions and a known impact first,
// greatest impact first, equal impacts sharing a place (1, 1, 3); then the others, most
// mentioned first, unranked.
func rankDrivers(ds []Driver, minResponses int64) {
	ranked := func(d Driver) bool { return d.N >= minResponses && d.Impact != nil }
	slices.SortFunc(ds, func(a, b Driver) int {
		if ra, rb := ranked(a), ranked(b); ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		if ranked(a) {
			if c := cmp.Compare(impactKey(b), impactKey(a)); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Key, b.Key))
	})
	for i := range ds {
		switch {
		case !ranked(ds[i]):
			return
		case i > 0 && impactKey(ds[i]) == impactKey(ds[i-1]):
			ds[i].Rank = ds[i-1].Rank
		default:
			ds[i].Rank = i + 1
		}
	}
}

// driverLabels returns the label of a theme (from the taxonomy) or reason (from the
// survey) in lang, else in English, else its key: from the survey of the filter's store,
// or of the first store in scope (by id) that has the key. It stops reading surveys once
// every key has labels: a chain's stores mostly share one.
func (s *Service) driverLabels(ctx context.Context, f storage.Filter, scope map[string]nps.Tally, keys []string, kind, lang string) (func(string) string, error) {
	if insight.Language(lang) == "" {
		lang = "en"
	} else {
		lang = insight.Language(lang)
	}
	ids := slices.Sorted(maps.Keys(scope))
	if f.StoreID != "" {
		ids = []string{f.StoreID}
	}
	found := map[string]map[string]string{}
	missing := func() bool {
		for _, k := range keys {
			if _, ok := found[k]; !ok {
				return true
			}
		}
		return false
	}
	for _, id := range ids {
		if !missing() {
			break
		}
		survey, err := s.Survey(ctx, id)
		if err != nil {
			return nil, err
		}
		if kind == storage.KindReason {
			for _, r := range survey.Reasons {
				if _, ok := found[r.Key]; !ok {
					found[r.Key] = r.Labels
				}
			}
			continue
		}
		for _, t := range survey.Taxonomy().Themes {
			if _, ok := found[t.Key]; !ok {
				found[t.Key] = t.Labels
			}
		}
	}
	return func(key string) string {
		ls := found[key]
		if l := ls[lang]; l != "" {
			return l
		}
		if l := ls["en"]; l != "" {
			return l
		}
		return key
	}, nil
}
