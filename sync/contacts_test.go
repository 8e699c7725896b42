package sync

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/tlstrust/tlstrusttest"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// serveContactKey makes the rig's collector answer GET /v1/contact-key with k, or pass
// it through (this collector has no key: 404 no_contact_key) when k is nil.
func (r *rig) serveContactKey(k *contactseal.PublicKey) {
	r.setIntercept(func(w http.ResponseWriter, req *http.Request) bool {
		if req.URL.Path != "/v1/contact-key" || k == nil {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(k)
		return true
	})
}

// The key learnt at enrollment stays while the collector serves it, a rotated key is
// picked up on the next pull, and a collector without a key (404) makes the kiosk
// forget its own and stop asking for contacts.
func TestContactKeyFollowsTheCollector(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	w := r.worker(nil)
	first, second := collectortest.ContactKeys(t).Current(), collectortest.ContactKeys(t).Current()
	if err := r.kiosk.SetContactKey(ctx, first); err != nil { // as npskiosk enroll does
		t.Fatal(err)
	}
	learnt, _, _ := r.kiosk.ContactKeyInfo(ctx)
	for _, step := range []struct {
		name  string
		serve *contactseal.PublicKey
		want  string // the key id kept; empty: none
	}{
		{"the same key", &first, first.ID},
		{"a rotated key", &second, second.ID},
		{"no key at the collector", nil, ""},
		{"a key again", &first, first.ID},
	} {
		r.serveContactKey(step.serve)
		if err := w.PullContactKey(ctx); err != nil {
			t.Fatalf("%s: PullContactKey: %v", step.name, err)
		}
		got, ok, err := r.kiosk.ContactKeyInfo(ctx)
		if err != nil || ok != (step.want != "") || got.ID != step.want {
			t.Fatalf("%s: the kiosk keeps %+v (%v, %v), want %q", step.name, got.PublicKey, ok, err, step.want)
		}
		if step.name == "the same key" && !got.LearntAt.Equal(learnt.LearntAt) {
			t.Errorf("the same key was stored again: learnt %v, was %v", got.LearntAt, learnt.LearntAt)
		}
	}
	// A key that is not one (its id does not match) is refused; the kept one stays.
	bad := second
	bad.ID = "0123456789abcdef"
	r.serveContactKey(&bad)
	if err := w.PullContactKey(ctx); err == nil {
		t.Fatal("an unusable key was taken")
	}
	if got, _, _ := r.kiosk.ContactKey(ctx); got.ID != first.ID {
		t.Fatalf("after an unusable key the kiosk has %q, want %q kept", got.ID, first.ID)
	}
}

// The heartbeat tells IT when the collector's certificate expires (as the kiosk sees it
// over TLS) and which contact key the kiosk seals to.
func TestHeartbeatCarriesCertExpiryAndContactKey(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	ca := tlstrusttest.NewCA(t, "Test CA")
	notAfter := time.Now().Add(40 * 24 * time.Hour).Truncate(time.Second)
	cert := ca.Issue(t, "collector", notAfter)
	var (
		mu   stdsync.Mutex
		beat wire.Heartbeat
	)
	recording := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/v1/heartbeat" {
			body, _ := io.ReadAll(req.Body)
			mu.Lock()
			json.Unmarshal(body, &beat)
			mu.Unlock()
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		r.srv.Config.Handler.ServeHTTP(w, req)
	})
	srv := httptest.NewUnstartedServer(recording)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	plain := httptest.NewServer(recording)
	t.Cleanup(plain.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}

	key := collectortest.ContactKeys(t).Current()
	if err := r.kiosk.SetContactKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		url        string
		client     *http.Client
		wantExpiry time.Time
	}{
		{"over TLS", srv.URL, hc, notAfter},
		{"over plain HTTP", plain.URL, nil, time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := r.worker(func(c *Config) { c.CollectorURL, c.HTTPClient = tt.url, tt.client })
			// The first answer shows the certificate; the heartbeat reports it.
			if err := w.PullSurvey(ctx); err != nil {
				t.Fatal(err)
			}
			if err := w.SendHeartbeat(ctx); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := beat
			beat = wire.Heartbeat{}
			mu.Unlock()
			if !got.CollectorCertExpiry.Equal(tt.wantExpiry) || got.ContactKeyID != key.ID {
				t.Fatalf("heartbeat: cert expiry %v, contact key %q; want %v, %q", got.CollectorCertExpiry, got.ContactKeyID, tt.wantExpiry, key.ID)
			}
		})
	}
}

