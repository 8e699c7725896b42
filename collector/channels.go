package collector

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// ComparisonMinResponses is the default fewest responses a channel (or touchpoint) and
// the rest of its scope each need before their difference is called significant (a
// report's min_n, or the collector's --min-responses, sets another). Below it the
// figures are shown, but not compared: a handful of QR answers would otherwise flag a
// "difference" that is only noise, as for the drop check.
const ComparisonMinResponses = nps.DefaultMinResponses

// Comparison is one channel's (or touchpoint's) NPS against the rest of its scope: the
// other channels of the same stores, days and filter.
//
// Why the rest, and not the total (the chain, or the store, with every channel)? The
// total contains the channel itself: the two samples overlap, their difference's variance
// is not the sum of their variances, and √(m₁² + m₂²) would be the wrong margin. A
// channel with most of the responses would be compared mostly with itself and could never
// differ. The rest is disjoint from the channel, so the two are independent samples and
// nps.Compare's 95 % interval (variances added) is the interval of their difference.
// "Significant" then reads: this channel's shoppers answer differently from everyone
// else's.
type Comparison struct {
	NPS           float64 `json:"nps"`             // of the rest
	MarginOfError float64 `json:"margin_of_error"` // of the rest, 95 %
	Responses     int64   `json:"responses"`       // of the rest
	// Difference is the row's NPS minus the rest's, DifferenceMargin the half-width of
	// its 95 % interval, √(m₁² + m₂²), and Low, High the interval's ends.
	Difference       float64 `json:"difference"`
	DifferenceMargin float64 `json:"difference_margin_of_error"`
	Low              float64 `json:"difference_low"`
	High             float64 `json:"difference_high"`
	// Comparable: both have at least the minimum number of responses (nps.Difference's
	// Enough).
	Comparable bool `json:"comparable"`
	// Significant: comparable, and the interval leaves out 0.
	Significant bool `json:"significant"`
}

// compare compares a row's tally with the rest's; minN of zero or less is
// nps.DefaultMinResponses.
func compare(row, rest nps.Tally, minN int64) Comparison {
	d := nps.Compare(rest, row, minN)
	return Comparison{NPS: rest.NPS(), MarginOfError: rest.MarginOfError(), Responses: rest.Total(),
		Difference: d.Delta, DifferenceMargin: d.Margin, Low: d.Low, High: d.High,
		Comparable: d.Enough, Significant: d.Significant}
}

// ChannelRow is one channel's, or one touchpoint's, figures in a scope.
type ChannelRow struct {
	// Label is the channel or the touchpoint; empty for the responses that name no
	// touchpoint (every kiosk's, for one).
	Label string `json:"label"`
	storage.NPSReport
	// VsRest compares the row with the rest of its scope; nil when there is no rest
	// (every response of the scope is in this row).
	VsRest *Comparison `json:"vs_rest,omitempty"`
}

// ChannelBreakdown is a scope's responses split by channel or touchpoint: the total and
// a row per label, most responses first.
type ChannelBreakdown struct {
	Total storage.NPSReport `json:"total"`
	Rows  []ChannelRow      `json:"rows"`
}

// StoreChannels is one store's breakdown, each row compared with the store's other
// channels (or touchpoints).
type StoreChannels struct {
	StoreID   string `json:"store_id"`
	StoreName string `json:"store_name"`
	ChannelBreakdown
}

// ChannelReport compares the channels (or touchpoints) of a report filter side by side:
// for the whole filter (the chain, a region or a store, as the reader may see), and,
// when asked, for each store in it.
type ChannelReport struct {
	By string `json:"by"` // storage.ByChannel or storage.ByTouchpoint
	ChannelBreakdown
	Stores []StoreChannels `json:"stores,omitempty"`
}

// tallied is a label's tally with its suspect taps, which NPS leaves out.
type tallied struct {
	nps.Tally
	suspect int64
}

func (t *tallied) add(u nps.Tally, suspect int64) {
	t.Merge(u)
	t.suspect += suspect
}

