package storage

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/npskiosk/npskiosk/nps"
)

// Tags are what the service read in a response's comment and reasons (package insight):
// its themes and sentiment. Storage keeps them and counts them; it does not compute them.
type Tags struct {
	// Fingerprint names the taxonomy the response was tagged with; the re-tagging job
	// re-tags a store's responses whose fingerprint is not its survey's.
	Fingerprint string
	// Themes are the comment's themes and the picked reasons that are themes, each once.
	Themes []ThemeMention
	// HasSentiment is false without a comment: sentiment and its score are then NULL.
	HasSentiment   bool
	Sentiment      int // -1, 0 or 1
	SentimentScore float64
	// WorthALook flags a comment at odds with its score (insight.WorthALook).
	WorthALook bool
}

// ThemeMention is one theme of a response and how its comment speaks of it: -1, 0 or 1.
type ThemeMention struct {
	Theme    string
	Polarity int
}

// The kinds of theme_rollups rows: a theme of the taxonomy, a reason the shopper picked,
// or a flag (FlagWorthALook), counted like them so that reports read a rollup, not the
// responses.
const (
	KindTheme  = "theme"
	KindReason = "reason"
	KindFlag   = "flag"
)

// FlagWorthALook is the flag row counting the comments at odds with their score.
const FlagWorthALook = "worth_a_look"

// themeKey is one row of theme_rollups within a store.
type themeKey struct{ day, channel, touchpoint, segment, kind, theme string }

// themeCounts adds a response's themes, reasons and worth-a-look flag to counts, or takes
// them away (sign -1), by the response's category. A suspect response is not counted, as
// in daily_rollups.
func themeCounts(counts map[themeKey]nps.Tally, sign int64, day, channel, touchpoint, segment string, score int, suspect, worth bool, themes []string, reasons []string) {
	if suspect {
		return
	}
	var one nps.Tally
	one.Add(nps.Score(score))
	add := func(kind, theme string) {
		k := themeKey{day, channel, touchpoint, segment, kind, theme}
		t := counts[k]
		t.Promoters += sign * one.Promoters
		t.Passives += sign * one.Passives
		t.Detractors += sign * one.Detractors
		counts[k] = t
	}
	for _, t := range themes {
		add(KindTheme, t)
	}
	if worth {
		add(KindFlag, FlagWorthALook)
	}
	seen := make(map[string]bool, len(reasons))
	for _, r := range reasons {
		if !seen[r] {
			seen[r] = true
			add(KindReason, r)
		}
	}
}

// addThemeRollups adds counts (negative ones take away) to theme_rollups in key order,
// so that concurrent transactions of one store lock rows in one order and cannot
// deadlock. Keys whose counts net to zero are skipped.
func addThemeRollups(ctx context.Context, t tx, storeID string, counts map[themeKey]nps.Tally) error {
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b themeKey) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.channel, b.channel), cmp.Compare(a.touchpoint, b.touchpoint),
			cmp.Compare(a.segment, b.segment), cmp.Compare(a.kind, b.kind), cmp.Compare(a.theme, b.theme))
	})
	const cols = 10
	args := make([]any, 0, len(keys)*cols)
	for _, k := range keys {
		c := counts[k]
		if c == (nps.Tally{}) {
			continue
		}
		args = append(args, storeID, k.day, k.channel, k.touchpoint, k.segment, k.kind, k.theme, c.Promoters, c.Passives, c.Detractors)
	}
	// One statement for all the keys (no key comes twice: they are a map's), rows
	// written, and on PostgreSQL locked, in key order.
	err := execValues(ctx, t, `INSERT INTO theme_rollups (store_id, day, channel, touchpoint, segment, kind, theme, promoters, passives, detractors)`,
		cols, args, `
		ON CONFLICT (store_id, day, channel, touchpoint, segment, kind, theme) DO UPDATE SET
		  promoters = theme_rollups.promoters + excluded.promoters,
		  passives = theme_rollups.passives + excluded.passives,
		  detractors = theme_rollups.detractors + excluded.detractors`)
	if err != nil {
		return fmt.Errorf("update theme rollups of %s: %w", storeID, err)
	}
	return nil
}

// themeRows are the response_themes rows of one transaction, inserted together.
type themeRows struct {
	args []any
}

// add adds a response's themes.
func (w *themeRows) add(id string, tags *Tags) {
	for _, m := range tags.Themes {
		w.args = append(w.args, id, m.Theme, m.Polarity)
	}
}

// insert inserts the themes added so far, in one statement a few thousand rows, and
// forgets them.
func (w *themeRows) insert(ctx context.Context, t tx) error {
	if err := execValues(ctx, t, `INSERT INTO response_themes (response_id, theme, polarity)`, 3, w.args, ""); err != nil {
		return fmt.Errorf("insert response themes: %w", err)
	}
	w.args = w.args[:0]
	return nil
}

// themeKeys are the theme keys of tags.
func themeKeys(tags *Tags) []string {
	keys := make([]string, len(tags.Themes))
	for i, m := range tags.Themes {
		keys[i] = m.Theme
	}
	return keys
}