// Cases pulled from the collector keep their contacts in the worker's memory, never in
// the kiosk's database: the cache on disk only says a contact was left.
func TestCaseContactsStayInMemory(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	w := r.worker(nil)
	if _, _, known := w.CaseContact("any"); known {
		t.Fatal("contacts known before any pull")
	}
	c := r.openCase(w)
	// The collector sends the case with the contact it opened (this rig's collector holds
	// no key, so it is put in here), and another with one it cannot open.
	const contact = "ana.memory.4417@example.com"
	r.setIntercept(func(rw http.ResponseWriter, req *http.Request) bool {
		if req.Method != http.MethodGet || req.URL.Path != "/v1/device/cases" {
			return false
		}
		rec := httptest.NewRecorder()
		r.api.ServeHTTP(rec, req)
		var list wire.CaseList
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
			t.Error(err)
			return false
		}
		list.Cases[0].Response.Contact, list.Cases[0].Response.ContactSealed = contact, ""
		sealed := list.Cases[0]
		sealed.ID, sealed.Response.Contact, sealed.Response.ContactSealed = "sealed-case", "", "0123456789abcdef"
		list.Cases = append(list.Cases, sealed)
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(list)
		return true
	})
	if err := w.PullCases(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id, contact, sealed string
	}{{c.ID, contact, ""}, {"sealed-case", "", "0123456789abcdef"}, {"unknown", "", ""}} {
		if got, sealed, known := w.CaseContact(tt.id); !known || got != tt.contact || sealed != tt.sealed {
			t.Errorf("CaseContact(%s) = %q, %q, %v; want %q, %q, true", tt.id, got, sealed, known, tt.contact, tt.sealed)
		}
	}
	cs, err := r.kiosk.Cases(ctx)
	if err != nil || len(cs) != 2 || !cs[0].HasContact || !cs[1].HasContact {
		t.Fatalf("cached cases %+v, %v; want both with a contact left", cs, err)
	}
	r.kiosk.Close()
	requireNotInFiles(t, r.kiosk.Path(), contact)
}

// The issue's must-show, kiosk to collector: a contact sealed as the follow-up screen
// seals it is stored without a readable byte of it in the database's files, and the
// collector receives a box that its keyring opens to the contact.
func TestSealedContactReachesTheCollector(t *testing.T) {
	ctx := context.Background()
	ring := collectortest.ContactKeys(t)
	c := collectortest.Start(t, collectortest.Options{Logger: quiet, ContactKeys: ring})
	c.AddStore(t, storage.Store{ID: "S1"})
	nd := c.EnrollmentCode(t, "S1", "Till 1")
	var (
		mu       stdsync.Mutex
		uploaded []wire.Response
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/v1/responses" {
			body, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
			if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
				var up struct{ Responses []wire.Response }
				json.NewDecoder(zr).Decode(&up)
				mu.Lock()
				uploaded = append(uploaded, up.Responses...)
				mu.Unlock()
			}
		}
		c.API.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	en, err := Enroll(ctx, srv.URL, nd.Code, nil)
	if err != nil {
		t.Fatal(err)
	}
	if en.ContactKey == nil || en.ContactKey.ID != ring.Current().ID {
		t.Fatalf("enrollment gave contact key %+v, want %s", en.ContactKey, ring.Current().ID)
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

	const contact = "Zoe.Quixote+NPS@Example.COM"
	rec, err := kiosk.Record(ctx, response.Tap{Score: 2, Locale: "en", SurveyVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	key, ok, err := kiosk.ContactKey(ctx)
	if err != nil || !ok {
		t.Fatalf("no contact key after enrollment: %v", err)
	}
	sealed, err := contactseal.Seal(key, rec.ID, contact)
	if err != nil {
		t.Fatal(err)
	}
	if err := kiosk.Complete(ctx, rec.ID, response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: "cold coffee",
		SealedContact: sealed, ContactConsent: true}); err != nil {
		t.Fatal(err)
	}
	requireNotInFiles(t, path, contact)

	w, err := New(Config{Store: kiosk, CollectorURL: srv.URL, Token: en.Token, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.Drain(ctx); err != nil || n != 1 {
		t.Fatalf("Drain = %d, %v", n, err)
	}
	mu.Lock()
	got := uploaded
	mu.Unlock()
	if len(got) != 1 || got[0].Contact != "" || !got[0].ContactConsent {
		t.Fatalf("the collector received %+v, want one response with consent and no contact in clear", got)
	}
	if opened, err := ring.Open(got[0].ID, got[0].SealedContact); err != nil || opened != contact {
		t.Fatalf("the collector's keyring opens the received box to %q, %v; want %q", opened, err, contact)
	}
	if n := c.Count(t, "S1"); n != 1 {
		t.Fatalf("the collector holds %d responses, want 1", n)
	}
	kiosk.Close()
	requireNotInFiles(t, path, contact)
}

// requireNotInFiles fails if the database at path, its -wal or its -shm holds contact in
// any case, or its part before the @.
func requireNotInFiles(t *testing.T, path, contact string) {
	t.Helper()
	local, _, _ := strings.Cut(contact, "@")
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, n := range []string{contact, strings.ToLower(contact), strings.ToUpper(contact), local, strings.ToLower(local)} {
			if bytes.Contains(b, []byte(n)) {
				t.Errorf("%s holds %q", f, n)
			}
		}
	}
}
