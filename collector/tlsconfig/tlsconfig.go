// Package tlsconfig serves the collector over TLS: a certificate that is reloaded from its
// files when they change (or on demand, e.g. on SIGHUP) without dropping connections, and
// the Strict-Transport-Security header on what is served over TLS.
package tlsconfig

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultInterval is how often Start looks at the files' modification times.
const DefaultInterval = 5 * time.Second

// HSTSMaxAge is the max-age of the Strict-Transport-Security header: one year.
const HSTSMaxAge = 365 * 24 * time.Hour

// Reloader holds the current certificate of a certificate and key file pair.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger
	cert              atomic.Pointer[tls.Certificate]

	mu      sync.Mutex // guards stamp, cancel, done
	stamp   stamp
	cancel  context.CancelFunc
	done    chan struct{}
	reloads chan struct{}
}

// stamp is what the files looked like when last loaded (or last failed to load).
type stamp struct{ cert, key time.Time }

// New loads the certificate and its key (PEM files, the certificate file may hold the
// chain after it). A nil logger discards.
func New(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("tls: give both a certificate file and a key file")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log, reloads: make(chan struct{}, 1)}
	st, err := r.files()
	if err != nil {
		return nil, err
	}
	if err := r.load(st); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Reloader) files() (stamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return stamp{}, fmt.Errorf("tls certificate: %w", err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return stamp{}, fmt.Errorf("tls key: %w", err)
	}
	return stamp{c.ModTime(), k.ModTime()}, nil
}

func (r *Reloader) load(st stamp) error {
	r.mu.Lock()
	r.stamp = st
	r.mu.Unlock()
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls: load %s and %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert.Store(&cert)
	return nil
}

// Reload reads the files again. On an error the current certificate stays.
func (r *Reloader) Reload() error {
	st, err := r.files()
	if err == nil {
		err = r.load(st)
	}
	if err != nil {
		r.log.Error("tls certificate not reloaded: still serving the previous one", "err", err)
		return err
	}
	r.log.Info("tls certificate reloaded", "cert", r.certFile)
	return nil
}

// Certificate is the certificate being served.
func (r *Reloader) Certificate() *tls.Certificate { return r.cert.Load() }

// GetCertificate is for tls.Config.GetCertificate: each new handshake gets the current
// certificate; connections already open keep theirs.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// Config is a server configuration: TLS 1.2 at least, Go's default cipher suites, the
// current certificate.
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

// Trigger asks the watcher started by Start to reload now (e.g. on SIGHUP).
func (r *Reloader) Trigger() {
	select {
	case r.reloads <- struct{}{}:
	default:
	}
}

// Start watches the files' modification times every interval (DefaultInterval when zero
// or less) and reloads when they change or when Trigger is called, until ctx ends or
// Stop is called.
func (r *Reloader) Start(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go r.watch(ctx, interval, r.done)
}

// Stop ends the watcher and waits for it.
func (r *Reloader) Stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.cancel, r.done = nil, nil
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (r *Reloader) watch(ctx context.Context, interval time.Duration, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.reloads:
			_ = r.Reload()
		case <-t.C:
			st, err := r.files()
			if err != nil {
				// A file being replaced may be missing for a moment; the next tick sees it.
				continue
			}
			r.mu.Lock()
			changed := st != r.stamp
			r.mu.Unlock()
			if changed {
				_ = r.Reload()
			}
		}
	}
}

// HSTS adds Strict-Transport-Security to every response sent over TLS; plain HTTP
// responses go without it (browsers ignore it there, and it would lock out a test set-up).
func HSTS(h http.Handler) http.Handler {
	value := fmt.Sprintf("max-age=%d", int(HSTSMaxAge.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.TLS != nil {
			w.Header().Set("Strict-Transport-Security", value)
		}
		h.ServeHTTP(w, req)
	})
}
