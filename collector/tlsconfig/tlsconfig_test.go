package tlsconfig_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
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
	"github.com/npskiosk/npskiosk/sync/wire"
)

// testCA is a certificate authority made in the test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Retail CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return testCA{cert: cert, key: key, pool: pool}
}

// issue writes a server certificate for 127.0.0.1 with the serial number given, and its
// key, to the two files, each replaced in one rename as an operator's tooling does.
func (ca testCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "collector"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	writeAtomic(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
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
	ca := newCA(t)
	certFile, keyFile := files(t)
	ca.issue(t, 2, certFile, keyFile)
	r, err := tlsconfig.New(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := collectortest.Start(t, collectortest.Options{})
	url := serveTLS(t, r, c.API)

	resp, err := client(ca.pool).Get(url + "/healthz")
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
	resp, err = client(ca.pool).Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("dashboard over TLS (%s): no Strict-Transport-Security", resp.Status)
	}

	// TLS 1.1 is refused.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}}
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
	ca := newCA(t)
	certFile, keyFile := files(t)
	ca.issue(t, 2, certFile, keyFile)
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
			hc := client(ca.pool)
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
	select {
	case <-replaced:
		ca.issue(t, 3, certFile, keyFile)
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
	waitFor(t, func() bool { return serial(t, ca.pool, url) == 3 }, "new connections to see the new certificate")
}

func TestBrokenReplacementKeepsTheOldCertificate(t *testing.T) {
	ca := newCA(t)
	certFile, keyFile := files(t)
	ca.issue(t, 2, certFile, keyFile)
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
	ca.issue(t, 4, certFile, other)
	if err := r.Reload(); err == nil {
		t.Fatal("Reload took a certificate whose key is elsewhere")
	}
	writeAtomic(t, certFile, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"))
	time.Sleep(100 * time.Millisecond) // several polls
	if got := serial(t, ca.pool, url); got != 2 {
		t.Fatalf("after a broken replacement new connections see serial %d, want the old 2", got)
	}
	// SIGHUP's path: Trigger reloads now; once fixed the new certificate is served.
	ca.issue(t, 5, certFile, keyFile)
	r.Trigger()
	waitFor(t, func() bool { return serial(t, ca.pool, url) == 5 }, "the fixed certificate to be served")
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