// breakdown builds the rows of a scope from its tallies by label, each compared with
// the rest (minN: the fewest responses of a comparison).
func breakdown(byLabel map[string]*tallied, minN int64) ChannelBreakdown {
	var total tallied
	for _, t := range byLabel {
		total.add(t.Tally, t.suspect)
	}
	b := ChannelBreakdown{Total: storage.NPSReportOf(total.Tally, total.suspect), Rows: make([]ChannelRow, 0, len(byLabel))}
	for label, t := range byLabel {
		row := ChannelRow{Label: label, NPSReport: storage.NPSReportOf(t.Tally, t.suspect)}
		rest := nps.Tally{Promoters: total.Promoters - t.Promoters, Passives: total.Passives - t.Passives,
			Detractors: total.Detractors - t.Detractors}
		if rest.Total() > 0 {
			c := compare(t.Tally, rest, minN)
			row.VsRest = &c
		}
		b.Rows = append(b.Rows, row)
	}
	slices.SortFunc(b.Rows, func(x, y ChannelRow) int {
		return cmp.Or(cmp.Compare(y.Responses, x.Responses), cmp.Compare(x.Label, y.Label))
	})
	return b
}

// ChannelReport splits the filter's responses by channel or by touchpoint (by is
// storage.ByChannel or storage.ByTouchpoint) and compares each with the rest of its
// scope (see Comparison). With perStore it adds each store that has responses in the
// filter, by id, its rows compared with the store's own other channels.
func (s *Service) ChannelReport(ctx context.Context, f storage.Filter, by string, perStore bool) (ChannelReport, error) {
	tallies, err := s.TalliesBy(ctx, f, by)
	if err != nil {
		return ChannelReport{}, fmt.Errorf("channel report: %w", err)
	}
	all := map[string]*tallied{}
	var (
		stores  []StoreChannels
		current map[string]*tallied
	)
	flush := func() {
		if current != nil {
			stores[len(stores)-1].ChannelBreakdown = breakdown(current, f.MinResponses)
		}
	}
	for _, lt := range tallies {
		if all[lt.Label] == nil {
			all[lt.Label] = &tallied{}
		}
		all[lt.Label].add(lt.Tally, lt.Suspect)
		if !perStore {
			continue
		}
		if len(stores) == 0 || stores[len(stores)-1].StoreID != lt.StoreID {
			flush()
			stores = append(stores, StoreChannels{StoreID: lt.StoreID})
			current = map[string]*tallied{}
		}
		current[lt.Label] = &tallied{Tally: lt.Tally, suspect: lt.Suspect}
	}
	flush()
	rep := ChannelReport{By: by, ChannelBreakdown: breakdown(all, f.MinResponses), Stores: stores}
	if len(stores) > 0 {
		list, err := s.StoreList(ctx)
		if err != nil {
			return ChannelReport{}, fmt.Errorf("channel report: %w", err)
		}
		names := make(map[string]string, len(list))
		for _, st := range list {
			names[st.ID] = st.Name
		}
		for i := range rep.Stores {
			rep.Stores[i].StoreName = names[rep.Stores[i].StoreID]
		}
	}
	return rep, nil
}

// DeviceChannelDays is how many of the store's days, to today, a kiosk's figures per
// channel cover: the manager view's longest period.
const DeviceChannelDays = 30

// DeviceChannels is the store's NPS per channel over its last DeviceChannelDays local
// days, for the kiosk's manager view (GET /v1/device/channels).
func (s *Service) DeviceChannels(ctx context.Context, d storage.EnrolledDevice) (wire.StoreChannels, error) {
	loc, err := s.location(d.Timezone)
	if err != nil {
		return wire.StoreChannels{}, fmt.Errorf("device channels: store %s time zone: %w", d.StoreID, err)
	}
	now := s.Now()
	today := now.In(loc)
	f := storage.Filter{StoreID: d.StoreID, To: today.Format(time.DateOnly),
		From: today.AddDate(0, 0, 1-DeviceChannelDays).Format(time.DateOnly)}
	rep, err := s.ChannelReport(ctx, f, storage.ByChannel, false)
	if err != nil {
		return wire.StoreChannels{}, fmt.Errorf("device channels: %w", err)
	}
	out := wire.StoreChannels{StoreID: d.StoreID, From: f.From, To: f.To, AsOf: now.UTC(),
		Channels: make([]wire.ChannelTally, 0, len(rep.Rows))}
	for _, r := range rep.Rows {
		out.Channels = append(out.Channels, wire.ChannelTally{Channel: r.Label, Responses: r.Responses,
			Promoters: r.Promoters, Passives: r.Passives, Detractors: r.Detractors, NPS: r.NPS, MarginOfError: r.MarginOfError})
	}
	return out, nil
}
