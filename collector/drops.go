package collector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
)

// Periods and threshold of the significant-drop check.
const (
	DropRecentDays   = 7
	DropBaselineDays = 28
	// DropMinResponses is the fewest responses each period needs before a difference
	// is called: below it a few unhappy shoppers would page a manager for nothing.
	DropMinResponses = 30
)

// DropFigures is what an nps.dropped (or nps.recovered) event tells.
type DropFigures struct {
	StoreID        string  `json:"store_id"`
	StoreName      string  `json:"store_name"`
	RecentFrom     string  `json:"recent_from"`
	RecentTo       string  `json:"recent_to"`
	RecentNPS      float64 `json:"recent_nps"`
	RecentMoE      float64 `json:"recent_margin_of_error"`
	RecentN        int64   `json:"recent_responses"`
	BaselineFrom   string  `json:"baseline_from"`
	BaselineTo     string  `json:"baseline_to"`
	BaselineNPS    float64 `json:"baseline_nps"`
	BaselineMoE    float64 `json:"baseline_margin_of_error"`
	BaselineN      int64   `json:"baseline_responses"`
	Change         float64 `json:"change"`
	CombinedMoE    float64 `json:"combined_margin_of_error"`
	SignificantDip bool    `json:"significant_drop"`
}

// dropFigures compares the last DropRecentDays complete local days before now with the
// DropBaselineDays before them.
func (s *Service) dropFigures(ctx context.Context, st storage.Store, now time.Time) (DropFigures, error) {
	loc, err := time.LoadLocation(st.Timezone)
	if err != nil {
		return DropFigures{}, fmt.Errorf("store %s time zone: %w", st.ID, err)
	}
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	day := func(offset int) string { return today.AddDate(0, 0, offset).Format(time.DateOnly) }
	f := DropFigures{StoreID: st.ID, StoreName: st.Name,
		RecentFrom: day(-DropRecentDays), RecentTo: day(-1),
		BaselineFrom: day(-DropRecentDays - DropBaselineDays), BaselineTo: day(-DropRecentDays - 1)}
	recent, err := s.StoreTally(ctx, st.ID, f.RecentFrom, f.RecentTo)
	if err != nil {
		return DropFigures{}, err
	}
	base, err := s.StoreTally(ctx, st.ID, f.BaselineFrom, f.BaselineTo)
	if err != nil {
		return DropFigures{}, err
	}
	f.RecentNPS, f.RecentMoE, f.RecentN = recent.NPS(), recent.MarginOfError(), recent.Total()
	f.BaselineNPS, f.BaselineMoE, f.BaselineN = base.NPS(), base.MarginOfError(), base.Total()
	diff := nps.Compare(base, recent, DropMinResponses)
	f.Change, f.CombinedMoE = diff.Delta, diff.Margin
	f.SignificantDip = diff.Significant && diff.Delta < 0
	return f, nil
}

// CheckDrops runs the significant-drop check for every store: a store whose last week's
// NPS is below its previous four weeks' by more than the combined 95 % margin of error,
// with enough responses in both, emits one nps.dropped event for the episode, and one
// nps.recovered when it ends. It returns the events emitted, by store.
func (s *Service) CheckDrops(ctx context.Context, now time.Time) (map[string]string, error) {
	stores, err := s.StoreList(ctx)
	if err != nil {
		return nil, fmt.Errorf("check drops: %w", err)
	}
	emitted := map[string]string{}
	var errs []error
	for _, st := range stores {
		f, err := s.dropFigures(ctx, st, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		typ, err := s.RecordDropCheck(ctx, st.ID, f.SignificantDip, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if typ != "" {
			emitted[st.ID] = typ
			s.eventsQueued()
		}
	}
	return emitted, errors.Join(errs...)
}
