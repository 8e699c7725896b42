package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
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

// sealedResponse is a response whose shopper left a contact, sealed to key, with consent.
func sealedResponse(t *testing.T, key contactseal.PublicKey, score int, contact string) wire.Response {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	r := wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: score, Reasons: []string{"staff"}, Locale: "en",
		SurveyVersion: 1, CreatedAt: now.Add(-time.Minute), CompletedAt: now.Add(-50 * time.Second), Outcome: response.OutcomeSubmitted,
		ContactConsent: true}
	sealed, err := contactseal.Seal(key, r.ID, contact)
	if err != nil {
		t.Fatal(err)
	}
	r.SealedContact = sealed
	return r
}

// sealedEnv is a collector with one store and one enrolled kiosk.
type sealedEnv struct {
	c     *collectortest.Collector
	token string // the kiosk's device token
	hq    *http.Client
	api   string // an API token for every store
}

func newSealedEnv(t *testing.T, opts collectortest.Options) *sealedEnv {
	t.Helper()
	c := collectortest.Start(t, opts)
	c.AddStore(t, storage.Store{ID: "S1"})
	dev := c.Enroll(t, "S1", "Till 1")
	return &sealedEnv{c: c, token: dev.Token, hq: withCookie(c.URL, c.Session(t, "")), api: c.APIToken(t, "")}
}

// upload posts a batch as the kiosk does and returns what the collector made of it.
func (e *sealedEnv) upload(t *testing.T, batch ...wire.Response) wire.UploadResult {
	t.Helper()
	res, err := collectortest.Upload(context.Background(), e.c.URL, e.token, batch)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// caseOf returns the case of a response as GET /v1/cases shows it.
func (e *sealedEnv) caseOf(t *testing.T, responseID string) followup.Case {
	t.Helper()
	req, _ := http.NewRequest("GET", e.c.URL+"/v1/cases?limit=500", nil)
	req.Header.Set("Authorization", "Bearer "+e.api)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Cases []followup.Case }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/cases: %d, %v", resp.StatusCode, err)
	}
	for _, c := range list.Cases {
		if c.Response.ID == responseID {
			return c
		}
	}
	t.Fatalf("no case for response %s among %d", responseID, len(list.Cases))
	return followup.Case{}
}

// page fetches a dashboard page as HQ.
func (e *sealedEnv) page(t *testing.T, path string) string {
	t.Helper()
	code, body := fetch(t, e.hq, e.c.URL+path)
	if code != 200 {
		t.Fatalf("GET %s: %d", path, code)
	}
	return body
}

// A contact sealed to the collector's key arrives in clear: in the case the API and the
// dashboard show and in the export. The content hash is of what was sent, so the same
// batch again is a duplicate. A box altered on the way is kept sealed, the response
// counted, and the collector logs it.
func TestSealedContactOpensAtIngest(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ring := collectortest.ContactKeys(t)
		var logs bytes.Buffer
		e := newSealedEnv(t, collectortest.Options{Backend: b, ContactKeys: ring, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		r := sealedResponse(t, ring.Current(), 2, "ana@example.com")
		altered := sealedResponse(t, ring.Current(), 3, "bo@example.com")
		altered.SealedContact = altered.SealedContact[:len(altered.SealedContact)-4] + "AAAA"
		res := e.upload(t, r, altered)
		if len(res.Accepted) != 2 {
			t.Fatalf("upload: %+v, want both accepted", res)
		}
		if res := e.upload(t, r, altered); len(res.Duplicate) != 2 {
			t.Fatalf("the same upload again: %+v, want both duplicate", res)
		}
		c := e.caseOf(t, r.ID)
		if c.Response.Contact != "ana@example.com" || c.Response.ContactSealed != "" {
			t.Errorf("case contact %q, sealed %q; want it opened", c.Response.Contact, c.Response.ContactSealed)
		}
		if page := e.page(t, "/cases/"+c.ID); !strings.Contains(page, "ana@example.com") {
			t.Error("the case page does not show the opened contact")
		}
		bad := e.caseOf(t, altered.ID)
		if bad.Response.Contact != "" || bad.Response.ContactSealed != ring.Current().ID {
			t.Errorf("altered box: case contact %q, sealed %q; want it kept sealed to %s", bad.Response.Contact, bad.Response.ContactSealed, ring.Current().ID)
		}
		if !strings.Contains(logs.String(), "a sealed contact does not open") || !strings.Contains(logs.String(), altered.ID) {
			t.Errorf("no warning logged for the altered box; logs:\n%s", logs.String())
		}
		if n := e.c.Count(t, "S1"); n != 2 {
			t.Errorf("%d responses stored, want 2", n)
		}
		export := e.page(t, "/export/cases.csv")
		if !strings.Contains(export, "ana@example.com") || strings.Contains(export, contactseal.Prefix) {
			t.Errorf("cases export: want the opened contact and no envelope:\n%s", export)
		}
	})
}

