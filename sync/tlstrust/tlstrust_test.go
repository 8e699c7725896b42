package tlstrust_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
	kiosksync "github.com/npskiosk/npskiosk/sync"
	"github.com/npskiosk/npskiosk/sync/tlstrust"
	"github.com/npskiosk/npskiosk/sync/tlstrust/tlstrusttest"
)

var quiet = slog.New(slog.DiscardHandler)

// tlsCollector is a real collector served over TLS with a certificate the test can
// replace while it runs.
type tlsCollector struct {
	*collectortest.Collector
	URL  string
	cert atomic.Pointer[tls.Certificate]
}

func startTLSCollector(t *testing.T, cert tls.Certificate) *tlsCollector {
	t.Helper()
	c := &tlsCollector{Collector: collectortest.Start(t, collectortest.Options{Logger: quiet})}
	c.AddStore(t, storage.Store{ID: "S1"})
	c.cert.Store(&cert)
	srv := httptest.NewUnstartedServer(c.API)
	// GetConfigForClient is asked on every handshake, also without SNI (an IP address).
	srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return &tls.Config{Certificates: []tls.Certificate{*c.cert.Load()}}, nil
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

func (c *tlsCollector) serve(cert tls.Certificate) { c.cert.Store(&cert) }

type kioskRig struct {
	t     *testing.T
	db    *store.DB
	c     *tlsCollector
	token string
}

// newKiosk is a kiosk with a real SQLite store, enrolled over TLS with trust.
func newKiosk(t *testing.T, c *tlsCollector, trust tlstrust.Config) *kioskRig {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "kiosk.db"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hc, err := trust.HTTPClient(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	en, err := kiosksync.Enroll(ctx, c.URL, c.EnrollmentCode(t, "S1", "Till 1").Code, hc)
	if err != nil {
		t.Fatalf("enroll over TLS: %v", err)
	}
	return &kioskRig{t: t, db: db, c: c, token: en.Token}
}

// capture taps n answers and completes them, as shoppers do.
func (k *kioskRig) capture(n int) {
	k.t.Helper()
	ctx := context.Background()
	for i := range n {
		rec, err := k.db.Record(ctx, response.Tap{Score: i % 11, Locale: "en", SurveyVersion: 1})
		if err != nil {
			k.t.Fatal(err)
		}
		if err := k.db.Complete(ctx, rec.ID, response.FollowUp{Outcome: response.OutcomeSubmitted, Reasons: []string{"staff"}}); err != nil {
			k.t.Fatal(err)
		}
	}
}

func (k *kioskRig) worker(trust tlstrust.Config) *kiosksync.Worker {
	k.t.Helper()
	hc, err := trust.HTTPClient(0)
	if err != nil {
		k.t.Fatal(err)
	}
	w, err := kiosksync.New(kiosksync.Config{Store: k.db, CollectorURL: k.c.URL, Token: k.token, HTTPClient: hc, Logger: quiet,
		RetryWaitMin: 5 * time.Millisecond, RetryWaitMax: 20 * time.Millisecond, AttemptTimeout: 5 * time.Second,
		Idle: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		k.t.Fatal(err)
	}
	return w
}

func (k *kioskRig) counts() (pending, atCollector int64) {
	k.t.Helper()
	ob, err := k.db.Outbox(context.Background())
	if err != nil {
		k.t.Fatal(err)
	}
	return ob.Pending, k.c.Count(k.t, "S1")
}

// refused drains with trust and wants it refused for want, with every response kept.
func (k *kioskRig) refused(trust tlstrust.Config, want string) {
	k.t.Helper()
	before, atBefore := k.counts()
	w := k.worker(trust)
	_, err := w.Drain(context.Background())
	var ce *tlstrust.CertError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
		k.t.Errorf("drain: %v; want a certificate error saying %q", err, want)
	}
	if st := w.Status(); !strings.Contains(st.LastError, want) || st.Online {
		k.t.Errorf("status: %+v; want the last error to say %q", st, want)
	}
	if err := w.CheckCollector(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
		k.t.Errorf("check: %v; want %q", err, want)
	}
	if pending, at := k.counts(); pending != before || at != atBefore {
		k.t.Errorf("after a refused sync: %d pending, %d at the collector; want %d and %d", pending, at, before, atBefore)
	}
}

func TestKioskSyncsOverTLS(t *testing.T) {
	ca, other := tlstrusttest.NewCA(t, "Chain Root CA"), tlstrusttest.NewCA(t, "Other CA")
	year := time.Now().Add(365 * 24 * time.Hour)
	good := ca.Issue(t, "collector.test", year)
	backup := ca.Issue(t, "backup key", year)
	wrongCA := other.Issue(t, "collector.test", year)
	c := startTLSCollector(t, good.TLS)
	k := newKiosk(t, c, tlstrust.Config{CAFile: ca.File})
	k.capture(5)

	k.refused(tlstrust.Config{}, "unknown authority")
	k.refused(tlstrust.Config{CAFile: other.File}, "unknown authority")
	k.refused(tlstrust.Config{CAFile: other.File, CAMode: tlstrust.ModeReplace}, "unknown authority")
	mismatch := tlstrust.Config{CAFile: ca.File, Pins: []string{tlstrust.Pin(wrongCA.Leaf), tlstrust.Pin(other.Cert)}}
	k.refused(mismatch, "pin mismatch")

	// Fixed: the right CA, and a pin of the collector's key beside a backup key's.
	fixed := tlstrust.Config{CAFile: ca.File, CAMode: tlstrust.ModeReplace, Pins: []string{tlstrust.Pin(backup.Leaf), tlstrust.Pin(good.Leaf)}}
	w := k.worker(fixed)
	if n, err := w.Drain(context.Background()); err != nil || n != 5 {
		t.Fatalf("drain with the fixed config: %d, %v", n, err)
	}
	if pending, at := k.counts(); pending != 0 || at != 5 {
		t.Fatalf("after the fix: %d pending, %d at the collector; want 0 and 5", pending, at)
	}
	// A pin of the CA's key also matches (the chain holds it).
	if err := k.worker(tlstrust.Config{CAFile: ca.File, Pins: []string{tlstrust.Pin(backup.Leaf), tlstrust.Pin(ca.Cert)}}).CheckCollector(context.Background()); err != nil {
		t.Errorf("pinned CA: %v", err)
	}

	k.capture(2)
	c.serve(ca.Issue(t, "collector.test", time.Now().Add(-time.Hour)).TLS)
	k.refused(fixed, "expired")
	c.serve(ca.Issue(t, "collector.test", year, "collector.other.test").TLS)
	k.refused(tlstrust.Config{CAFile: ca.File}, "another name")
	c.serve(good.TLS)
	if n, err := k.worker(fixed).Drain(context.Background()); err != nil || n != 2 {
		t.Fatalf("drain once the certificate is right again: %d, %v", n, err)
	}
}

// TestWorkerRetriesAfterCertificateErrors: retryablehttp does not retry a certificate
// error; the worker's own loop tries again with backoff and uploads once the
// collector's certificate is right, without a "Sync now".
func TestWorkerRetriesAfterCertificateErrors(t *testing.T) {
	ca, other := tlstrusttest.NewCA(t, "Chain Root CA"), tlstrusttest.NewCA(t, "Other CA")
	year := time.Now().Add(365 * 24 * time.Hour)
	good := ca.Issue(t, "collector.test", year)
	c := startTLSCollector(t, good.TLS)
	trust := tlstrust.Config{CAFile: ca.File}
	k := newKiosk(t, c, trust)
	c.serve(other.Issue(t, "collector.test", year).TLS)
	k.capture(3)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := k.worker(trust)
	w.Start(ctx)
	defer w.Stop()
	waitFor(t, "the unknown authority named", func() bool { return strings.Contains(w.Status().LastError, "unknown authority") })
	time.Sleep(200 * time.Millisecond) // a few rounds fail
	if pending, at := k.counts(); pending != 3 || at != 0 {
		t.Fatalf("while refused: %d pending, %d at the collector", pending, at)
	}
	c.serve(good.TLS)
	waitFor(t, "the upload", func() bool { p, at := k.counts(); return p == 0 && at == 3 })
	waitFor(t, "the error cleared", func() bool { st := w.Status(); return st.Online && st.LastError == "" })
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url   string
		allow bool
		ok    bool
	}{
		{"https://collector.example.com", false, true},
		{"http://127.0.0.1:8080", false, true},
		{"http://localhost:8080", false, true},
		{"http://[::1]:8080", false, true},
		{"http://collector.example.com", false, false},
		{"http://10.0.0.5:8080", false, false},
		{"http://collector.example.com", true, true},
		{"ftp://collector.example.com", true, false},
	}
	for _, tt := range tests {
		c := tlstrust.Config{AllowInsecureHTTP: tt.allow}
		err := c.CheckURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("CheckURL(%q, allow=%v) = %v; want ok %v", tt.url, tt.allow, err, tt.ok)
		}
		if !tt.ok && strings.HasPrefix(tt.url, "http:") && !errors.Is(err, tlstrust.ErrInsecureHTTP) {
			t.Errorf("CheckURL(%q): %v; want ErrInsecureHTTP", tt.url, err)
		}
	}
	if !(tlstrust.Config{}).Insecure("http://collector.example.com") || (tlstrust.Config{}).Insecure("http://127.0.0.1:1") {
		t.Error("Insecure")
	}
}

