package storage

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
)

// Migration 0024's backfill on PostgreSQL: responses stored before it get positions in
// received order, below every later insert, and tokens get the default scopes. The
// schema is taken back to before 0024 (its columns and sequence dropped), rows are
// stored as then, and the migration's own file is run again.
func TestPostgresMigration0024Backfill(t *testing.T) {
	var pg storagetest.Backend
	for _, b := range storagetest.Backends(t) {
		if b.Name == "postgres" {
			pg = b
		}
	}
	if pg.Path == nil {
		t.Skip("PostgreSQL only: run through scripts/with-postgres.sh")
	}
	ctx := context.Background()
	db, err := Open(ctx, Config{Path: pg.Path(t), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.write.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`ALTER TABLE responses DROP COLUMN xid, DROP COLUMN seq`)
	exec(`DROP SEQUENCE IF EXISTS responses_seq`)
	exec(`ALTER TABLE api_tokens DROP COLUMN scopes`)
	exec(`INSERT INTO stores (id, name, timezone, created_at) VALUES ('S001', 'Main', 'UTC', 0)`)
	exec(`INSERT INTO devices (id, store_id, name, created_at) VALUES ('d1', 'S001', 'Till', 0)`)
	exec(`INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES ('t1', 'hq', 'hash', 0)`)
	// Stored out of received order, with two at the same millisecond.
	for _, r := range []struct {
		id       string
		received int64
	}{{"c", 300}, {"a", 100}, {"b2", 200}, {"b1", 200}} {
		exec(`INSERT INTO responses (id, store_id, device_id, score, reasons, comment, contact, contact_consent, locale,
		                             survey_version, created_at, completed_at, outcome, suspect, day, content_hash, received_at)
		      VALUES (?, 'S001', 'd1', 9, '[]', '', '', false, 'en', 1, 0, 0, 'submitted', false, '2026-01-01', 'h', ?)`, r.id, r.received)
	}
	body, err := fs.ReadFile(migrationFiles, "migrations/postgres/0024_received_order.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.pool.ExecContext(ctx, string(body)); err != nil {
		t.Fatalf("migration 0024: %v", err)
	}
	exec(`INSERT INTO responses (id, store_id, device_id, score, reasons, comment, contact, contact_consent, locale,
	                             survey_version, created_at, completed_at, outcome, suspect, day, content_hash, received_at)
	      VALUES ('new', 'S001', 'd1', 9, '[]', '', '', false, 'en', 1, 0, 0, 'submitted', false, '2026-01-01', 'h', 50)`)
	// The rows show once every older transaction on the (shared) server has ended.
	var rows []ReceivedResponse
	for deadline := time.Now().Add(30 * time.Second); len(rows) < 5 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rows, _, err = db.ResponsesAfter(ctx, ResponseQuery{Limit: 10}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	if want := []string{"a", "b1", "b2", "c", "new"}; !slices.Equal(ids, want) {
		t.Errorf("after the backfill: %v, want %v (received order, ties by id, then the new row)", ids, want)
	}
	tokens, err := db.APITokens(ctx)
	if err != nil || len(tokens) != 1 || !slices.Equal(tokens[0].Scopes, DefaultScopes()) {
		t.Errorf("tokens after the backfill: %+v, %v; want the default scopes", tokens, err)
	}
}

// A store's page reads through the store's index, on both databases: its polls must not
// scan the other stores' rows.
func TestStorePageUsesTheStoreIndex(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := openOn(t, b)
		explain, want := "EXPLAIN QUERY PLAN ", "responses_store_seq"
		where := "r.seq > ? AND r.store_id = ? ORDER BY r.seq"
		args := []any{0, "S001"}
		t2, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer t2.Rollback()
		if db.Dialect() == "postgres" {
			// Without rows the planner would rather scan: tell it not to.
			if _, err := t2.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				t.Fatal(err)
			}
			explain, want = "EXPLAIN ", "responses_store_position"
			where = "(r.xid, r.seq) > (CAST(CAST(? AS TEXT) AS xid8), ?) AND r.store_id = ? ORDER BY r.xid, r.seq"
			args = []any{"0", 0, "S001"}
		}
		rows, err := t2.QueryContext(ctx, explain+`SELECT r.id FROM responses r WHERE `+where+` LIMIT 100`, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		plan := ""
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			plan += fmt.Sprintln(vals...)
		}
		if !strings.Contains(plan, want) {
			t.Errorf("a store's page does not use %s:\n%s", want, plan)
		}
	})
}
