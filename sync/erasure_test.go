package sync

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
)

// An erasure at the collector reaches the kiosk that took the response: the next
// heartbeat's reply asks it to scrub, the kiosk clears the comment and the sealed
// contact from its file (the score stays), says so in the heartbeat after, and is not
// asked again. Another shopper's response on the kiosk is left alone. A real collector
// over 127.0.0.1 and a real kiosk database file.
func TestErasureReachesTheKiosk(t *testing.T) {
	ctx := context.Background()
	ring := collectortest.ContactKeys(t)
	c := collectortest.Start(t, collectortest.Options{Logger: quiet, ContactKeys: ring})
	c.AddStore(t, storage.Store{ID: "S1"})
	nd := c.EnrollmentCode(t, "S1", "Till 1")
	en, err := Enroll(ctx, c.URL, nd.Code, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kiosk.db")
	kiosk, err := store.Open(ctx, store.Config{Path: path, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer kiosk.Close()
	if err := kiosk.SetContactKey(ctx, *en.ContactKey); err != nil {
		t.Fatal(err)
	}
	answer := func(score int, comment, contact string) string {
		t.Helper()
		rec, err := kiosk.Record(ctx, response.Tap{Score: score, Locale: "en", SurveyVersion: 1})
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := contactseal.Seal(ring.Current(), rec.ID, contact)
		if err != nil {
			t.Fatal(err)
		}
		if err := kiosk.Complete(ctx, rec.ID, response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: comment,
			SealedContact: sealed, ContactConsent: true}); err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	erased := answer(2, "qxvcoffee was cold", "ana@example.com")
	kept := answer(9, "lovely bakery", "bo@example.com")
	w, err := New(Config{Store: kiosk, CollectorURL: c.URL, Token: en.Token, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.Drain(ctx); err != nil || n != 2 {
		t.Fatalf("Drain = %d, %v", n, err)
	}
	er, err := c.DB.EraseContact(ctx, storage.ErasureRequest{Contact: "ANA@example.com", Actor: "cli:test"})
	if err != nil || er.Changed["kiosk_scrubs"] != 1 {
		t.Fatalf("erasure: %+v, %v", er, err)
	}

	if err := w.SendHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := kiosk.Get(ctx, erased)
	if err != nil || got.Comment != "" || got.SealedContact != "" || got.ContactConsent || got.Score != 2 {
		t.Errorf("the erased response on the kiosk: %+v, %v", got, err)
	}
	if other, err := kiosk.Get(ctx, kept); err != nil || other.Comment != "lovely bakery" || other.SealedContact == "" {
		t.Errorf("another shopper's response on the kiosk: %+v, %v", other, err)
	}
	requireNotInFiles(t, path, "qxvcoffee")
	if pending, _, err := c.DB.KioskScrubs(ctx, en.DeviceID, nil); err != nil || len(pending) != 1 {
		t.Fatalf("before the kiosk says it scrubbed: %v, %v", pending, err)
	}
	// The next heartbeat says so; the collector stops asking.
	if err := w.SendHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if pending, _, err := c.DB.KioskScrubs(ctx, en.DeviceID, nil); err != nil || len(pending) != 0 {
		t.Errorf("after the kiosk said it scrubbed, still asked: %v, %v", pending, err)
	}
	var acked int
	if err := c.DB.RawQueryRow(ctx, `SELECT COUNT(*) FROM erased_responses WHERE acked_at IS NOT NULL`).Scan(&acked); err != nil || acked != 1 {
		t.Errorf("acknowledged: %d, %v", acked, err)
	}
}
