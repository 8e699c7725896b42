package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// The answers to the surveys' extra questions are kept with each response as JSON
// (responses.answers, by question key). Reports on them read the responses themselves,
// expanding that JSON in SQL (json_each on SQLite, jsonb_each on PostgreSQL), since a
// survey's questions change more often than its rollups could follow. Suspect responses
// are left out, as from every other count.

// AnswerTally is how many responses of the filter, by category, gave one value to one
// question (Value: an option key or "1" to "5"), or answered it at all (Value empty).
type AnswerTally struct {
	Question   string
	Value      string
	Promoters  int64
	Passives   int64
	Detractors int64
}

// Total is the tally's responses.
func (t AnswerTally) Total() int64 { return t.Promoters + t.Passives + t.Detractors }

// AnswerTallies counts, for each of the questions named, the responses of the filter
// that answered it (one tally with an empty Value) and those that gave each value
// (one tally per value; a multiple choice counts a response once per option it
// chose), ordered by question and value. Keys no response answered have no tallies.
func (db *DB) AnswerTallies(ctx context.Context, f Filter, questions []string) ([]AnswerTally, error) {
	if len(questions) == 0 {
		return nil, nil
	}
	where, args := f.answersWhere(questions)
	var out []AnswerTally
	// A text blanked by a retention purge still counts as answered, not as a value.
	for _, q := range []struct{ from, value, cond string }{
		{db.dialect.answerKeys, "CAST('' AS TEXT)", ""},
		{db.dialect.answerValues, "v.value", " AND v.value <> ''"},
	} {
		rows, err := db.read.QueryContext(ctx, `
			SELECT q.key, `+q.value+` AS val, `+categoryCounts("r.score")+`
			  FROM responses r, `+q.from+`
			 WHERE `+where+q.cond+`
			 GROUP BY q.key, val ORDER BY q.key, val`, args...)
		if err != nil {
			return nil, fmt.Errorf("answer tallies: %w", err)
		}
		for rows.Next() {
			var t AnswerTally
			if err := rows.Scan(&t.Question, &t.Value, &t.Promoters, &t.Passives, &t.Detractors); err != nil {
				rows.Close()
				return nil, fmt.Errorf("answer tallies: %w", err)
			}
			out = append(out, t)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("answer tallies: %w", err)
		}
	}
	return out, nil
}

// AnswerText is one shopper's answer to a text question, with where and when it came.
type AnswerText struct {
	Question   string    `json:"-"`
	Text       string    `json:"text"`
	Score      int       `json:"score"`
	Category   string    `json:"category"`
	StoreID    string    `json:"store_id"`
	Day        string    `json:"day"`
	Channel    string    `json:"channel"`
	Touchpoint string    `json:"touchpoint,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// AnswerTexts returns, for each of the (text) questions named, the latest perCategory
// answers of the filter's promoters, passives and detractors each, newest first. Texts
// blanked by a retention purge are left out.
func (db *DB) AnswerTexts(ctx context.Context, f Filter, questions []string, perCategory int) ([]AnswerText, error) {
	if len(questions) == 0 || perCategory <= 0 {
		return nil, nil
	}
	where, args := f.answersWhere(questions)
	category := categoryOf("r.score")
	args = append(args, perCategory)
	rows, err := db.read.QueryContext(ctx, `
		SELECT qkey, val, score, cat, store_id, day, channel, touchpoint, created_at FROM (
			SELECT q.key AS qkey, v.value AS val, r.score, `+category+` AS cat, r.store_id, r.day, r.channel,
			       r.touchpoint, r.created_at, r.id,
			       ROW_NUMBER() OVER (PARTITION BY q.key, `+category+` ORDER BY r.created_at DESC, r.id) AS n
			  FROM responses r, `+db.dialect.answerValues+`
			 WHERE `+where+` AND v.value <> ''
		) t WHERE n <= ? ORDER BY qkey, created_at DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("answer texts: %w", err)
	}
	defer rows.Close()
	var out []AnswerText
	for rows.Next() {
		var (
			t  AnswerText
			at int64
		)
		if err := rows.Scan(&t.Question, &t.Text, &t.Score, &t.Category, &t.StoreID, &t.Day, &t.Channel, &t.Touchpoint, &at); err != nil {
			return nil, fmt.Errorf("answer texts: %w", err)
		}
		t.CreatedAt = time.UnixMilli(at).UTC()
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("answer texts: %w", err)
	}
	return out, nil
}

// answersWhere is the WHERE clause of the answers of the filter's counted responses to
// the questions named (q.key from answerKeys or answerValues).
func (f Filter) answersWhere(questions []string) (string, []any) {
	where, args := f.where("r.")
	where = "NOT r.suspect AND r.answers <> '' AND " + where + " AND q.key IN (" + placeholders(len(questions)) + ")"
	for _, q := range questions {
		args = append(args, q)
	}
	return where, args
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// categoryOf is the SQL that names a score column's category (promoter, passive or
// detractor), with the bounds taken from nps.
func categoryOf(score string) string {
	var b strings.Builder
	b.WriteString("CASE")
	for _, c := range []nps.Category{nps.Promoter, nps.Passive} {
		lo, hi := c.ScoreRange()
		fmt.Fprintf(&b, " WHEN %s BETWEEN %d AND %d THEN '%s'", score, lo, hi, c)
	}
	fmt.Fprintf(&b, " ELSE '%s' END", nps.Detractor)
	return b.String()
}

// SurveysWithQuestions returns the distinct surveys of the filter's stores (its store,
// region and format; every store without them) that ask extra questions, in the order of
// their first store.
func (db *DB) SurveysWithQuestions(ctx context.Context, f Filter) ([]wire.Survey, error) {
	where, args := "survey LIKE '%\"questions\"%'", []any{}
	if f.StoreID != "" {
		where += " AND id = ?"
		args = append(args, f.StoreID)
	}
	if f.Region != "" {
		where += " AND region = ?"
		args = append(args, f.Region)
	}
	if f.Format != "" {
		where += " AND format = ?"
		args = append(args, f.Format)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT survey FROM stores WHERE `+where+` GROUP BY survey ORDER BY MIN(id)`, args...)
	if err != nil {
		return nil, fmt.Errorf("surveys with questions: %w", err)
	}
	defer rows.Close()
	var out []wire.Survey
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("surveys with questions: %w", err)
		}
		var s wire.Survey
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			return nil, fmt.Errorf("surveys with questions: %w", err)
		}
		if len(s.Questions) > 0 { // not only a label that says "questions"
			out = append(out, s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("surveys with questions: %w", err)
	}
	return out, nil
}
