package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/contactvault"
	"github.com/npskiosk/npskiosk/nps"
)

// APIToken is a reader of reports: all stores (HQ) or one store.
type APIToken struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	StoreID string   `json:"store_id,omitempty"` // empty: every store
	Scopes  []string `json:"scopes"`             // what it may do: see Scopes
	Token   string   `json:"token,omitempty"`    // shown once, when made
}

// APITokenPrefix starts every API token, which tells one from a dashboard session's.
const APITokenPrefix = "api_"

// AddAPIToken makes a token for the JSON API with scopes (as ParseScopes reads them;
// none: DefaultScopes).
func (db *DB) AddAPIToken(ctx context.Context, name, storeID string, scopes ...string) (APIToken, error) {
	if name == "" {
		return APIToken{}, fmt.Errorf("add token: %w: a name is required", ErrInvalid)
	}
	scopes, err := ParseScopes(scopes...)
	if err != nil {
		return APIToken{}, fmt.Errorf("add token: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return APIToken{}, fmt.Errorf("add token: %w", err)
	}
	t := APIToken{ID: uuid.Must(uuid.NewV7()).String(), Name: name, StoreID: storeID, Scopes: scopes,
		Token: APITokenPrefix + base64.RawURLEncoding.EncodeToString(raw)}
	var store any
	if storeID != "" {
		store = storeID
	}
	_, err = db.write.ExecContext(ctx,
		`INSERT INTO api_tokens (id, name, token_hash, store_id, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, name, hashSecret(t.Token), store, scopesColumn(scopes), db.now().UnixMilli())
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "foreign key") {
		return APIToken{}, fmt.Errorf("add token: store %q: %w", storeID, ErrNotFound)
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("add token: %w", err)
	}
	return t, nil
}

// Reader is who is asking for a report: an API token's holder, or a signed-in user.
type Reader struct {
	TokenID string // set for an API token
	UserID  string // set for a user
	Name    string // the token's or the user's name: who made a change, in case histories
	StoreID string // empty: every store
	Region  string // set: that region's stores only
	// Scopes are an API token's (see Scopes); a user's are empty.
	Scopes []string
	// HideContacts: the reader may not see shoppers' contact details (a user without
	// the contacts permission; a token without the scope that allows them). HideContact
	// and HideCaseContact blank them for it.
	HideContacts bool
}

// ContactHiddenText is shown in place of a contact to a reader who may not see it.
const ContactHiddenText = "hidden (no permission to see contact details)"

// HideContact is what the reader may see of a contact: itself, or ContactHiddenText
// when there is one to hide.
func (r Reader) HideContact(contact, sealedKey string) (string, string) {
	if !r.HideContacts || contact == "" && sealedKey == "" {
		return contact, sealedKey
	}
	return ContactHiddenText, ""
}

// HideCaseContact blanks a case's contact for a reader who may not see it.
func (r Reader) HideCaseContact(c *Case) {
	c.Response.Contact, c.Response.ContactSealed = r.HideContact(c.Response.Contact, c.Response.ContactSealed)
}

// HideCommentContacts blanks the contacts of comments for a reader who may not see them.
func (r Reader) HideCommentContacts(cs []Comment) {
	for i := range cs {
		cs[i].Contact, cs[i].ContactSealed = r.HideContact(cs[i].Contact, cs[i].ContactSealed)
	}
}

// MaySee reports whether the reader may see a store.
func (r Reader) MaySee(s Store) bool {
	return (r.StoreID == "" || s.ID == r.StoreID) && (r.Region == "" || s.Region == r.Region)
}

// Chain reports whether the reader sees every store.
func (r Reader) Chain() bool { return r.StoreID == "" && r.Region == "" }

// AuthenticateReader finds the unrevoked API token a secret belongs to, or returns
// ErrUnauthorized. It notes the token's last use at most once a minute, to spare the
// writer.
func (db *DB) AuthenticateReader(ctx context.Context, token string) (Reader, error) {
	var (
		r      Reader
		store  sql.NullString
		used   sql.NullInt64
		scopes string
	)
	err := db.read.QueryRowContext(ctx,
		`SELECT id, name, store_id, scopes, last_used_at FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL`, hashSecret(token)).
		Scan(&r.TokenID, &r.Name, &store, &scopes, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return Reader{}, ErrUnauthorized
	}
	if err != nil {
		return Reader{}, fmt.Errorf("authenticate reader: %w", err)
	}
	r.StoreID, r.Scopes = store.String, scopesOfColumn(scopes)
	now := db.now()
	if !used.Valid || now.Sub(time.UnixMilli(used.Int64)) >= tokenTouchEvery {
		if _, err := db.write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now.UnixMilli(), r.TokenID); err != nil {
			db.log.Warn("note API token last used", "token", r.TokenID, "err", err)
		}
	}
	return r, nil
}

// Filter selects responses for a report. Days are calendar days in each store's own
// time zone, inclusive.
type Filter struct {
	StoreID    string
	Region     string
	Format     string // the stores of this format (supermarket, express, …); empty: every format
	Channel    string // kiosk, qr, web, email or a link's own label; empty: every channel
	Touchpoint string // empty: every touchpoint
	Segment    string // the responses of this customer segment (read from segment_rollups); empty: every response
	From, To   string // YYYY-MM-DD
	// MinResponses is the fewest responses each side of a comparison needs before its
	// difference is called significant, and a store before it is ranked (the min_n
	// parameter). Storage ignores it.
	MinResponses int64
	// Zone is the time zone whose today the period's default ends on: the store's own
	// when the filter names a store, else the zone of the stores in view that is furthest
	// ahead (see collector.Service.ParseFilter). Days themselves are each store's local
	// days. Storage ignores it.
	Zone string
}

func (f Filter) where(prefix string) (string, []any) {
	conds := []string{prefix + "day BETWEEN ? AND ?"}
	args := []any{f.From, f.To}
	if f.StoreID != "" {
		conds = append(conds, prefix+"store_id = ?")
		args = append(args, f.StoreID)
	}
	if f.Region != "" {
		conds = append(conds, prefix+"store_id IN (SELECT id FROM stores WHERE region = ?)")
		args = append(args, f.Region)
	}
	if f.Format != "" {
		conds = append(conds, prefix+"store_id IN (SELECT id FROM stores WHERE format = ?)")
		args = append(args, f.Format)
	}
	if f.Channel != "" {
		conds = append(conds, prefix+"channel = ?")
		args = append(args, f.Channel)
	}
	if f.Touchpoint != "" {
		conds = append(conds, prefix+"touchpoint = ?")
		args = append(args, f.Touchpoint)
	}
	if f.Segment != "" {
		conds = append(conds, prefix+"segment = ?")
		args = append(args, f.Segment)
	}
	return strings.Join(conds, " AND "), args
}

// rollups is the rollup table that answers the filter: segment_rollups for one
// segment's responses, else daily_rollups, which counts every response.
func (f Filter) rollups() string {
	if f.Segment != "" {
		return "segment_rollups"
	}
	return "daily_rollups"
}

// Previous is the filter over the period of equal length just before f's: what a
// report's change is measured against.
func (f Filter) Previous() (Filter, error) {
	from, err := time.Parse(time.DateOnly, f.From)
	if err != nil {
		return Filter{}, fmt.Errorf("previous period: %w: from %q", ErrInvalid, f.From)
	}
	to, err := time.Parse(time.DateOnly, f.To)
	if err != nil {
		return Filter{}, fmt.Errorf("previous period: %w: to %q", ErrInvalid, f.To)
	}
	days := int(to.Sub(from).Hours()/24) + 1
	f.From, f.To = from.AddDate(0, 0, -days).Format(time.DateOnly), from.AddDate(0, 0, -1).Format(time.DateOnly)
	return f, nil
}

// NPSReport is a tally with its score and margin of error.
type NPSReport struct {
	NPS           float64 `json:"nps"`
	MarginOfError float64 `json:"margin_of_error"`
	Responses     int64   `json:"responses"`
	Promoters     int64   `json:"promoters"`
	Passives      int64   `json:"passives"`
	Detractors    int64   `json:"detractors"`
	Suspect       int64   `json:"suspect"`
}

func report(t nps.Tally, suspect int64) NPSReport {
	return NPSReport{NPS: t.NPS(), MarginOfError: t.MarginOfError(), Responses: t.Total(),
		Promoters: t.Promoters, Passives: t.Passives, Detractors: t.Detractors, Suspect: suspect}
}

// rollupSums adds up rollup rows; the casts keep PostgreSQL from answering in numeric.
const rollupSums = `CAST(COALESCE(SUM(promoters), 0) AS BIGINT), CAST(COALESCE(SUM(passives), 0) AS BIGINT),
	CAST(COALESCE(SUM(detractors), 0) AS BIGINT), CAST(COALESCE(SUM(suspect), 0) AS BIGINT)`

// NPS reports the tally of the filter, from the rollups.
func (db *DB) NPS(ctx context.Context, f Filter) (NPSReport, error) {
	if r, ok, err := db.npsFromSums(ctx, f); err != nil {
		return NPSReport{}, fmt.Errorf("nps report: %w", err)
	} else if ok {
		return r, nil
	}
	where, args := f.where("")
	var (
		t       nps.Tally
		suspect int64
	)
	err := db.read.QueryRowContext(ctx, `SELECT `+rollupSums+` FROM `+f.rollups()+` WHERE `+where, args...).
		Scan(&t.Promoters, &t.Passives, &t.Detractors, &suspect)
	if err != nil {
		return NPSReport{}, fmt.Errorf("nps report: %w", err)
	}
	return report(t, suspect), nil
}

// TrendPoint is one period of a trend.
type TrendPoint struct {
	Start string `json:"start"` // first day of the period
	NPSReport
}

// Trend reports NPS per day or per ISO week (starting Monday), oldest first.
func (db *DB) Trend(ctx context.Context, f Filter, interval string) ([]TrendPoint, error) {
	period := "day"
	switch interval {
	case "", "day":
	case "week":
		period = db.dialect.weekStart
	default:
		return nil, fmt.Errorf("trend: %w: interval must be day or week", ErrInvalid)
	}
	table, where, args := f.trendSource()
	// A day whose counts a revision moved elsewhere can leave a row of zeros: no point.
	q := `SELECT ` + period + ` AS p, ` + rollupSums + ` FROM ` + table + ` WHERE ` + where + ` GROUP BY p
		 HAVING SUM(promoters) + SUM(passives) + SUM(detractors) + SUM(suspect) > 0 ORDER BY p`
	var (
		rows *sql.Rows
		err  error
	)
	if table == "scope_days" {
		// From the report sums: one of two statements (by day or week), prepared once.
		var st *sql.Stmt
		if st, err = db.stmts.get(ctx, db.read, q); err == nil {
			rows, err = st.QueryContext(ctx, args...)
		}
	} else {
		rows, err = db.read.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, fmt.Errorf("trend: %w", err)
	}
	defer rows.Close()
	var out []TrendPoint
	for rows.Next() {
		var (
			p       TrendPoint
			t       nps.Tally
			suspect int64
		)
		if err := rows.Scan(&p.Start, &t.Promoters, &t.Passives, &t.Detractors, &suspect); err != nil {
			return nil, fmt.Errorf("trend: %w", err)
		}
		p.NPSReport = report(t, suspect)
		out = append(out, p)
	}
	return out, rows.Err()
}

// StoreReport is one store's line in the stores table.
type StoreReport struct {
	Store
	NPSReport
	Previous  *NPSReport `json:"previous,omitempty"` // the period of equal length before
	LastSeen  time.Time  `json:"last_device_contact,omitzero"`
	DeviceCnt int        `json:"devices"`
	// The comparisons and the rank, filled in by the service (collector.Service.RankStores):
	// Change is the NPS now minus the previous period's; VsRest the store's NPS minus
	// that of the other stores in the filter (disjoint, so independent samples).
	Change *nps.Difference `json:"change,omitempty"`
	VsRest *nps.Difference `json:"vs_rest,omitempty"`
	// Rank is 1 for the best NPS among the stores with at least the minimum number of
	// responses, equal NPS sharing a rank (1, 1, 3); 0 when the store is not ranked, and
	// Unranked then says why.
	Rank     int    `json:"rank,omitempty"`
	Unranked string `json:"unranked,omitempty"`
}

// Stores reports NPS per store for the filter, with the previous period beside it.
func (db *DB) Stores(ctx context.Context, f Filter) ([]StoreReport, error) {
	prev, err := f.Previous()
	if err != nil {
		return nil, fmt.Errorf("stores report: %w", err)
	}
	cur, err := db.perStore(ctx, f)
	if err != nil {
		return nil, err
	}
	before, err := db.perStore(ctx, prev)
	if err != nil {
		return nil, err
	}
	storeWhere, storeArgs := "1=1", []any{}
	if f.StoreID != "" {
		storeWhere, storeArgs = "s.id = ?", append(storeArgs, f.StoreID)
	}
	if f.Region != "" {
		storeWhere += " AND s.region = ?"
		storeArgs = append(storeArgs, f.Region)
	}
	if f.Format != "" {
		storeWhere += " AND s.format = ?"
		storeArgs = append(storeArgs, f.Format)
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT s.id, s.name, s.timezone, s.region, s.format, MAX(d.last_seen_at), COUNT(d.id)
		  FROM stores s LEFT JOIN devices d ON d.store_id = s.id AND d.revoked_at IS NULL
		 WHERE `+storeWhere+` GROUP BY s.id ORDER BY s.id`, storeArgs...)
	if err != nil {
		return nil, fmt.Errorf("stores report: %w", err)
	}
	defer rows.Close()
	// A heartbeat this process holds in memory is a contact too (heartbeats.go). A device
	// revoked since its last heartbeat may count here until the next flush: seconds.
	heard := map[string]time.Time{}
	for _, p := range db.beats.snapshot() {
		if at := time.UnixMilli(p.at.UnixMilli()); p.beat && at.After(heard[p.storeID]) {
			heard[p.storeID] = at
		}
	}
	now, then := byStore(cur), byStore(before)
	var out []StoreReport
	for rows.Next() {
		var (
			r    StoreReport
			seen sql.NullInt64
		)
		if err := rows.Scan(&r.ID, &r.Name, &r.Timezone, &r.Region, &r.Format, &seen, &r.DeviceCnt); err != nil {
			return nil, fmt.Errorf("stores report: %w", err)
		}
		if seen.Valid {
			r.LastSeen = time.UnixMilli(seen.Int64)
		}
		if at := heard[r.ID]; at.After(r.LastSeen) {
			r.LastSeen = at
		}
		if p, ok := now[r.ID]; ok {
			r.NPSReport = *p
		}
		r.Previous = then[r.ID]
		out = append(out, r)
	}
	return out, rows.Err()
}

// StoreNPS is one store's figures in a per-store report.
type StoreNPS struct {
	ID string
	NPSReport
}

// perStore is each store's figures over the filter, in no particular order, for the
// stores with any response in it. A slice, not a map: building a map of 5,000 stores
// cost a third of the report; a caller that looks stores up indexes it (byStore).
func (db *DB) perStore(ctx context.Context, f Filter) ([]StoreNPS, error) {
	if out, ok, err := db.perStoreFromSums(ctx, f); err != nil {
		return nil, fmt.Errorf("per-store tallies: %w", err)
	} else if ok {
		return out, nil
	}
	where, args := f.where("")
	return db.tallies(ctx, `SELECT store_id, `+rollupSums+` FROM `+f.rollups()+` WHERE `+where+` GROUP BY store_id`, args...)
}

// byStore is a per-store report by store id.
func byStore(stores []StoreNPS) map[string]*NPSReport {
	out := make(map[string]*NPSReport, len(stores))
	for i := range stores {
		out[stores[i].ID] = &stores[i].NPSReport
	}
	return out
}

// tallies runs a query whose rows are (store, promoters, passives, detractors, suspect),
// one a store.
func (db *DB) tallies(ctx context.Context, query string, args ...any) ([]StoreNPS, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("per-store tallies: %w", err)
	}
	defer rows.Close()
	var out []StoreNPS
	for rows.Next() {
		var (
			id      string
			t       nps.Tally
			suspect int64
		)
		if err := rows.Scan(&id, &t.Promoters, &t.Passives, &t.Detractors, &suspect); err != nil {
			return nil, fmt.Errorf("per-store tallies: %w", err)
		}
		out = append(out, StoreNPS{ID: id, NPSReport: report(t, suspect)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("per-store tallies: %w", err)
	}
	return out, nil
}

// ReasonCount is how often a reason was chosen, split by category.
type ReasonCount struct {
	Reason     string `json:"reason"`
	Count      int64  `json:"count"`
	Promoters  int64  `json:"promoters"`
	Passives   int64  `json:"passives"`
	Detractors int64  `json:"detractors"`
}

// categoryCounts is the SQL that counts a score column's promoters, passives and
// detractors, with the bounds taken from nps.
func categoryCounts(score string) string {
	var parts []string
	for _, c := range []nps.Category{nps.Promoter, nps.Passive, nps.Detractor} {
		lo, hi := c.ScoreRange()
		parts = append(parts, fmt.Sprintf("COUNT(*) FILTER (WHERE %s BETWEEN %d AND %d)", score, lo, hi))
	}
	return strings.Join(parts, ", ")
}

// Reasons counts the reasons chosen in the filter, most frequent first.
func (db *DB) Reasons(ctx context.Context, f Filter) ([]ReasonCount, error) {
	where, args := f.where("r.")
	rows, err := db.read.QueryContext(ctx, `
		SELECT j.value, COUNT(*) AS n, `+categoryCounts("r.score")+`
		  FROM responses r, `+db.dialect.reasons+`
		 WHERE NOT r.suspect AND `+where+`
		 GROUP BY j.value ORDER BY n DESC, j.value`, args...)
	if err != nil {
		return nil, fmt.Errorf("reasons report: %w", err)
	}
	defer rows.Close()
	var out []ReasonCount
	for rows.Next() {
		var rc ReasonCount
		if err := rows.Scan(&rc.Reason, &rc.Count, &rc.Promoters, &rc.Passives, &rc.Detractors); err != nil {
			return nil, fmt.Errorf("reasons report: %w", err)
		}
		out = append(out, rc)
	}
	return out, rows.Err()
}

// MaxCommentPage is the most comments one page of the comments list holds.
const MaxCommentPage = 500

// DefaultCommentPage is the page size when the caller names none.
const DefaultCommentPage = 50

// CommentFilter narrows comments beyond the report filter. Every field is applied in
// SQL before the page is cut, so a narrow filter never comes back short.
type CommentFilter struct {
	Filter
	Category string      // detractor, passive, promoter, or empty
	Scores   *ScoreRange // nil: any score
	Theme    string      // a theme key (response_themes); empty: any
	// Sentiment is the comment's sentiment, -1, 0 or 1 (ParseSentiment); nil: any.
	Sentiment  *int
	WorthALook bool // only comments at odds with their score
	HasContact bool // only responses with a contact the shopper consented to
	// Text is a full-text query (see SearchTerms): words, all of which must appear,
	// and "quoted phrases". Case and accents do not matter.
	Text string
	// After is the Next cursor of the page before; empty: the first page.
	After string
	// Limit is the page size, DefaultCommentPage when 0 or less, at most MaxCommentPage.
	Limit int
	// Offset skips rows on a first page (After empty); kept for the API's old offset
	// parameter. After is the way to page: an offset shifts when comments arrive.
	Offset int
}

// ScoreRange is an inclusive range of scores.
type ScoreRange struct{ Min, Max int }

// ParseScoreRange reads "7" or "0-6".
func ParseScoreRange(s string) (*ScoreRange, error) {
	lo, hi, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		hi = lo
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || a < 0 || b > 10 || a > b {
		return nil, fmt.Errorf("%w: score must be 0 to 10, or a range such as 0-6", ErrInvalid)
	}
	return &ScoreRange{Min: a, Max: b}, nil
}

// Sentiments name the comment sentiments responses.sentiment holds.
var Sentiments = map[string]int{"negative": -1, "neutral": 0, "positive": 1}

// SentimentName is the name of a sentiment value, "" for none.
func SentimentName(v *int) string {
	if v == nil {
		return ""
	}
	for k, n := range Sentiments {
		if n == *v {
			return k
		}
	}
	return ""
}

// ParseSentiment reads negative, neutral or positive; "" is nil (any).
func ParseSentiment(s string) (*int, error) {
	if s == "" {
		return nil, nil
	}
	v, ok := Sentiments[s]
	if !ok {
		return nil, fmt.Errorf("%w: sentiment must be negative, neutral or positive", ErrInvalid)
	}
	return &v, nil
}

// Comment is a shopper's comment as HQ reads it, or a response with a contact and no
// comment (Comment empty): someone who asked to be contacted is listed all the same.
type Comment struct {
	ID       string `json:"id"`
	StoreID  string `json:"store_id"`
	Score    int    `json:"score"`
	Category string `json:"category"`
	Comment  string `json:"comment"`
	Reasons  string `json:"reasons"`
	Contact  string `json:"contact,omitempty"`
	// ContactSealed is the id of the key a contact is sealed to when the collector
	// cannot open it (Contact is then empty), as in a case's response.
	ContactSealed string    `json:"contact_sealed,omitempty"`
	Locale        string    `json:"locale"`
	Day           string    `json:"day"`
	CreatedAt     time.Time `json:"created_at"`
	// Channel and Touchpoint say where the shopper answered: kiosk, qr, …; a touchpoint
	// only where the link named one.
	Channel    string `json:"channel"`
	Touchpoint string `json:"touchpoint,omitempty"`
	Segment    string `json:"segment,omitempty"`
	// Themes are the response's theme keys (response_themes), sorted.
	Themes []string `json:"themes"`
	// Sentiment is negative, neutral or positive; empty without a comment.
	Sentiment  string `json:"sentiment,omitempty"`
	WorthALook bool   `json:"worth_a_look"`
}

// CommentPage is one page of the comments list and the cursor of the next.
type CommentPage struct {
	Comments []Comment `json:"comments"`
	// Next is the After of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// listedComment is which responses the comments list shows: a comment, or a contact
// the shopper consented to; suspect taps are left out as from NPS.
const listedComment = `(comment <> '' OR (contact_consent AND (contact <> '' OR contact_sealed IS NOT NULL))) AND NOT suspect`

// commentQuery is the WHERE clause and arguments of a comment filter, without paging.
func (db *DB) commentQuery(f CommentFilter) (string, []any, error) {
	where, args := f.where("")
	where += " AND " + listedComment
	if f.Category != "" {
		c, err := nps.ParseCategory(f.Category)
		if err != nil {
			return "", nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		lo, hi := c.ScoreRange()
		where += " AND score BETWEEN ? AND ?"
		args = append(args, lo, hi)
	}
	if f.Scores != nil {
		where += " AND score BETWEEN ? AND ?"
		args = append(args, f.Scores.Min, f.Scores.Max)
	}
	if f.Theme != "" {
		where += " AND id IN (SELECT response_id FROM response_themes WHERE theme = ?)"
		args = append(args, f.Theme)
	}
	if f.Sentiment != nil {
		where += " AND sentiment = ?"
		args = append(args, *f.Sentiment)
	}
	if f.WorthALook {
		where += " AND worth_a_look"
	}
	if f.HasContact {
		where += " AND contact_consent AND (contact <> '' OR contact_sealed IS NOT NULL)"
	}
	if terms := SearchTerms(f.Text); len(terms) > 0 {
		where += " AND " + db.dialect.search
		args = append(args, db.dialect.searchQuery(terms))
	}
	return where, args, nil
}

// commentColumns are what a Comment is scanned from (scanComment).
const commentColumns = `id, store_id, score, comment, reasons, CASE WHEN contact_consent THEN contact ELSE '' END,
	locale, day, created_at, channel, touchpoint, CASE WHEN contact_consent THEN contact_sealed END,
	segment, sentiment, worth_a_look`

func scanComment(rows *sql.Rows, v *contactvault.Vault) (Comment, error) {
	var (
		c         Comment
		at        int64
		sealed    sql.NullString
		sentiment sql.NullInt64
	)
	if err := rows.Scan(&c.ID, &c.StoreID, &c.Score, &c.Comment, &c.Reasons, &c.Contact, &c.Locale, &c.Day, &at,
		&c.Channel, &c.Touchpoint, &sealed, &c.Segment, &sentiment, &c.WorthALook); err != nil {
		return Comment{}, err
	}
	c.ContactSealed = sealedKeyID(sealed)
	c.Contact = openStored(v, c.Contact)
	c.CreatedAt = time.UnixMilli(at).UTC()
	c.Category = nps.Score(c.Score).Category().String()
	if sentiment.Valid {
		v := int(sentiment.Int64)
		c.Sentiment = SentimentName(&v)
	}
	c.Themes = []string{}
	return c, nil
}

// Comments lists the first page of comments of the filter, newest first (see
// CommentsPage).
func (db *DB) Comments(ctx context.Context, f CommentFilter) ([]Comment, error) {
	p, err := db.CommentsPage(ctx, f)
	return p.Comments, err
}

// CommentsPage lists a page of comments, newest first: by created_at, then id, both
// descending, so that comments made in the same millisecond still have one order and
// the keyset cursor (After) visits each exactly once, whatever arrives meanwhile.
func (db *DB) CommentsPage(ctx context.Context, f CommentFilter) (CommentPage, error) {
	where, args, err := db.commentQuery(f)
	if err != nil {
		return CommentPage{}, fmt.Errorf("comments: %w", err)
	}
	if f.After != "" {
		at, id, err := parseCommentCursor(f.After)
		if err != nil {
			return CommentPage{}, fmt.Errorf("comments: %w", err)
		}
		where += " AND (created_at < ? OR (created_at = ? AND id < ?))"
		args = append(args, at, at, id)
		f.Offset = 0
	}
	if f.Limit <= 0 {
		f.Limit = DefaultCommentPage
	}
	f.Limit = min(f.Limit, MaxCommentPage)
	// One more than the page: whether there is a next page, without a count.
	args = append(args, f.Limit+1, max(f.Offset, 0))
	rows, err := db.read.QueryContext(ctx, `SELECT `+commentColumns+` FROM responses WHERE `+where+`
		 ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return CommentPage{}, fmt.Errorf("comments: %w", err)
	}
	defer rows.Close()
	out := CommentPage{Comments: []Comment{}}
	for rows.Next() {
		c, err := scanComment(rows, db.vault)
		if err != nil {
			return CommentPage{}, fmt.Errorf("comments: %w", err)
		}
		out.Comments = append(out.Comments, c)
	}
	if err := rows.Err(); err != nil {
		return CommentPage{}, fmt.Errorf("comments: %w", err)
	}
	rows.Close()
	if len(out.Comments) > f.Limit {
		out.Comments = out.Comments[:f.Limit]
		last := out.Comments[f.Limit-1]
		out.Next = commentCursor(last.CreatedAt.UnixMilli(), last.ID)
	}
	if err := db.commentThemes(ctx, out.Comments); err != nil {
		return CommentPage{}, fmt.Errorf("comments: %w", err)
	}
	return out, nil
}

// EachComment calls fn for every comment of the filter (its paging fields ignored),
// newest first, as the rows are read: the CSV export streams them, however many.
// Themes are not filled in: they would need a query per row.
func (db *DB) EachComment(ctx context.Context, f CommentFilter, fn func(Comment) error) error {
	where, args, err := db.commentQuery(f)
	if err != nil {
		return fmt.Errorf("comments: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+commentColumns+` FROM responses WHERE `+where+`
		 ORDER BY created_at DESC, id DESC`, args...)
	if err != nil {
		return fmt.Errorf("comments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanComment(rows, db.vault)
		if err != nil {
			return fmt.Errorf("comments: %w", err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("comments: %w", err)
	}
	return nil
}

// commentThemes fills in the themes of a page of comments, in one query.
func (db *DB) commentThemes(ctx context.Context, cs []Comment) error {
	if len(cs) == 0 {
		return nil
	}
	at := make(map[string]int, len(cs))
	args := make([]any, len(cs))
	for i, c := range cs {
		at[c.ID] = i
		args[i] = c.ID
	}
	rows, err := db.read.QueryContext(ctx, `SELECT response_id, theme FROM response_themes WHERE response_id IN (?`+
		strings.Repeat(", ?", len(cs)-1)+`) ORDER BY response_id, theme`, args...)
	if err != nil {
		return fmt.Errorf("comment themes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, theme string
		if err := rows.Scan(&id, &theme); err != nil {
			return fmt.Errorf("comment themes: %w", err)
		}
		if i, ok := at[id]; ok {
			cs[i].Themes = append(cs[i].Themes, theme)
		}
	}
	return rows.Err()
}

// commentCursor is the opaque After of the page that follows the comment made at ms
// with id: a keyset, not an offset.
func commentCursor(ms int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(ms, 10) + "." + id))
}

func parseCommentCursor(s string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, "", fmt.Errorf("%w: the after cursor is not one this collector gave", ErrInvalid)
	}
	ms, id, ok := strings.Cut(string(b), ".")
	at, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", fmt.Errorf("%w: the after cursor is not one this collector gave", ErrInvalid)
	}
	return at, id, nil
}

// exportHeader names the columns of the CSV export.
var exportHeader = []string{"id", "store_id", "device_id", "day", "created_at", "completed_at", "score", "category",
	"reasons", "comment", "contact", "locale", "survey_version", "outcome", "suspect", "channel", "touchpoint", "link_id", "answers",
	"order_id", "segment"}

// Export writes the responses of the filter as CSV, oldest first, streaming row by row.
// Contact details appear only where the shopper consented; a contact the collector
// cannot open is written as SealedContactText says, never as its envelope.
func (db *DB) Export(ctx context.Context, f Filter, w io.Writer) (int, error) {
	where, args := f.where("")
	rows, err := db.read.QueryContext(ctx, `
		SELECT id, store_id, COALESCE(device_id, ''), day, created_at, completed_at, score, reasons, comment,
		       CASE WHEN contact_consent THEN contact ELSE '' END, locale, survey_version, outcome, suspect,
		       channel, touchpoint, COALESCE(link_id, ''), answers, order_id, segment,
		       CASE WHEN contact_consent THEN contact_sealed END
		  FROM responses WHERE `+where+` ORDER BY created_at, id`, args...)
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	if err := cw.Write(exportHeader); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	n := 0
	for rows.Next() {
		var (
			id, store, device, day, reasons, comment, contact, locale, outcome string
			channel, touchpoint, link, answers, order, segment                 string
			created, completed                                                 int64
			score, version                                                     int
			suspect                                                            bool
			sealed                                                             sql.NullString
		)
		if err := rows.Scan(&id, &store, &device, &day, &created, &completed, &score, &reasons, &comment,
			&contact, &locale, &version, &outcome, &suspect, &channel, &touchpoint, &link, &answers, &order, &segment, &sealed); err != nil {
			return n, fmt.Errorf("export: %w", err)
		}
		if key := sealedKeyID(sealed); key != "" {
			contact = SealedContactText(key)
		} else {
			contact = openStored(db.vault, contact)
		}
		rec := []string{id, store, device, day, time.UnixMilli(created).UTC().Format(time.RFC3339),
			time.UnixMilli(completed).UTC().Format(time.RFC3339), strconv.Itoa(score),
			nps.Score(score).Category().String(), reasons, CSVCell(comment), CSVCell(contact), locale,
			strconv.Itoa(version), outcome, strconv.FormatBool(suspect), channel, touchpoint, link, CSVCell(answers),
			CSVCell(order), segment}
		if err := cw.Write(rec); err != nil {
			return n, fmt.Errorf("export: %w", err)
		}
		n++
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	return n, rows.Err()
}

// CSVCell defuses text a spreadsheet would run as a formula (CSV injection): shoppers
// write comments, HQ opens the export in a spreadsheet.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// ThemeChoices are the comment themes that have responses in the filter's period and
// stores: the theme choices the comments page offers. The filter's segment, channel and
// touchpoint are not applied, so that a choice made does not hide the others. (The
// segment choices are Segments'.)
func (db *DB) ThemeChoices(ctx context.Context, f Filter) ([]string, error) {
	f.Segment, f.Channel, f.Touchpoint = "", "", ""
	where, args := f.where("")
	themes, err := db.distinct(ctx, `SELECT DISTINCT theme FROM theme_rollups WHERE `+where+` AND kind = ? ORDER BY theme`, append(args, KindTheme)...)
	if err != nil {
		return nil, fmt.Errorf("theme choices: %w", err)
	}
	return themes, nil
}

func (db *DB) distinct(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
