package storage_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/contactvault"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// Contacts are stored encrypted under the current key with their blind index, and read
// back in plaintext by the comments list, the case and the CSV export. A contact stored
// in plaintext before encryption, and one under a key since rotated, are found by an
// erasure's dry run and re-encrypted under the current key by RekeyContacts; after it
// the old key can be retired and every contact still reads.
func TestContactsEncryptedAtRest(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		path := b.Path(t)
		keys := t.TempDir() + "/contact-store.keys"
		open := func(v *contactvault.Vault) *storage.DB {
			t.Helper()
			db, err := storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler), ContactVault: v})
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
		at := time.Now().Add(-time.Hour)
		insert := func(db *storage.DB, link storage.Link, contact string) string {
			t.Helper()
			r := wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: 2, Reasons: []string{}, Comment: "slow",
				Contact: contact, ContactConsent: true, Locale: "en", SurveyVersion: 1, CreatedAt: at, CompletedAt: at,
				Outcome: response.OutcomeSubmitted, Channel: "qr"}
			if _, err := db.InsertBatch(ctx, storage.Origin{StoreID: "S1", LinkID: link.ID}, []storage.NewResponse{{Response: r,
				Day: at.Format(time.DateOnly), Hash: r.ID, Case: &storage.NewCase{ID: uuid.Must(uuid.NewV7()).String(), DueAt: at}}}); err != nil {
				t.Fatal(err)
			}
			return r.ID
		}
		stored := func(db *storage.DB, id string) (contact string, index *string) {
			t.Helper()
			if err := db.RawQueryRow(ctx, `SELECT contact, contact_index FROM responses WHERE id = ?`, id).Scan(&contact, &index); err != nil {
				t.Fatal(err)
			}
			return contact, index
		}

		// Before encryption: a plaintext contact, no index.
		db := open(nil)
		if err := db.AddStore(ctx, storage.Store{ID: "S1", Name: "One", Timezone: "UTC"}); err != nil {
			t.Fatal(err)
		}
		link, err := db.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: "qr"})
		if err != nil {
			t.Fatal(err)
		}
		legacy := insert(db, link, "ana@example.com")
		if _, err := db.RawExec(ctx, `UPDATE responses SET contact_index = NULL WHERE id = ?`, legacy); err != nil {
			t.Fatal(err)
		}
		db.Close()

		v1, _, err := contactvault.LoadOrCreate(keys, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		db = open(v1)
		first := insert(db, link, "+49 170 5550123")
		raw, index := stored(db, first)
		if !strings.HasPrefix(raw, "cv1:"+v1.Current()+":") || strings.Contains(raw, "5550123") || index == nil || *index != v1.Index("0049 170 5550123") {
			t.Fatalf("stored contact %q, index %v", raw, index)
		}
		comments, err := db.Comments(ctx, storage.CommentFilter{Filter: storage.Filter{StoreID: "S1", From: "2000-01-01", To: "2100-01-01"}})
		if err != nil || len(comments) != 2 {
			t.Fatalf("comments: %d, %v", len(comments), err)
		}
		got := map[string]string{}
		for _, c := range comments {
			got[c.ID] = c.Contact
		}
		if got[first] != "+49 170 5550123" || got[legacy] != "ana@example.com" {
			t.Errorf("comments show contacts %v", got)
		}
		cases, err := db.Cases(ctx, storage.CaseFilter{StoreID: "S1"})
		if err != nil || len(cases) != 2 {
			t.Fatalf("cases: %d, %v", len(cases), err)
		}
		for _, c := range cases {
			if c.Response.Contact != got[c.Response.ID] {
				t.Errorf("case of %s shows contact %q", c.Response.ID, c.Response.Contact)
			}
		}
		var csv bytes.Buffer
		if _, err := db.Export(ctx, storage.Filter{StoreID: "S1", From: "2000-01-01", To: "2100-01-01"}, &csv); err != nil ||
			!strings.Contains(csv.String(), "+49 170 5550123") || strings.Contains(csv.String(), "cv1:") {
			t.Errorf("export: %v\n%s", err, csv.String())
		}
		// The plaintext row is found by decrypting (it has no index yet).
		if dry, err := db.EraseContact(ctx, storage.ErasureRequest{Contact: "ANA@example.com", Actor: "test", DryRun: true}); err != nil || dry.Changed["responses"] != 1 {
			t.Errorf("dry run on the legacy contact: %+v, %v", dry, err)
		}
		db.Close()

		// Rotation: new writes under the new key, old ones still read; rekey moves all.
		if _, err := contactvault.Rotate(keys, time.Now()); err != nil {
			t.Fatal(err)
		}
		v2, err := contactvault.Load(keys)
		if err != nil {
			t.Fatal(err)
		}
		db = open(v2)
		second := insert(db, link, "bo@example.com")
		if raw, _ := stored(db, second); !strings.HasPrefix(raw, "cv1:"+v2.Current()+":") {
			t.Errorf("a new contact after rotation is under %q", contactvault.KeyID(raw))
		}
		if n, err := db.ContactsNotUnderKey(ctx, v2.Current()); err != nil || n != 2 {
			t.Errorf("contacts not under the new key: %d, %v; want 2", n, err)
		}
		var seen []storage.RekeyResult
		res, err := db.RekeyContacts(ctx, 2, func(r storage.RekeyResult) { seen = append(seen, r) })
		if err != nil || res.Scanned != 3 || res.Reencrypted != 2 || res.Unreadable != 0 || len(seen) != 2 {
			t.Fatalf("rekey: %+v (progress %v), %v", res, seen, err)
		}
		if n, err := db.ContactsNotUnderKey(ctx, v2.Current()); err != nil || n != 0 {
			t.Errorf("after rekey, contacts not under the new key: %d, %v", n, err)
		}
		if _, index := stored(db, legacy); index == nil || *index != v2.Index("ana@example.com") {
			t.Errorf("the legacy contact's index after rekey: %v", index)
		}
		db.Close()
		if _, err := contactvault.Retire(keys); err != nil {
			t.Fatal(err)
		}
		v3, err := contactvault.Load(keys)
		if err != nil {
			t.Fatal(err)
		}
		db = open(v3)
		defer db.Close()
		for _, id := range []string{legacy, first, second} {
			c, err := db.Cases(ctx, storage.CaseFilter{StoreID: "S1"})
			if err != nil {
				t.Fatal(err)
			}
			for _, cs := range c {
				if cs.Response.ID == id && (cs.Response.Contact == "" || strings.HasPrefix(cs.Response.Contact, "encrypted")) {
					t.Errorf("after retiring the old key, %s reads %q", id, cs.Response.Contact)
				}
			}
		}
		// Without the key file, an erasure refuses rather than miss encrypted contacts.
		keyless := open(nil)
		defer keyless.Close()
		if _, err := keyless.EraseContact(ctx, storage.ErasureRequest{Contact: "bo@example.com", Actor: "test"}); err == nil {
			t.Error("an erasure without the key file went ahead")
		}
	})
}