// A collector without the key keeps the response, counts it and reports its contact
// as sealed, with the key it needs, everywhere a contact would show: the case (API and
// page) and the exports; it thanks no one it cannot write to, and no event carries
// the envelope. The same database under a collector that holds the key opens them.
func TestSealedContactWithoutTheKeyThenWithIt(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ring := collectortest.ContactKeys(t)
		key := ring.Current()
		e := newSealedEnv(t, collectortest.Options{Backend: b})
		ctx := context.Background()
		if err := e.c.DB.SetThanksRule(ctx, "", followup.ThanksRule{}); err != nil {
			t.Fatal(err)
		}
		// A webhook for every event, so that response.created and case.opened are queued.
		if _, err := e.c.DB.AddSubscription(ctx, storage.Subscription{ScopeKind: storage.ScopeChain, URL: "https://hooks.example/nps"}); err != nil {
			t.Fatal(err)
		}
		detractor := sealedResponse(t, key, 1, "ana@example.com")
		promoter := sealedResponse(t, key, 10, "bo@example.com")
		if res := e.upload(t, detractor, promoter); len(res.Accepted) != 2 {
			t.Fatalf("upload: %+v, want both accepted", res)
		}
		if n := e.c.Count(t, "S1"); n != 2 {
			t.Fatalf("%d responses stored, want 2", n)
		}
		want := storage.SealedContactText(key.ID)
		for _, r := range []wire.Response{detractor, promoter} {
			c := e.caseOf(t, r.ID) // both asked to be contacted: each has a case
			if c.Response.Contact != "" || c.Response.ContactSealed != key.ID {
				t.Errorf("case of %d: contact %q, sealed %q; want sealed to %s", r.Score, c.Response.Contact, c.Response.ContactSealed, key.ID)
			}
			page := e.page(t, "/cases/"+c.ID)
			if !strings.Contains(page, want) || strings.Contains(page, contactseal.Prefix) {
				t.Errorf("case page of %d: want %q and no envelope", r.Score, want)
			}
		}
		var export bytes.Buffer
		if _, err := e.c.DB.Export(ctx, storage.Filter{From: "2000-01-01", To: "2100-01-01"}, &export); err != nil {
			t.Fatal(err)
		}
		if strings.Count(export.String(), want) != 2 || strings.Contains(export.String(), contactseal.Prefix) {
			t.Errorf("export: want %q twice and no envelope:\n%s", want, export.String())
		}
		if ty, err := e.c.DB.ThankYous(ctx, storage.ThankYouFilter{}); err != nil || len(ty) != 0 {
			t.Errorf("thank-yous %+v, %v; want none: the collector has no address", ty, err)
		}
		if n := countEnvelopesInEvents(t, e.c.DB); n != 0 {
			t.Errorf("%d queued events carry an envelope", n)
		}

		// The key is restored: a collector on the same database opens what it holds.
		with := collectortest.Start(t, collectortest.Options{Backend: b, DB: e.c.Path, ContactKeys: ring})
		opened, still, err := with.Service.OpenSealedContacts(ctx)
		if err != nil || opened != 2 || still != 0 {
			t.Fatalf("OpenSealedContacts = %d, %d, %v; want 2 opened, 0 still sealed", opened, still, err)
		}
		c := e.caseOf(t, detractor.ID)
		if c.Response.Contact != "ana@example.com" || c.Response.ContactSealed != "" {
			t.Errorf("after the key came back: contact %q, sealed %q", c.Response.Contact, c.Response.ContactSealed)
		}
		if res := e.upload(t, detractor, promoter); len(res.Duplicate) != 2 {
			t.Errorf("the same upload after opening: %+v, want both duplicate", res)
		}
		if opened, still, err := with.Service.OpenSealedContacts(ctx); opened != 0 || still != 0 || err != nil {
			t.Errorf("a second pass: %d, %d, %v; want nothing left", opened, still, err)
		}
	})
}

// countEnvelopesInEvents counts queued webhook deliveries whose body holds a sealed
// contact or the contact itself ("@example.com").
func countEnvelopesInEvents(t *testing.T, db *storage.DB) int {
	t.Helper()
	ds, err := db.ClaimDeliveries(context.Background(), 500, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) == 0 {
		t.Fatal("no events queued: the webhook did not subscribe")
	}
	n := 0
	for _, d := range ds {
		if strings.Contains(string(d.Payload), contactseal.Prefix) || strings.Contains(string(d.Payload), "@example.com") {
			t.Logf("%s: %s", d.EventType, d.Payload)
			n++
		}
	}
	return n
}
