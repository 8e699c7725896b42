package storage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/followup"
)

// insertTogether stores a request's responses with their themes, and opens their cases
// with the cases' first history entry, in one statement on PostgreSQL: its data-modifying
// WITH queries join the themes and cases to the responses the INSERT stored, so a
// response stored before (a retry) adds neither again. It returns the ids of the
// responses stored and of the cases opened. insertRows, themeRows.insert and openCases
// do the same in four statements, each a round trip and a backend's work on a writer's
// connection, where the uploads queue; SQLite, with neither round trips nor data-modifying
// WITH queries, still takes those. false when the request is too large for one statement.
func insertTogether(ctx context.Context, t tx, req *insertRequest, storeID string, now time.Time) (inserted, opened map[string]bool, ok bool, err error) {
	var themes, cases []any
	for _, r := range req.batch {
		if r.Tags != nil {
			for _, m := range r.Tags.Themes {
				themes = append(themes, r.ID, m.Theme, m.Polarity)
			}
		}
		if r.Case != nil {
			cases = append(cases, r.Case.ID, r.ID, r.Case.DueAt.UnixMilli())
		}
	}
	columns := strings.Count(insertColumns, ",") + 1
	bound := len(req.rows)*columns + len(themes) + len(cases) + 6
	if len(req.rows) > insertChunk || bound > maxBound {
		return nil, nil, false, nil
	}
	args := make([]any, 0, bound)
	for _, r := range req.rows {
		args = append(args, r...)
	}
	var q strings.Builder
	q.WriteString(`WITH stored AS (INSERT INTO responses (` + insertColumns + `) VALUES ` + valueRows(len(req.rows), columns) +
		` ON CONFLICT (id) DO NOTHING RETURNING id)`)
	if len(themes) > 0 {
		q.WriteString(`, themes AS (INSERT INTO response_themes (response_id, theme, polarity)
			SELECT v.response_id, v.theme, v.polarity FROM (VALUES ` + typedRows(len(themes)/3, "", "", "INTEGER") +
			`) AS v (response_id, theme, polarity) JOIN stored ON stored.id = v.response_id)`)
		args = append(args, themes...)
	}
	if len(cases) > 0 {
		q.WriteString(`, opened AS (INSERT INTO cases (id, response_id, store_id, status, opened_at, due_at, updated_at)
			SELECT v.id, v.response_id, ?, ?, ?, v.due_at, ? FROM (VALUES ` + typedRows(len(cases)/3, "", "", "BIGINT") +
			`) AS v (id, response_id, due_at) JOIN stored ON stored.id = v.response_id
			ON CONFLICT (response_id) DO NOTHING RETURNING id),
			history AS (INSERT INTO case_events (case_id, at, actor, action, to_status)
			SELECT id, ?, 'collector', 'opened', ? FROM opened)
			SELECT false, id FROM stored UNION ALL SELECT true, id FROM opened`)
		open := string(followup.Open)
		args = append(args, storeID, open, now.UnixMilli(), now.UnixMilli())
		args = append(args, cases...)
		args = append(args, now.UnixMilli(), open)
	} else {
		q.WriteString(` SELECT false, id FROM stored`)
	}
	rows, err := t.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, nil, true, fmt.Errorf("insert responses, themes and cases: %w", err)
	}
	defer rows.Close()
	inserted, opened = make(map[string]bool, len(req.rows)), map[string]bool{}
	for rows.Next() {
		var (
			isCase bool
			id     string
		)
		if err := rows.Scan(&isCase, &id); err != nil {
			return nil, nil, true, fmt.Errorf("insert responses, themes and cases: %w", err)
		}
		if isCase {
			opened[id] = true
		} else {
			inserted[id] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, true, fmt.Errorf("insert responses, themes and cases: %w", err)
	}
	return inserted, opened, true, nil
}

// typedRows is n rows of placeholders for a VALUES list, one per type: an empty type
// leaves the value text, as PostgreSQL takes an untyped one in VALUES; another is cast
// to it.
func typedRows(n int, types ...string) string {
	cells := make([]string, len(types))
	for i, typ := range types {
		cells[i] = "?"
		if typ != "" {
			cells[i] = "CAST(? AS " + typ + ")"
		}
	}
	row := "(" + strings.Join(cells, ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}
