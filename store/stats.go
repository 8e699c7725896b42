package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/nps"
)

// RangeTally is the NPS tally of a time range on this kiosk. Suspect taps are counted
// apart and left out of Tally.
type RangeTally struct {
	nps.Tally
	Suspect int64
}

// categoryCounts is the SQL that splits scores into NPS categories (promoters,
// passives, detractors, then suspect taps), with the bounds taken from nps.
var categoryCounts = func() string {
	var b strings.Builder
	for _, c := range []nps.Category{nps.Promoter, nps.Passive, nps.Detractor} {
		lo, hi := c.ScoreRange()
		fmt.Fprintf(&b, "COUNT(*) FILTER (WHERE suspect = 0 AND score BETWEEN %d AND %d), ", lo, hi)
	}
	return b.String() + "COUNT(*) FILTER (WHERE suspect = 1)"
}()

// detractorsFirst orders rows with detractors before everyone else.
var detractorsFirst = fmt.Sprintf("score < %d DESC", nps.MinPassive)

// Tally counts the responses tapped in [from, to). Every tap counts from the moment it
// is recorded, whether or not its follow-up is finished: the tap is the answer.
func (db *DB) Tally(ctx context.Context, from, to time.Time) (RangeTally, error) {
	var t RangeTally
	err := db.read.QueryRowContext(ctx,
		`SELECT `+categoryCounts+` FROM responses WHERE created_at >= ? AND created_at < ?`,
		millis(from), millis(to)).Scan(&t.Promoters, &t.Passives, &t.Detractors, &t.Suspect)
	if err != nil {
		return RangeTally{}, fmt.Errorf("tally %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	return t, nil
}

// DayTally is one calendar day's tally.
type DayTally struct {
	Day time.Time // midnight, in the location asked for
	RangeTally
}

// Daily returns one tally per calendar day in loc, for the days from the one holding
// from up to the one holding to (inclusive), empty days included, oldest first.
func (db *DB) Daily(ctx context.Context, from, to time.Time, loc *time.Location) ([]DayTally, error) {
	if loc == nil {
		loc = time.Local
	}
	first := midnight(from.In(loc))
	last := midnight(to.In(loc))
	if last.Before(first) {
		return nil, fmt.Errorf("daily tallies: range ends (%s) before it starts (%s)", to, from)
	}
	var days []DayTally
	index := map[time.Time]int{}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		index[d] = len(days)
		days = append(days, DayTally{Day: d})
	}
	rows, err := db.read.QueryContext(ctx,
		`SELECT created_at, score, suspect FROM responses WHERE created_at >= ? AND created_at < ?`,
		millis(first), millis(last.AddDate(0, 0, 1)))
	if err != nil {
		return nil, fmt.Errorf("daily tallies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			created int64
			score   int
			suspect bool
		)
		if err := rows.Scan(&created, &score, &suspect); err != nil {
			return nil, fmt.Errorf("daily tallies: %w", err)
		}
		i, ok := index[midnight(fromMillis(created).In(loc))]
		if !ok {
			continue
		}
		if suspect {
			days[i].Suspect++
		} else {
			days[i].Add(nps.Score(score))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("daily tallies: %w", err)
	}
	return days, nil
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// ReasonCount is how often a reason was chosen.
type ReasonCount struct {
	Reason string
	Count  int64
}

// ReasonCounts returns the reasons chosen in responses tapped in [from, to), most
// frequent first, at most limit of them. Suspect taps are left out.
func (db *DB) ReasonCounts(ctx context.Context, from, to time.Time, limit int) ([]ReasonCount, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT j.value, COUNT(*) AS n
		  FROM responses r, json_each(r.reasons) j
		 WHERE r.created_at >= ? AND r.created_at < ? AND r.suspect = 0
		 GROUP BY j.value ORDER BY n DESC, j.value LIMIT ?`,
		millis(from), millis(to), limit)
	if err != nil {
		return nil, fmt.Errorf("reason counts: %w", err)
	}
	defer rows.Close()
	var out []ReasonCount
	for rows.Next() {
		var rc ReasonCount
		if err := rows.Scan(&rc.Reason, &rc.Count); err != nil {
			return nil, fmt.Errorf("reason counts: %w", err)
		}
		out = append(out, rc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reason counts: %w", err)
	}
	return out, nil
}

// Comment is a shopper's comment with what the manager needs beside it.
type Comment struct {
	ID        string
	Score     int
	Text      string
	Reasons   []string
	Locale    string
	CreatedAt time.Time
}

// RecentComments returns up to limit comments from responses tapped since since,
// detractors first, then newest first. Suspect taps are left out.
func (db *DB) RecentComments(ctx context.Context, since time.Time, limit int) ([]Comment, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT `+responseColumns+` FROM responses
		 WHERE created_at >= ? AND comment <> '' AND suspect = 0
		 ORDER BY `+detractorsFirst+`, created_at DESC LIMIT ?`,
		millis(since), limit)
	if err != nil {
		return nil, fmt.Errorf("recent comments: %w", err)
	}
	defer rows.Close()
	var out []Comment
	for rows.Next() {
		r, err := scanResponse(rows)
		if err != nil {
			return nil, fmt.Errorf("recent comments: %w", err)
		}
		out = append(out, Comment{ID: r.ID, Score: r.Score, Text: r.Comment, Reasons: r.Reasons,
			Locale: r.Locale, CreatedAt: r.CreatedAt})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recent comments: %w", err)
	}
	return out, nil
}
