package storage

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// dialect holds what differs between SQLite and PostgreSQL in the collector's SQL. The
// queries are written once with ? placeholders; PostgreSQL gets $1, $2, ….
type dialect struct {
	name string
	// numbered placeholders ($1) instead of ?
	numbered bool
	// reasons expands a response's JSON reason list into rows with a "value" column.
	reasons string
	// answerKeys expands a response's JSON answers (none when empty) into a row per
	// question, q.key; answerValues into a row per question and value, q.key and v.value.
	answerKeys, answerValues string
	// weekStart is the Monday on or before the text column day, as YYYY-MM-DD.
	weekStart string
	// search is the full-text test of a response's comment against one argument, the
	// query searchQuery makes of SearchTerms (migration 0020).
	search string
	// forUpdate locks the rows a SELECT reads until the transaction ends. SQLite needs
	// none: its writer transactions start IMMEDIATE, one at a time.
	forUpdate string
	// skipLocked, after a SELECT of deliveries d, locks the rows it reads and skips
	// those another collector holds.
	skipLocked string
	// lockText, run in a transaction with one text argument, holds a lock on that text
	// until the transaction ends. SQLite needs none, for the reason of forUpdate.
	lockText string
}

var (
	sqliteDialect = dialect{
		name:      "sqlite",
		reasons:   "json_each(r.reasons) j",
		weekStart: "date(day, '-' || ((CAST(strftime('%w', day) AS INTEGER) + 6) % 7) || ' days')",
		search:    "rowid IN (SELECT rowid FROM responses_fts WHERE responses_fts MATCH ?)",

		// json_each of NULL is no rows (of '' an error).
		answerKeys:   "json_each(NULLIF(r.answers, '')) q",
		answerValues: "json_each(NULLIF(r.answers, '')) q, json_each(q.value) v",
	}
	postgresDialect = dialect{
		name:      "postgres",
		numbered:  true,
		reasons:   "jsonb_array_elements_text(r.reasons::jsonb) AS j(value)",
		weekStart: "to_char(date_trunc('week', day::date), 'YYYY-MM-DD')",
		// Folded as the column is (0020_comment_search.sql).
		search:     "comment_tsv @@ websearch_to_tsquery('simple', lower(translate(?, '" + pgAccents + "', '" + pgPlain + "')))",
		forUpdate:  " FOR UPDATE",
		skipLocked: " FOR UPDATE OF d SKIP LOCKED",
		lockText:   "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))",

		answerKeys:   "jsonb_each(NULLIF(r.answers, '')::jsonb) AS q(key, value)",
		answerValues: "jsonb_each(NULLIF(r.answers, '')::jsonb) AS q(key, value), jsonb_array_elements_text(q.value) AS v(value)",
	}
)

// pgAccents and pgPlain fold accents in PostgreSQL's search as in its index
// (0020_comment_search.sql); the two must stay the same.
const (
	pgAccents = "àáâãäåāçćčèéêëēėęìíîïīñńòóôõöøōùúûüūýÿžźżšśÀÁÂÃÄÅĀÇĆČÈÉÊËĒĖĘÌÍÎÏĪÑŃÒÓÔÕÖØŌÙÚÛÜŪÝŸŽŹŻŠŚ"
	pgPlain   = "aaaaaaaccceeeeeeeiiiiinnooooooouuuuuyyzzzssaaaaaaaccceeeeeeeiiiiinnooooooouuuuuyyzzzss"
)

// searchQuery is the argument of search for a comment search's terms. Both engines
// read quotedTerms alike: each term a phrase, all of them required.
func (d dialect) searchQuery(terms []string) string { return quotedTerms(terms) }

// rebind turns ? placeholders outside quoted text into $1, $2, … where the database
// wants them.
func (d dialect) rebind(q string) string {
	if !d.numbered || !strings.Contains(q, "?") {
		return q
	}
	// Byte by byte: ? and ' are never part of a longer UTF-8 sequence. A batch's
	// INSERT has thousands of placeholders; building it rune by rune, with a string a
	// placeholder, cost about 4 % of ingest's CPU on PostgreSQL.
	b := make([]byte, 0, len(q)+4*strings.Count(q, "?"))
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b = strconv.AppendInt(append(b, '$'), int64(n), 10)
			continue
		}
		b = append(b, q[i])
	}
	return string(b)
}

// conn is a connection pool that speaks the dialect. It holds the pool rather than
// embedding it, so no query can reach the database without being rebound: a raw Exec
// with ? placeholders would silently fail on PostgreSQL.
type conn struct {
	pool *sql.DB
	d    dialect
}

func (c conn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.pool.ExecContext(ctx, c.d.rebind(q), args...)
}

func (c conn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.pool.QueryContext(ctx, c.d.rebind(q), args...)
}

func (c conn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return c.pool.QueryRowContext(ctx, c.d.rebind(q), args...)
}

func (c conn) BeginTx(ctx context.Context, opts *sql.TxOptions) (tx, error) {
	t, err := c.pool.BeginTx(ctx, opts)
	return tx{tx: t, d: c.d}, err
}

func (c conn) PingContext(ctx context.Context) error { return c.pool.PingContext(ctx) }

func (c conn) Close() error { return c.pool.Close() }

// tx is a transaction that speaks the dialect, holding it for the same reason as conn.
type tx struct {
	tx *sql.Tx
	d  dialect
}

func (t tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.d.rebind(q), args...)
}

func (t tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.d.rebind(q), args...)
}

func (t tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.d.rebind(q), args...)
}

func (t tx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, t.d.rebind(q))
}

func (t tx) Commit() error { return t.tx.Commit() }

// Rollback ends the transaction unless it was committed; deferred after BeginTx.
func (t tx) Rollback() error { return t.tx.Rollback() }
