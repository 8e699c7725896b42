package storage

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/followup"
)

// CaseStats are the closed-loop figures of a store, or of every store in scope.
//
// A case is handled within its SLA when its first move out of open (to contacted,
// resolved or closed without action) happened at or before its due time. Its SLA is
// judged once it has moved, or once it is still open past its due time; a case that is
// open and not yet due counts in neither part of the share. First contact is the first
// move to contacted or straight to resolved; resolution is the move to resolved (a case
// closed without action resolved nothing and is left out of that median). Both are
// counted from when the case opened.
type CaseStats struct {
	StoreID   string `json:"store_id"` // empty: the total over every store in scope
	Cases     int64  `json:"cases"`
	Open      int64  `json:"open"` // not finished: open or contacted
	Overdue   int64  `json:"overdue"`
	Judged    int64  `json:"sla_judged"`
	WithinSLA int64  `json:"within_sla"`
	// FirstContacts cases were contacted, after FirstContactMedian (zero when none).
	FirstContacts      int64         `json:"first_contacts"`
	FirstContactMedian time.Duration `json:"first_contact_median_ns"`
	// Resolutions cases were resolved, after ResolutionMedian (zero when none).
	Resolutions      int64         `json:"resolutions"`
	ResolutionMedian time.Duration `json:"resolution_median_ns"`
}

// WithinSLARatio is the share of judged cases handled within their SLA, from 0 to 1;
// zero when no case is judged yet (check Judged).
func (s CaseStats) WithinSLARatio() float64 {
	if s.Judged == 0 {
		return 0
	}
	return float64(s.WithinSLA) / float64(s.Judged)
}

// CaseStats returns the closed-loop figures of the cases in f's store, region and channel
// (its status, overdue and limit are ignored): the total over them first, with an empty
// StoreID, then one entry per store that has cases, by store id. Medians are computed
// here from each case's durations, the same way on SQLite and PostgreSQL.
func (db *DB) CaseStats(ctx context.Context, f CaseFilter) ([]CaseStats, error) {
	now := db.now().UnixMilli()
	conds, args := []string{"1 = 1"}, []any{
		string(followup.Open),
		string(followup.Contacted), string(followup.Resolved),
		string(followup.Resolved),
	}
	if f.StoreID != "" {
		conds, args = append(conds, "c.store_id = ?"), append(args, f.StoreID)
	}
	if f.Region != "" {
		conds, args = append(conds, "c.store_id IN (SELECT id FROM stores WHERE region = ?)"), append(args, f.Region)
	}
	if f.Channel != "" {
		conds, args = append(conds, "c.response_id IN (SELECT id FROM responses WHERE channel = ?)"), append(args, f.Channel)
	}
	// One row per case with the times of its first moves; the history is small per case,
	// and case_events is indexed by case.
	rows, err := db.read.QueryContext(ctx, `
		SELECT c.store_id, c.status, c.opened_at, c.due_at,
		       MIN(CASE WHEN e.from_status = ? THEN e.at END),
		       MIN(CASE WHEN e.to_status IN (?, ?) THEN e.at END),
		       MIN(CASE WHEN e.to_status = ? THEN e.at END)
		  FROM cases c LEFT JOIN case_events e ON e.case_id = c.id AND e.action = 'moved'
		 WHERE `+strings.Join(conds, " AND ")+`
		 GROUP BY c.id, c.store_id, c.status, c.opened_at, c.due_at`, args...)
	if err != nil {
		return nil, fmt.Errorf("case stats: %w", err)
	}
	defer rows.Close()

	type acc struct {
		CaseStats
		contact, resolve []time.Duration
	}
	total := &acc{}
	byStore := map[string]*acc{}
	for rows.Next() {
		var (
			store                      string
			status                     followup.Status
			opened, due                int64
			firstMove, contact, solved sql.NullInt64
		)
		if err := rows.Scan(&store, &status, &opened, &due, &firstMove, &contact, &solved); err != nil {
			return nil, fmt.Errorf("case stats: %w", err)
		}
		s := byStore[store]
		if s == nil {
			s = &acc{CaseStats: CaseStats{StoreID: store}}
			byStore[store] = s
		}
		for _, a := range []*acc{s, total} {
			a.Cases++
			if !status.Final() {
				a.Open++
				if now > due {
					a.Overdue++
				}
			}
			switch {
			case firstMove.Valid:
				a.Judged++
				if firstMove.Int64 <= due {
					a.WithinSLA++
				}
			case now > due:
				a.Judged++ // still open past its due time: missed
			}
			if contact.Valid {
				a.contact = append(a.contact, time.Duration(contact.Int64-opened)*time.Millisecond)
			}
			if solved.Valid {
				a.resolve = append(a.resolve, time.Duration(solved.Int64-opened)*time.Millisecond)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("case stats: %w", err)
	}
	finish := func(a *acc) CaseStats {
		a.FirstContacts, a.FirstContactMedian = int64(len(a.contact)), median(a.contact)
		a.Resolutions, a.ResolutionMedian = int64(len(a.resolve)), median(a.resolve)
		return a.CaseStats
	}
	out := []CaseStats{finish(total)}
	for _, s := range byStore {
		out = append(out, finish(s))
	}
	slices.SortFunc(out[1:], func(a, b CaseStats) int { return cmp.Compare(a.StoreID, b.StoreID) })
	return out, nil
}

// median is the middle duration, or the mean of the middle two; zero for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}
