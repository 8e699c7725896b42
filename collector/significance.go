package collector

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
)

// tallyOf is the tally behind a report line (suspect taps are not in it).
func tallyOf(r storage.NPSReport) nps.Tally {
	return nps.Tally{Promoters: r.Promoters, Passives: r.Passives, Detractors: r.Detractors}
}

// PeriodReport is a filter's NPS beside that of the period of equal length just before
// it, and the change from that period to this one with its 95 % interval and mark.
type PeriodReport struct {
	storage.NPSReport
	Previous     storage.NPSReport `json:"previous"`
	PreviousFrom string            `json:"previous_from"`
	PreviousTo   string            `json:"previous_to"`
	// Change is this period's NPS minus the previous one's. The two periods hold
	// different responses, so they are independent samples.
	Change nps.Difference `json:"change"`
}

// PeriodReport reports the filter's NPS with its change from the previous period.
func (s *Service) PeriodReport(ctx context.Context, f storage.Filter) (PeriodReport, error) {
	prev, err := f.Previous()
	if err != nil {
		return PeriodReport{}, fmt.Errorf("period report: %w", err)
	}
	cur, err := s.NPS(ctx, f)
	if err != nil {
		return PeriodReport{}, fmt.Errorf("period report: %w", err)
	}
	before, err := s.NPS(ctx, prev)
	if err != nil {
		return PeriodReport{}, fmt.Errorf("period report: %w", err)
	}
	return PeriodReport{NPSReport: cur, Previous: before, PreviousFrom: prev.From, PreviousTo: prev.To,
		Change: nps.Compare(tallyOf(before), tallyOf(cur), f.MinResponses)}, nil
}

// What a stores report says of its ranking.
const (
	RankingRanked     = "ranked"
	RankingOneStore   = "only one store"
	RankingOneEnough  = "only one store with enough responses"
	RankingNoneEnough = "no store with enough responses"
	RankingNoStores   = "no stores"
)

// StoreRanking is the stores table with each store's change from the previous period,
// its difference to the rest of the stores in view, and its rank.
type StoreRanking struct {
	Ranking      string                `json:"ranking"`       // one of the Ranking… sentences
	MinResponses int64                 `json:"min_responses"` // what a store needs to be ranked
	Stores       []storage.StoreReport `json:"stores"`
}

// RankStores reports the stores of the filter (see storage.DB.Stores) and compares
// each with its previous period and with the rest of the stores in view: the other
// stores of the filter's chain, region or format, with the same channel, segment and
// days. Only stores with at least the filter's minimum of responses are ranked, by NPS,
// best first; equal NPS share a rank and the next rank skips (1, 1, 3). Stores below
// the minimum are listed unranked with the reason, and a single store in view is not
// ranked at all: a rank of 1 out of 1 says nothing.
func (s *Service) RankStores(ctx context.Context, f storage.Filter) (StoreRanking, error) {
	minN := f.MinResponses
	if minN <= 0 {
		minN = nps.DefaultMinResponses
	}
	stores, err := s.Stores(ctx, f)
	if err != nil {
		return StoreRanking{}, fmt.Errorf("rank stores: %w", err)
	}
	var total nps.Tally
	for _, r := range stores {
		total.Merge(tallyOf(r.NPSReport))
	}
	var eligible []int
	for i := range stores {
		r := &stores[i]
		cur := tallyOf(r.NPSReport)
		if r.Previous != nil && r.Previous.Responses > 0 && cur.Total() > 0 {
			d := nps.Compare(tallyOf(*r.Previous), cur, minN)
			r.Change = &d
		}
		rest := nps.Tally{Promoters: total.Promoters - cur.Promoters, Passives: total.Passives - cur.Passives,
			Detractors: total.Detractors - cur.Detractors}
		if rest.Total() > 0 && cur.Total() > 0 {
			d := nps.Compare(rest, cur, minN)
			r.VsRest = &d
		}
		switch {
		case len(stores) == 1:
			r.Unranked = RankingOneStore
		case r.Responses < minN:
			r.Unranked = fmt.Sprintf("fewer than %d responses", minN)
		default:
			eligible = append(eligible, i)
		}
	}
	out := StoreRanking{MinResponses: minN, Stores: stores}
	switch {
	case len(stores) == 0:
		out.Ranking = RankingNoStores
	case len(stores) == 1:
		out.Ranking = RankingOneStore
	case len(eligible) == 0:
		out.Ranking = RankingNoneEnough
	case len(eligible) == 1:
		out.Ranking = RankingOneEnough
	default:
		out.Ranking = RankingRanked
	}
	if len(eligible) == 0 {
		return out, nil
	}
	slices.SortStableFunc(eligible, func(a, b int) int { return compareNPS(stores[b].NPSReport, stores[a].NPSReport) })
	for k, i := range eligible {
		if k > 0 && compareNPS(stores[i].NPSReport, stores[eligible[k-1]].NPSReport) == 0 {
			stores[i].Rank = stores[eligible[k-1]].Rank
		} else {
			stores[i].Rank = k + 1
		}
	}
	return out, nil
}

// compareNPS orders two reports by NPS exactly: (p₁ − d₁)/n₁ against (p₂ − d₂)/n₂ by
// cross-multiplying, so equal scores are equal whatever the floating point makes of
// them (20 of 40 and 1 of 2 are a tie). Neither may be empty.
func compareNPS(a, b storage.NPSReport) int {
	return cmp.Compare((a.Promoters-a.Detractors)*b.Responses, (b.Promoters-b.Detractors)*a.Responses)
}

// LabelReport compares the regions (or formats) of a filter with each other: each
// label's NPS against that of the rest of the filter's stores, as ChannelReport does for
// channels.
type LabelReport struct {
	By           string `json:"by"` // storage.ByRegion or storage.ByFormat
	MinResponses int64  `json:"min_responses"`
	ChannelBreakdown
}

// LabelReport splits the filter's responses by the region or format of their stores (by
// is storage.ByRegion or storage.ByFormat) and compares each with the rest.
func (s *Service) LabelReport(ctx context.Context, f storage.Filter, by string) (LabelReport, error) {
	minN := f.MinResponses
	if minN <= 0 {
		minN = nps.DefaultMinResponses
	}
	tallies, err := s.TalliesByStoreLabel(ctx, f, by)
	if err != nil {
		return LabelReport{}, fmt.Errorf("%s report: %w", by, err)
	}
	byLabel := make(map[string]*tallied, len(tallies))
	for _, lt := range tallies {
		byLabel[lt.Label] = &tallied{Tally: lt.Tally, suspect: lt.Suspect}
	}
	return LabelReport{By: by, MinResponses: minN, ChannelBreakdown: breakdown(byLabel, minN)}, nil
}
