package collector_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

func sealedTo(t *testing.T, key contactseal.PublicKey, contact string) wire.Response {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	r := wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: 4, Reasons: []string{"staff"}, Locale: "en", SurveyVersion: 1,
		CreatedAt: now.Add(-time.Minute), CompletedAt: now.Add(-50 * time.Second), Outcome: response.OutcomeSubmitted, ContactConsent: true}
	var err error
	if r.SealedContact, err = contactseal.Seal(key, r.ID, contact); err != nil {
		t.Fatal(err)
	}
	return r
}

// contactOf is the contact the case of a response shows, and the key it is sealed to.
func contactOf(t *testing.T, c *collectortest.Collector, responseID string) (string, string) {
	t.Helper()
	cs, err := c.DB.Cases(context.Background(), storage.CaseFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range cs {
		if cs.Response.ID == responseID {
			return cs.Response.Contact, cs.Response.ContactSealed
		}
	}
	t.Fatalf("no case for %s", responseID)
	return "", ""
}

// Rotation keeps old key ids readable: a collector holding A then B (B current, as after
// contact-key rotate) opens what kiosks sealed to A before the rotation reached them and
// what they seal to B after; one holding A alone keeps B's sealed. Kiosks and the link
// ingest (the app API's) open alike.
func TestContactKeyRotationOpensOldAndNew(t *testing.T) {
	a, err := contactseal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := contactseal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	onlyA, _ := contactseal.NewKeyring(a)
	both, err := contactseal.NewKeyring(a, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name        string
		ring        *contactseal.Keyring
		sealedTo    contactseal.PublicKey
		wantContact string
		wantSealed  string
	}{
		{"A then B: sealed to A", both, a.Public(), "ana@example.com", ""},
		{"A then B: sealed to B", both, b.Public(), "ana@example.com", ""},
		{"A alone: sealed to A", onlyA, a.Public(), "ana@example.com", ""},
		{"A alone: sealed to B", onlyA, b.Public(), "", b.ID()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := collectortest.Start(t, collectortest.Options{ContactKeys: tt.ring})
			c.AddStore(t, storage.Store{ID: "S1"})
			dev := c.Enroll(t, "S1", "Till 1")
			if dev.ContactKey == nil || dev.ContactKey.ID != tt.ring.Current().ID {
				t.Fatalf("enrollment hands out %+v, want the current key %s", dev.ContactKey, tt.ring.Current().ID)
			}
			fromKiosk := sealedTo(t, tt.sealedTo, "ana@example.com")
			res, err := c.Service.IngestFromDevice(context.Background(), dev.DeviceID, []wire.Response{fromKiosk})
			if err != nil || len(res.Accepted) != 1 {
				t.Fatalf("ingest: %+v, %v", res, err)
			}
			link, err := c.DB.AddLink(context.Background(), storage.NewLink{StoreID: "S1", Channel: "app"})
			if err != nil {
				t.Fatal(err)
			}
			fromApp := sealedTo(t, tt.sealedTo, "ana@example.com")
			if got, err := c.Service.IngestFromLink(context.Background(), link, fromApp); err != nil || got != storage.Inserted {
				t.Fatalf("link ingest: %v, %v", got, err)
			}
			for _, id := range []string{fromKiosk.ID, fromApp.ID} {
				if contact, sealed := contactOf(t, c, id); contact != tt.wantContact || sealed != tt.wantSealed {
					t.Errorf("case contact %q sealed %q, want %q and %q", contact, sealed, tt.wantContact, tt.wantSealed)
				}
			}
		})
	}
}
