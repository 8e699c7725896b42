package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/response"
)

func testKeys(t *testing.T) *contactseal.Keyring {
	t.Helper()
	k, err := contactseal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := contactseal.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func sealFor(t *testing.T, k contactseal.PublicKey, id, contact string) string {
	t.Helper()
	s, err := contactseal.Seal(k, id, contact)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The disk boundary refuses a contact in clear, from the follow-up and from Insert, and
// writes nothing.
func TestStoreRefusesAPlainContact(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, Config{})
	id := mustRecord(t, db, 3)
	err := db.Complete(ctx, id, response.FollowUp{Outcome: response.OutcomeSubmitted, Contact: "ana@example.com", ContactConsent: true})
	if !errors.Is(err, ErrInvalidInput) || !errors.Is(err, ErrPlainContact) || !strings.Contains(err.Error(), "contacts are sealed before they are stored") {
		t.Fatalf("Complete with a plain contact: %v, want ErrInvalidInput (sealed before they are stored)", err)
	}
	if got, _ := db.Get(ctx, id); !got.CompletedAt.IsZero() || got.Contact != "" {
		t.Fatalf("the refused follow-up was written: %+v", got)
	}
	r := Response{ID: "01931a6e-8c5c-7000-8000-000000000001", Score: 9, Locale: "en", SurveyVersion: 1, Reasons: []string{},
		CreatedAt: t0, CompletedAt: t0.Add(time.Minute), Outcome: response.OutcomeSubmitted, Contact: "ana@example.com", ContactConsent: true}
	if err := db.Insert(ctx, r); !errors.Is(err, ErrPlainContact) {
		t.Fatalf("Insert with a plain contact: %v, want ErrPlainContact", err)
	}
}

func TestContactKeyIsKeptForgottenAndReplaced(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	path := filepath.Join(t.TempDir(), "kiosk.db")
	db := openTest(t, Config{Path: path, Now: clk.Now})
	if _, ok, err := db.ContactKey(ctx); ok || err != nil {
		t.Fatalf("a new database has a contact key (%v, %v)", ok, err)
	}
	if err := db.SetContactKey(ctx, contactseal.PublicKey{ID: "0123456789abcdef", Key: make([]byte, 32)}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("SetContactKey(id not of its key) = %v, want ErrInvalidInput", err)
	}
	first, second := testKeys(t).Current(), testKeys(t).Current()
	for _, k := range []contactseal.PublicKey{first, first, second} {
		clk.Advance(time.Hour)
		if err := db.SetContactKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db = openTest(t, Config{Path: path, Now: clk.Now})
	got, ok, err := db.ContactKeyInfo(ctx)
	if err != nil || !ok || got.ID != second.ID || !bytes.Equal(got.Key, second.Key) || !got.LearntAt.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("after a restart: %+v, %v, %v; want %s learnt at the third hour", got, ok, err, second.ID)
	}
	if err := db.ForgetContactKey(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.ContactKey(ctx); ok {
		t.Fatal("the key is still there after ForgetContactKey")
	}
}

// A database from before sealed contacts holds contacts in clear. Open drops the one
// already uploaded (keeping the consent) and keeps the other, which an upgraded file
// cannot seal yet (it has no key), until the kiosk learns the collector's key (sealed),
// learns it has none (dropped) or uploads it (dropped). Each time the contacts' bytes
// leave the files, freed pages, WAL and cached case included.
func TestUpgradeSealsOrDropsPlainContactsAndScrubsTheFiles(t *testing.T) {
	const (
		unsynced = "unsynced.contact.7731@example.net"
		synced   = "synced.contact.9052@example.net"
	)
	ring := testKeys(t)
	for _, tt := range []struct {
		name       string
		then       func(t *testing.T, db *DB, unsyncedID string)
		wantSealed bool // the unsynced contact ends sealed, else dropped
	}{
		{"the collector's key arrives", func(t *testing.T, db *DB, _ string) {
			if err := db.SetContactKey(context.Background(), ring.Current()); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"the collector has no key", func(t *testing.T, db *DB, _ string) {
			if err := db.ForgetContactKey(context.Background()); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"uploaded before any key", func(t *testing.T, db *DB, id string) {
			if n, err := db.MarkSynced(context.Background(), []string{id}); err != nil || n != 1 {
				t.Fatalf("MarkSynced = %d, %v", n, err)
			}
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "kiosk.db")
			ids := writeOldContacts(t, path, unsynced, synced)
			db := openTest(t, Config{Path: path})
			if n, err := db.PlainContacts(ctx); err != nil || n != 1 {
				t.Fatalf("PlainContacts after Open = %d, %v; want 1 (the unsynced one waits for a key)", n, err)
			}
			for _, c := range []string{synced, "9052"} {
				requireNotInFiles(t, path, c)
			}
			if cs, err := db.Cases(ctx); err != nil || len(cs) != 1 || !cs[0].HasContact {
				t.Fatalf("cached cases after the upgrade: %+v, %v; want k1 with a contact left", cs, err)
			}

			tt.then(t, db, ids[0])
			if n, err := db.PlainContacts(ctx); err != nil || n != 0 {
				t.Fatalf("PlainContacts = %d, %v; want 0", n, err)
			}
			u, err := db.Get(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			s, err := db.Get(ctx, ids[1])
			if err != nil {
				t.Fatal(err)
			}
			if u.Contact != "" || s.Contact != "" || s.SealedContact != "" || !u.ContactConsent || !s.ContactConsent {
				t.Fatalf("after the upgrade: unsynced %+v, synced %+v", u, s)
			}
			if tt.wantSealed {
				if got, err := ring.Open(u.ID, u.SealedContact); err != nil || got != unsynced {
					t.Fatalf("the sealed contact opens to %q, %v", got, err)
				}
				if pending, err := db.Pending(ctx, 10); err != nil || len(pending) != 1 || pending[0].SealedContact != u.SealedContact {
					t.Fatalf("the outbox gives %+v, %v; want the unsynced response with its box", pending, err)
				}
			} else if u.SealedContact != "" {
				t.Fatalf("sealed without a key: %q", u.SealedContact)
			}
			for _, c := range []string{unsynced, synced, "7731", "9052"} {
				requireNotInFiles(t, path, c)
			}
			db.Close()
			for _, c := range []string{unsynced, synced, "7731", "9052"} {
				requireNotInFiles(t, path, c)
			}
		})
	}
}

// writeOldContacts makes a database as the version before sealed contacts left it:
// schema 3, one unsynced and one synced response with contacts in clear, and a case
// cached with its contact. It returns the two responses' ids.
func writeOldContacts(t *testing.T, path, unsynced, synced string) []string {
	t.Helper()
	db := openTest(t, Config{Path: path})
	ids := []string{mustRecord(t, db, 2), mustRecord(t, db, 3)}
	mustComplete(t, db, ids[0], response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: "cold coffee"})
	mustComplete(t, db, ids[1], response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: "slow till"})
	db.Close()
	raw, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_secure_delete=off")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	for _, q := range []string{ // back to version 3: undo 0005, then 0004
		`ALTER TABLE responses DROP COLUMN segment`,
		`DROP INDEX responses_plain_contact`,
		`ALTER TABLE responses DROP COLUMN sealed_contact`,
		`DROP TABLE contact_key`,
		`PRAGMA user_version = 3`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, c := range []string{unsynced, synced} {
		if _, err := raw.Exec(`UPDATE responses SET contact = ?, contact_consent = 1 WHERE id = ?`, c, ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(`UPDATE responses SET synced_at = 1 WHERE id = ?`, ids[1]); err != nil {
		t.Fatal(err)
	}
	// Some of it in the file, some only in the WAL: the pass must scrub both.
	if _, err := raw.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO cases (id, body, version, pulled_at) VALUES ('k1', ?, 1, 1)`,
		`{"id":"k1","status":"open","version":1,"score":1,"contact":"`+synced+`"}`); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(append(mustRead(t, path), mustRead(t, path+"-wal")...), []byte(unsynced)) {
		t.Fatal("the old-style database does not hold the contact: the test would prove nothing")
	}
	return ids
}

// requireNotInFiles fails if the database at path, its -wal or its -shm holds s.
func requireNotInFiles(t *testing.T, path, s string) {
	t.Helper()
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if bytes.Contains(mustRead(t, f), []byte(s)) {
			t.Errorf("%s holds %q", f, s)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}