func TestValidate(t *testing.T) {
	pin := "sha256/" + strings.Repeat("A", 43) + "="
	tests := []struct {
		name string
		c    tlstrust.Config
		want string // "" for valid
	}{
		{"empty", tlstrust.Config{}, ""},
		{"two pins", tlstrust.Config{Pins: []string{pin, strings.TrimPrefix(pin, "sha256/")}}, ""},
		{"one pin", tlstrust.Config{Pins: []string{pin}}, "at least two"},
		{"bad pin", tlstrust.Config{Pins: []string{pin, "sha256/abc"}}, "base64 of a SHA-256"},
		{"bad mode", tlstrust.Config{CAMode: "merge"}, "ca_mode"},
		{"replace without file", tlstrust.Config{CAMode: "replace"}, "needs ca_file"},
	}
	for _, tt := range tests {
		err := tt.c.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v; want %q", tt.name, err, tt.want)
		}
	}
	if _, err := (tlstrust.Config{CAFile: filepath.Join(t.TempDir(), "none.pem")}).TLSConfig(); err == nil {
		t.Error("a missing ca_file was accepted")
	}
}

func TestInspect(t *testing.T) {
	ca := tlstrusttest.NewCA(t, "Chain Root CA")
	good := ca.Issue(t, "collector.test", time.Now().Add(10*24*time.Hour))
	c := startTLSCollector(t, good.TLS)
	peer, err := tlstrust.Config{CAFile: ca.File}.Inspect(context.Background(), c.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(peer.Subject, "collector.test") || !strings.Contains(peer.Issuer, "Chain Root CA") ||
		!peer.NotAfter.Equal(good.Leaf.NotAfter) || peer.Pin != tlstrust.Pin(good.Leaf) {
		t.Errorf("peer: %+v", peer)
	}
	if _, err := (tlstrust.Config{}).Inspect(context.Background(), c.URL); tlstrust.Cause(err) == "" {
		t.Errorf("without the CA: %v; want a named cause", err)
	}
}