// tagColumns are the values of the responses' sentiment, sentiment_score, worth_a_look
// and theme_fingerprint columns: NULLs and false when untagged.
func tagColumns(tags *Tags) (sentiment, score any, worth bool, fingerprint any) {
	if tags == nil {
		return nil, nil, false, nil
	}
	if tags.HasSentiment {
		sentiment, score = tags.Sentiment, tags.SentimentScore
	}
	return sentiment, score, tags.WorthALook, tags.Fingerprint
}

// storedThemes reads the themes a response has now.
func storedThemes(ctx context.Context, t tx, id string) ([]string, error) {
	rows, err := t.QueryContext(ctx, `SELECT theme FROM response_themes WHERE response_id = ? ORDER BY theme`, id)
	if err != nil {
		return nil, fmt.Errorf("themes of %s: %w", id, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var th string
		if err := rows.Scan(&th); err != nil {
			return nil, fmt.Errorf("themes of %s: %w", id, err)
		}
		out = append(out, th)
	}
	return out, rows.Err()
}

// ResponseTags are a stored response's themes and sentiment, as the API shows them.
type ResponseTags struct {
	Themes         []ThemeMention `json:"themes"`
	Sentiment      *int           `json:"sentiment"`
	SentimentScore *float64       `json:"sentiment_score"`
	WorthALook     bool           `json:"worth_a_look"`
	Fingerprint    string         `json:"taxonomy_fingerprint,omitempty"`
}

// TagsOf reads the themes and sentiment stored for a response.
func (db *DB) TagsOf(ctx context.Context, id string) (ResponseTags, error) {
	var (
		out   ResponseTags
		sent  sql.NullInt64
		score sql.NullFloat64
		fp    sql.NullString
	)
	err := db.read.QueryRowContext(ctx, `SELECT sentiment, sentiment_score, worth_a_look, theme_fingerprint FROM responses WHERE id = ?`, id).
		Scan(&sent, &score, &out.WorthALook, &fp)
	if errors.Is(err, sql.ErrNoRows) {
		return out, fmt.Errorf("tags of %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return out, fmt.Errorf("tags of %s: %w", id, err)
	}
	if sent.Valid {
		v := int(sent.Int64)
		out.Sentiment = &v
	}
	if score.Valid {
		out.SentimentScore = &score.Float64
	}
	out.Fingerprint = fp.String
	rows, err := db.read.QueryContext(ctx, `SELECT theme, polarity FROM response_themes WHERE response_id = ? ORDER BY theme`, id)
	if err != nil {
		return out, fmt.Errorf("tags of %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m ThemeMention
		if err := rows.Scan(&m.Theme, &m.Polarity); err != nil {
			return out, fmt.Errorf("tags of %s: %w", id, err)
		}
		out.Themes = append(out.Themes, m)
	}
	return out, rows.Err()
}

// decodeReasons reads a responses.reasons column.
func decodeReasons(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("reasons %q: %w", s, err)
	}
	return out, nil
}

// ThemeTally is the tally of the responses that mention a theme (or picked a reason),
// in one store when StoreID is set.
type ThemeTally struct {
	StoreID string
	Theme   string
	nps.Tally
}

// ThemeTallies sums theme_rollups of one kind (KindTheme, KindReason) over the filter,
// per theme, and per store and theme when byStore.
func (db *DB) ThemeTallies(ctx context.Context, f Filter, kind string, byStore bool) ([]ThemeTally, error) {
	where, args := f.where("")
	cols := "''"
	if byStore {
		cols = "store_id"
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT `+cols+` AS s, theme, CAST(SUM(promoters) AS BIGINT), CAST(SUM(passives) AS BIGINT), CAST(SUM(detractors) AS BIGINT)
		  FROM theme_rollups WHERE kind = ? AND `+where+` GROUP BY s, theme ORDER BY s, theme`,
		append([]any{kind}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("theme tallies: %w", err)
	}
	defer rows.Close()
	var out []ThemeTally
	for rows.Next() {
		var t ThemeTally
		if err := rows.Scan(&t.StoreID, &t.Theme, &t.Promoters, &t.Passives, &t.Detractors); err != nil {
			return nil, fmt.Errorf("theme tallies: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("theme tallies: %w", err)
	}
	return out, nil
}

// StoreTallies is each store's tally over the filter (suspect responses left out), for
// the stores with any response: perStore's, from the report sums where they answer.
func (db *DB) StoreTallies(ctx context.Context, f Filter) (map[string]nps.Tally, error) {
	reports, err := db.perStore(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("store tallies: %w", err)
	}
	out := make(map[string]nps.Tally, len(reports))
	for _, r := range reports {
		t := nps.Tally{Promoters: r.Promoters, Passives: r.Passives, Detractors: r.Detractors}
		if t.Total() > 0 {
			out[r.ID] = t
		}
	}
	return out, nil
}

// WorthALookCount is how many responses in the filter are worth a look (a comment at
// odds with its score), suspect ones left out as from every figure: from theme_rollups.
func (db *DB) WorthALookCount(ctx context.Context, f Filter) (int64, error) {
	where, args := f.where("")
	var n int64
	err := db.read.QueryRowContext(ctx, `
		SELECT CAST(COALESCE(SUM(promoters + passives + detractors), 0) AS BIGINT) FROM theme_rollups
		 WHERE kind = ? AND theme = ? AND `+where, append([]any{KindFlag, FlagWorthALook}, args...)...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("worth a look: %w", err)
	}
	return n, nil
}
