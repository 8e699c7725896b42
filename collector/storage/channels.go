package storage

import (
	"context"
	"fmt"
	"slices"

	"github.com/npskiosk/npskiosk/nps"
)

// The dimensions a report can split responses by, beside the store.
const (
	ByChannel    = "channel"
	ByTouchpoint = "touchpoint"
)

// LabelTally is one store's tally under one label of a dimension: a channel (kiosk, qr,
// …) or a touchpoint (checkout, delivery, …; empty for responses that name none).
type LabelTally struct {
	StoreID string
	Label   string
	Tally   nps.Tally
	Suspect int64
}

// TalliesBy sums the rollups of the filter per store and per channel or touchpoint (by
// is ByChannel or ByTouchpoint), ordered by store and label. Stores without responses
// in the filter have no rows.
func (db *DB) TalliesBy(ctx context.Context, f Filter, by string) ([]LabelTally, error) {
	if by != ByChannel && by != ByTouchpoint {
		return nil, fmt.Errorf("tallies by %q: %w: split by channel or touchpoint", by, ErrInvalid)
	}
	where, args := f.where("")
	// by is one of two column names, never the caller's text.
	rows, err := db.read.QueryContext(ctx, `SELECT store_id, `+by+`, `+rollupSums+`
		  FROM `+f.rollups()+` WHERE `+where+` GROUP BY store_id, `+by+` ORDER BY store_id, `+by, args...)
	if err != nil {
		return nil, fmt.Errorf("tallies by %s: %w", by, err)
	}
	defer rows.Close()
	var out []LabelTally
	for rows.Next() {
		var lt LabelTally
		if err := rows.Scan(&lt.StoreID, &lt.Label, &lt.Tally.Promoters, &lt.Tally.Passives, &lt.Tally.Detractors, &lt.Suspect); err != nil {
			return nil, fmt.Errorf("tallies by %s: %w", by, err)
		}
		out = append(out, lt)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tallies by %s: %w", by, err)
	}
	return out, nil
}

// Labels lists the channels and touchpoints that have responses in the filter's period,
// stores and region, whatever its channel and touchpoint: the choices of a report's
// channel and touchpoint filters. A response without a touchpoint adds none.
func (db *DB) Labels(ctx context.Context, f Filter) (channels, touchpoints []string, err error) {
	f.Channel, f.Touchpoint = "", ""
	where, args := f.where("")
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT channel, touchpoint FROM `+f.rollups()+` WHERE `+where+`
		 ORDER BY channel, touchpoint`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("report labels: %w", err)
	}
	defer rows.Close()
	seenCh, seenTp := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var ch, tp string
		if err := rows.Scan(&ch, &tp); err != nil {
			return nil, nil, fmt.Errorf("report labels: %w", err)
		}
		if !seenCh[ch] {
			seenCh[ch] = true
			channels = append(channels, ch)
		}
		if tp != "" && !seenTp[tp] {
			seenTp[tp] = true
			touchpoints = append(touchpoints, tp)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("report labels: %w", err)
	}
	slices.Sort(touchpoints)
	return channels, touchpoints, nil
}

// NPSReportOf is the report of a tally, as every report shows one: for callers that sum
// tallies themselves, such as the channel comparison.
func NPSReportOf(t nps.Tally, suspect int64) NPSReport { return report(t, suspect) }

// The store labels a report can split responses by.
const (
	ByRegion = "region"
	ByFormat = "format"
)

// TalliesByStoreLabel sums the rollups of the filter per region or per format of their
// stores (by is ByRegion or ByFormat), ordered by label; LabelTally.StoreID is empty.
// Stores without a region (or format) are summed under "".
func (db *DB) TalliesByStoreLabel(ctx context.Context, f Filter, by string) ([]LabelTally, error) {
	if by != ByRegion && by != ByFormat {
		return nil, fmt.Errorf("tallies by %q: %w: split by region or format", by, ErrInvalid)
	}
	where, args := f.where("r.")
	// by is one of two column names, never the caller's text.
	rows, err := db.read.QueryContext(ctx, `SELECT s.`+by+`, `+rollupSums+`
		  FROM `+f.rollups()+` r JOIN stores s ON s.id = r.store_id
		 WHERE `+where+` GROUP BY s.`+by+` ORDER BY s.`+by, args...)
	if err != nil {
		return nil, fmt.Errorf("tallies by %s: %w", by, err)
	}
	defer rows.Close()
	var out []LabelTally
	for rows.Next() {
		var lt LabelTally
		if err := rows.Scan(&lt.Label, &lt.Tally.Promoters, &lt.Tally.Passives, &lt.Tally.Detractors, &lt.Suspect); err != nil {
			return nil, fmt.Errorf("tallies by %s: %w", by, err)
		}
		out = append(out, lt)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tallies by %s: %w", by, err)
	}
	return out, nil
}

// Segments lists the customer segments that have responses in the filter's period,
// stores, region, format, channel and touchpoint, whatever its segment: the choices of a
// report's segment filter.
func (db *DB) Segments(ctx context.Context, f Filter) ([]string, error) {
	f.Segment = ""
	where, args := f.where("")
	out, err := db.distinct(ctx, `SELECT DISTINCT segment FROM segment_rollups WHERE `+where+` ORDER BY segment`, args...)
	if err != nil {
		return nil, fmt.Errorf("report segments: %w", err)
	}
	return out, nil
}