// A case.opened event is stored encrypted and claimed in clear: with the contact for a
// webhook and for a person with the contacts permission, hidden for one without it.
func TestCaseEventContactByPermission(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		c.AddStore(t, storage.Store{ID: "S1"})
		if _, err := c.DB.AddSubscription(ctx, storage.Subscription{ScopeKind: storage.ScopeChain, URL: "https://hooks.example/nps",
			Secret: "whsec_AAAA", Events: []string{storage.EventCaseOpened}}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []storage.NewUser{
			{Email: "may@example.com", Name: "May", Password: "a long test password", Alerts: []string{storage.EventCaseOpened}},
			{Email: "maynot@example.com", Name: "Maynot", Password: "a long test password", Alerts: []string{storage.EventCaseOpened}, NoContacts: true},
		} {
			if _, err := c.DB.AddUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		dev := c.Enroll(t, "S1", "Till 1")
		at := time.Now().Add(-time.Minute)
		r := wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: 1, Reasons: []string{}, Contact: "ana@example.com",
			ContactConsent: true, Locale: "en", SurveyVersion: 1, CreatedAt: at, CompletedAt: at, Outcome: response.OutcomeSubmitted}
		if _, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, []wire.Response{r}); err != nil {
			t.Fatal(err)
		}
		ds, err := c.DB.ClaimDeliveries(ctx, 10, time.Now().Add(time.Minute))
		if err != nil || len(ds) != 3 {
			t.Fatalf("claimed %d deliveries, %v; want the webhook's and two people's", len(ds), err)
		}
		for _, d := range ds {
			shown := strings.Contains(string(d.Payload), "ana@example.com")
			hidden := strings.Contains(string(d.Payload), storage.ContactHiddenText)
			if want := d.UserEmail != "maynot@example.com"; shown != want || hidden == want {
				t.Errorf("delivery to %q %q: contact shown %v, hidden %v", d.URL, d.UserEmail, shown, hidden)
			}
		}
	})
}
