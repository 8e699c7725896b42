package tlsconfig_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/tlsconfig"
	"github.com/npskiosk/npskiosk/sync/tlstrust/tlstrusttest"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// issue writes a new server certificate of ca for 127.0.0.1 and its key to the two
// files, each replaced in one rename as an operator's tooling does, and returns its
// serial number.
func issue(t *testing.T, ca *tlstrusttest.CA, certFile, keyFile string) int64 {
	t.Helper()
	chain, key := ca.Issue(t, "collector", time.Now().Add(24*time.Hour)).PEM(t)
	writeAtomic(t, keyFile, key)
	writeAtomic(t, certFile, chain)
	cert, _ := pem.Decode(chain)
	leaf, err := x509.ParseCertificate(cert.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.Int64()
}

func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// serveTLS serves h as serve --tls-cert does: a TLS listener with the reloader's
// configuration, HSTS on top.
func serveTLS(t *testing.T, r *tlsconfig.Reloader, h http.Handler) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", r.Config())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: tlsconfig.HSTS(h), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return "https://" + ln.Addr().String()
}

// client trusts only the CA; each client has its own connections.
func client(pool *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// serial is the serial number of the certificate a new connection sees.
func serial(t *testing.T, pool *x509.CertPool, url string) int64 {
	t.Helper()
	c := client(pool)
	defer c.CloseIdleConnections()
	resp, err := c.Get(url + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz over TLS: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz over TLS: %s", resp.Status)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
}

func files(t *testing.T) (string, string) {
	dir := t.TempDir()
	return filepath.Join(dir, "collector.crt"), filepath.Join(dir, "collector.key")
}

func TestServesOverTLSWithHSTS(t *testing.T) {
	ca := tlstrusttest.NewCA(t, "Test Retail CA")
	certFile, keyFile := files(t)
	issue(t, ca, certFile, keyFile)
	r, err := tlsconfig.New(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := collectortest.Start(t, collectortest.Options{})
	url := serveTLS(t, r, c.API)

	resp, err := client(ca.Pool()).Get(url + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz over TLS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz over TLS: %s", resp.Status)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("connection state %+v: want TLS 1.2 or later", resp.TLS)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security over TLS = %q, want max-age=31536000", got)
	}
	// The dashboard's sign-in page too.
	resp, err = client(ca.Pool()).Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("dashboard over TLS (%s): no Strict-Transport-Security", resp.Status)
	}

	// TLS 1.1 is refused.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("a TLS 1.1 client was served")
	}
	// A client that does not trust the CA is refused.
	if resp, err := http.Get(url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("a client without the CA was served")
	}

	// Over plain HTTP, through the same handler, no HSTS.
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: tlsconfig.HSTS(c.API), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(plain) }()
	defer srv.Close()
	resp, err = http.Get("http://" + plain.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz over HTTP: %s", resp.Status)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("Strict-Transport-Security over plain HTTP = %q, want none", got)
	}
}

func TestCertificateReplacedDuringUpload(t *testing.T) {
	ca := tlstrusttest.NewCA(t, "Test Retail CA")
	certFile, keyFile := files(t)
	issue(t, ca, certFile, keyFile)
	r, err := tlsconfig.New(certFile, keyFile, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	r.Start(ctx, 20*time.Millisecond)
	defer r.Stop()
	c := collectortest.Start(t, collectortest.Options{DeviceRate: 10000, DeviceBurst: 10000})
	c.AddStore(t, storage.Store{ID: "S042"})
	dev := c.Enroll(t, "S042", "Till 3")
	url := serveTLS(t, r, c.API)

	const total, size, workers = 1000, 25, 4
	rng := mrand.New(mrand.NewPCG(1, 2))
	now := time.Now().UTC().Add(-time.Hour)
	batches := make(chan []wire.Response, total/size)
	for i := 0; i < total; i += size {
		b := make([]wire.Response, size)
		for j := range b {
			b[j] = collectortest.Response(rng, now.Add(time.Duration(i+j)*time.Second))
		}
		batches <- b
	}
	close(batches)

	var sent atomic.Int64
	replaced := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, total/size)
	for w := range workers {
		wg.Go(func() {
			// Half the workers reuse their connection across the swap, half connect anew
			// for every batch, so handshakes happen before, during and after it.
			hc := client(ca.Pool())
			if w%2 == 1 {
				hc.Transport.(*http.Transport).DisableKeepAlives = true
			}
			defer hc.CloseIdleConnections()
			for b := range batches {
				res, err := collectortest.UploadWith(ctx, hc, url, dev.Token, b)
				if err == nil && len(res.Accepted) != len(b) {
					err = errors.New("not every response accepted")
				}
				if err != nil {
					errs <- err
					continue
				}
				if sent.Add(int64(len(b))) == total/2 {
					close(replaced) // the main goroutine swaps the files now
				}
				// Leave the swap time to happen while batches are still in flight.
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	var replacement int64
	select {
	case <-replaced:
		replacement = issue(t, ca, certFile, keyFile)
	case <-finished: // errors kept half the upload from arriving: reported below
	}
	<-finished
	close(errs)
	for err := range errs {
		t.Errorf("upload over TLS: %v", err)
	}
	if n := c.Count(t, "S042"); n != total {
		t.Fatalf("collector holds %d responses, want %d", n, total)
	}
	if sent.Load() != total {
		t.Fatalf("sent %d, want %d", sent.Load(), total)
	}
	waitFor(t, func() bool { return serial(t, ca.Pool(), url) == replacement }, "new connections to see the new certificate")
}

func TestBrokenReplacementKeepsTheOldCertificate(t *testing.T) {
	ca := tlstrusttest.NewCA(t, "Test Retail CA")
	certFile, keyFile := files(t)
	first := issue(t, ca, certFile, keyFile)
	r, err := tlsconfig.New(certFile, keyFile, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	r.Start(t.Context(), 20*time.Millisecond)
	defer r.Stop()
	c := collectortest.Start(t, collectortest.Options{})
	url := serveTLS(t, r, c.API)

	// A certificate that does not match the key: Reload refuses it, the watcher too.
	other := filepath.Join(t.TempDir(), "other.key")
	issue(t, ca, certFile, other)
	if err := r.Reload(); err == nil {
		t.Fatal("Reload took a certificate whose key is elsewhere")
	}
	writeAtomic(t, certFile, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"))
	time.Sleep(100 * time.Millisecond) // several polls
	if got := serial(t, ca.Pool(), url); got != first {
		t.Fatalf("after a broken replacement new connections see serial %d, want the old %d", got, first)
	}
	// SIGHUP's path: Trigger reloads now; once fixed the new certificate is served.
	fixed := issue(t, ca, certFile, keyFile)
	r.Trigger()
	waitFor(t, func() bool { return serial(t, ca.Pool(), url) == fixed }, "the fixed certificate to be served")
}

func TestNewRefusesMissingOrBrokenFiles(t *testing.T) {
	certFile, keyFile := files(t)
	if _, err := tlsconfig.New(certFile, keyFile, nil); err == nil {
		t.Error("New took missing files")
	}
	writeAtomic(t, certFile, []byte("junk"))
	writeAtomic(t, keyFile, []byte("junk"))
	if _, err := tlsconfig.New(certFile, keyFile, nil); err == nil {
		t.Error("New took junk")
	}
	if _, err := tlsconfig.New("", keyFile, nil); err == nil {
		t.Error("New took no certificate file")
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
