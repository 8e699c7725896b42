package storage_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// The person erased, and what of theirs is planted in every table and channel. The
// comment words are tokens no other text has, so that the full-text index's own tables
// can be searched for them.
const (
	eraseEmail   = "Ana.Lima_7@Example.com"
	erasePhone   = "+49 170 5550123"
	eraseComment = "qxvzorbit staff ignored me"
	eraseAnswer  = "qxvkestrel at the tills"
	eraseNote    = "called back on +491705550123"
	eraseOrder   = "qxvorder-991"
)

// needles are what must be found nowhere in the database after the erasure, lower-cased.
var eraseNeedles = []string{"ana.lima_7@example.com", "491705550123", "170 5550123", "qxvzorbit", "qxvkestrel", "qxvorder", "qxvnote"}

// An erasure of one contact, planted across every table and channel (a kiosk response
// with a sealed contact, a comment of another kiosk response mentioning the address, a
// QR answer with the phone and a free-text answer, an invitation and its answer, a case
// with a note, webhook events and a delivery error, a thank-you, the full-text index),
// leaves no copy of the contact or the comments in any column of any table, the search
// index's included, while every score, rollup and NPS figure stays as it was. A dry run
// before it reports the same counts and changes nothing. On SQLite the database files
// themselves hold no copy either.
func TestEraseContactLeavesNoCopy(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		keys := collectortest.ContactKeys(t)
		c := collectortest.Start(t, collectortest.Options{Backend: b, ContactKeys: keys})
		qr := collectortest.SeedQuestions(t, c)
		if _, err := c.DB.AddSubscription(ctx, storage.Subscription{ScopeKind: storage.ScopeChain, URL: "https://hooks.example/nps",
			Secret: "whsec_AAAA"}); err != nil {
			t.Fatal(err)
		}
		if err := c.DB.SetThanksRule(ctx, "", followup.ThanksRule{}); err != nil {
			t.Fatal(err)
		}
		at := c.DB.Now().Add(-30 * time.Minute)
		kioskResponse := func(score int, comment string) wire.Response {
			at = at.Add(time.Second)
			return wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: score, Reasons: []string{"staff"}, Comment: comment,
				Locale: "en", SurveyVersion: 2, CreatedAt: at, CompletedAt: at.Add(5 * time.Second), Outcome: response.OutcomeSubmitted}
		}
		dev := c.Enroll(t, "Q1", "Till 9")
		sealedOne := kioskResponse(2, eraseComment)
		sealed, err := contactseal.Seal(keys.Current(), sealedOne.ID, erasePhone)
		if err != nil {
			t.Fatal(err)
		}
		sealedOne.SealedContact, sealedOne.ContactConsent = sealed, true
		mention := kioskResponse(4, "my wife "+strings.ToUpper(eraseEmail)+" was served badly")
		other := kioskResponse(3, "someone else entirely: bo@example.org")
		other.Contact, other.ContactConsent = "bo@example.org", true
		if _, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, []wire.Response{sealedOne, mention, other}); err != nil {
			t.Fatal(err)
		}
		// A QR answer: a promoter with the address (a thank-you is queued) and the phone in
		// a free-text answer.
		at = at.Add(time.Second)
		web := response.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: 10, Reasons: []string{}, Comment: "qxvzorbit fast",
			Contact: " " + strings.ToUpper(eraseEmail) + " ", ContactConsent: true, Locale: "en", SurveyVersion: 2,
			CreatedAt: at, CompletedAt: at.Add(time.Second), Outcome: response.OutcomeSubmitted,
			Answers: map[string][]string{"improve": {eraseAnswer + " " + erasePhone}}}
		web.Contact = strings.TrimSpace(web.Contact)
		if _, err := c.Service.IngestFromLink(ctx, qr, web); err != nil {
			t.Fatal(err)
		}
		// Ingest masks the address in the comment and the phone in the answer ("[email]",
		// "[phone]"); rows stored before masking, or text it missed, still hold them, which
		// is what erasure's text search is for: put them back as such a row would be.
		answers, _ := json.Marshal(map[string][]string{"improve": {eraseAnswer + " " + erasePhone}})
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`UPDATE responses SET comment = ? WHERE id = ?`, []any{"my wife " + strings.ToUpper(eraseEmail) + " was served badly", mention.ID}},
			{`UPDATE responses SET answers = ? WHERE id = ?`, []any{string(answers), web.ID}},
			{`UPDATE responses SET comment = ? WHERE id = ?`, []any{"someone else entirely: bo@example.org", other.ID}},
		} {
			if _, err := c.DB.RawExec(ctx, q.sql, q.args...); err != nil {
				t.Fatal(err)
			}
		}
		// An invitation to the address, answered with a detractor's score and a comment.
		inv, _, err := c.DB.AddInvitation(ctx, storage.NewInvitation{StoreID: "Q1", Touchpoint: "delivery", Address: eraseEmail,
			Language: "en", OrderID: eraseOrder, ExpiresAt: c.DB.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Service.AnswerInvitation(ctx, inv, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Service.FollowUpInvitation(ctx, inv, response.FollowUp{Outcome: response.OutcomeSubmitted,
			Comment: "qxvzorbit parcel late"}); err != nil {
			t.Fatal(err)
		}
		// The sealed response's case gets a note; a webhook delivery fails with the address.
		cases, err := c.DB.Cases(ctx, storage.CaseFilter{StoreID: "Q1"})
		if err != nil {
			t.Fatal(err)
		}
		for _, cs := range cases {
			if cs.Response.ID == sealedOne.ID {
				if _, err := c.DB.ChangeCase(ctx, cs.ID, storage.CaseChange{Actor: "maria", To: followup.Contacted, Note: eraseNote + " qxvnote"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		ds, err := c.DB.ClaimDeliveries(ctx, 100, c.DB.Now().Add(time.Minute))
		if err != nil || len(ds) == 0 {
			t.Fatalf("claimed %d deliveries, %v", len(ds), err)
		}
		for _, d := range ds {
			if err := c.DB.RecordAttempt(ctx, d, storage.Attempt{StatusCode: 422, Err: "receiver said: unknown customer " + eraseEmail,
				Duration: time.Millisecond, Retry: c.DB.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}

		// Every needle is somewhere before: the scan sees every table, the search index's too.
		before := scanDatabase(t, c.DB)
		for _, n := range eraseNeedles {
			if len(before[n]) == 0 {
				t.Fatalf("%q was planted but the scan finds it nowhere: %v", n, before)
			}
		}
		// Encrypted at rest: the contact column holds no contact in plaintext.
		for _, n := range []string{"ana.lima_7@example.com", "491705550123", "170 5550123"} {
			for _, where := range before[n] {
				if where == "responses.contact" {
					t.Errorf("%q is stored in plaintext in %s", n, where)
				}
			}
		}
		// Case events carry the contact to webhooks: their payloads are encrypted too.
		var clear, encrypted int
		if err := c.DB.RawQueryRow(ctx, `SELECT COUNT(*) FILTER (WHERE payload NOT LIKE 'cv1:%'), COUNT(*) FILTER (WHERE payload LIKE 'cv1:%')
			FROM events WHERE type LIKE 'case.%'`).Scan(&clear, &encrypted); err != nil || clear != 0 || encrypted == 0 {
			t.Errorf("case events: %d in clear, %d encrypted, %v", clear, encrypted, err)
		}
		if b.Name == "sqlite" && len(before["qxvzorbit"]) < 2 {
			t.Errorf("the comment's words are not seen in the full-text index's tables: %v", before["qxvzorbit"])
		}
		scores := snapshot(t, c.DB)
		nps, err := c.DB.NPS(ctx, storage.Filter{StoreID: "Q1", From: "2000-01-01", To: "2100-01-01"})
		if err != nil {
			t.Fatal(err)
		}

		dry, err := c.DB.EraseContact(ctx, storage.ErasureRequest{Contact: erasePhone, Actor: "cli:test", DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if again := scanDatabase(t, c.DB); !reflect.DeepEqual(again, before) {
			t.Fatalf("the dry run changed the database:\nbefore %v\nafter  %v", before, again)
		}
		// The phone finds the sealed response (its case and note, its events) and the QR
		// answer that has it in a free-text answer, written otherwise (its case, its
		// thank-you); the address finds the rest.
		if dry.Changed["responses"] != 2 || dry.Changed["cases"] != 2 || dry.Changed["case_notes"] != 1 || dry.Changed["kiosk_scrubs"] != 1 ||
			dry.Changed["thank_yous"] != 1 || dry.Changed["search_index"] != 2 {
			t.Errorf("dry run by phone: %+v", dry)
		}
		byPhone, err := c.DB.EraseContact(ctx, storage.ErasureRequest{Contact: "0049-170-555-0123", Actor: "cli:test"})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(byPhone.Changed, dry.Changed) || byPhone.AuditID == "" || byPhone.DryRun {
			t.Errorf("erasure by phone %+v, its dry run %+v", byPhone, dry)
		}
		byMail, err := c.DB.EraseContact(ctx, storage.ErasureRequest{Contact: "  " + strings.ToLower(eraseEmail), Actor: "token:T1"})
		if err != nil {
			t.Fatal(err)
		}
		// The mention and the invitation's answer.
		want := map[string]int64{"responses": 2, "search_index": 2, "cases": 2, "invitations": 1, "thank_yous": 0, "kiosk_scrubs": 1}
		for k, n := range want {
			if byMail.Changed[k] != n {
				t.Errorf("erasure by address changed %d %s, want %d (%+v)", byMail.Changed[k], k, n, byMail.Changed)
			}
		}
		if byMail.Changed["webhook_events"] == 0 || byMail.Changed["delivery_errors"] == 0 {
			t.Errorf("erasure by address scrubbed no webhook event or delivery error: %+v", byMail.Changed)
		}

		after := scanDatabase(t, c.DB)
		for _, n := range eraseNeedles {
			if where := after[n]; len(where) > 0 {
				t.Errorf("%q is still in %v", n, where)
			}
		}
		if len(after["bo@example.org"]) == 0 {
			t.Errorf("the other shopper's contact went too: %v", after)
		}
		if got := snapshot(t, c.DB); !reflect.DeepEqual(got, scores) {
			t.Errorf("scores or rollups changed:\nbefore %v\nafter  %v", scores, got)
		}
		if got, err := c.DB.NPS(ctx, storage.Filter{StoreID: "Q1", From: "2000-01-01", To: "2100-01-01"}); err != nil || !reflect.DeepEqual(got, nps) {
			t.Errorf("NPS %+v, %v; before the erasure %+v", got, err, nps)
		}
		hits, err := c.DB.CommentsPage(ctx, storage.CommentFilter{Filter: storage.Filter{StoreID: "Q1", From: "2000-01-01", To: "2100-01-01"}, Text: "qxvzorbit"})
		if err != nil || len(hits.Comments) != 0 {
			t.Errorf("search still finds the comments: %+v, %v", hits.Comments, err)
		}
		var audits int
		var hash, counts string
		if err := c.DB.RawQueryRow(ctx, `SELECT COUNT(*), MAX(contact_hash), MAX(counts) FROM erasures`).Scan(&audits, &hash, &counts); err != nil ||
			audits != 2 || hash == "" || !strings.Contains(counts, `"responses":`) {
			t.Errorf("audit: %d rows, hash %q, counts %s, %v", audits, hash, counts, err)
		}
		if b.Name == "sqlite" {
			for _, f := range []string{c.Path, c.Path + "-wal"} {
				raw, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				for _, n := range eraseNeedles {
					if bytes.Contains(bytes.ToLower(raw), []byte(n)) {
						t.Errorf("%s still holds %q in its bytes", f, n)
					}
				}
			}
		}
	})
}

// scanDatabase searches every column of every table (the search index's shadow tables
// included) for each needle and the other shopper's address, and returns where it found
// each, as table.column.
func scanDatabase(t *testing.T, db *storage.DB) map[string][]string {
	t.Helper()
	ctx := context.Background()
	type column struct{ table, name string }
	var cols []column
	var list string
	if db.Dialect() == "sqlite" {
		list = `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY 1, 2`
	} else {
		list = `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 2`
	}
	rows, err := db.RawQuery(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.table, &c.name); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	rows.Close()
	if len(cols) < 100 {
		t.Fatalf("only %d columns listed", len(cols))
	}
	found := map[string][]string{}
	for _, col := range cols {
		for _, n := range append(eraseNeedles, "bo@example.org") {
			var q string
			if db.Dialect() == "sqlite" {
				// Bytes, not text: the index's blobs hold NULs, and its terms are lower-cased.
				q = fmt.Sprintf(`SELECT COUNT(*) FROM "%s" WHERE instr(lower(CAST("%s" AS BLOB)), CAST(? AS BLOB)) > 0`, col.table, col.name)
			} else {
				q = fmt.Sprintf(`SELECT COUNT(*) FROM "%s" WHERE strpos(lower(CAST("%s" AS TEXT)), ?) > 0`, col.table, col.name)
			}
			var k int
			if err := db.RawQueryRow(ctx, q, n).Scan(&k); err != nil {
				t.Fatalf("scan %s.%s: %v", col.table, col.name, err)
			}
			if k > 0 {
				found[n] = append(found[n], col.table+"."+col.name)
			}
		}
	}
	return found
}

// snapshot is what an erasure must not change: every response's score and place, and
// every rollup and report sum.
func snapshot(t *testing.T, db *storage.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, q := range map[string]string{
		"responses":       `SELECT id, store_id, score, day, channel, touchpoint, suspect, outcome FROM responses ORDER BY id`,
		"daily_rollups":   `SELECT * FROM daily_rollups ORDER BY store_id, day, channel, touchpoint`,
		"segment_rollups": `SELECT * FROM segment_rollups ORDER BY segment, day, store_id, channel, touchpoint`,
		"theme_rollups":   `SELECT * FROM theme_rollups ORDER BY store_id, day, channel, touchpoint, segment, kind, theme`,
		"scope_days":      `SELECT * FROM scope_days ORDER BY scope, slice, day, shard`,
		"store_snapshots": `SELECT * FROM store_snapshots ORDER BY scope, slice, shard, day`,
		"cases":           `SELECT id, response_id, store_id, status FROM cases ORDER BY id`,
	} {
		rows, err := db.RawQuery(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[name] = append(out[name], fmt.Sprint(vals))
		}
		rows.Close()
	}
	return out
}
