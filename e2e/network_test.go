package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// link is the store's line to HQ: a TCP relay on loopback between the kiosk and the
// collector that the test can cut and restore, so the kiosk goes offline while the
// collector and its dashboard stay up. Cut drops every open connection and resets
// each new one at once, as a dead uplink's router would; Restore relays again on the
// same port.
type link struct {
	ln       net.Listener
	upstream string

	mu      sync.Mutex
	cut     bool
	refused int // connections reset while cut
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

func newLink(t *testing.T, upstream string) *link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &link{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.accept()
	t.Cleanup(l.close)
	return l
}

// url is the collector's URL through the link: TLS passes through it untouched, and
// the collector's certificate names 127.0.0.1.
func (l *link) url() string { return "https://" + l.ln.Addr().String() }

func (l *link) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if l.cut {
			l.refused++
			l.mu.Unlock()
			reset(c)
			continue
		}
		l.mu.Unlock()
		up, err := net.DialTimeout("tcp", l.upstream, 5*time.Second)
		if err != nil {
			reset(c)
			continue
		}
		l.mu.Lock()
		if l.cut {
			l.mu.Unlock()
			reset(c)
			up.Close()
			continue
		}
		l.conns[c], l.conns[up] = struct{}{}, struct{}{}
		l.mu.Unlock()
		l.wg.Add(1)
		go l.relay(c, up)
	}
}

// relay copies both ways until either side ends, then closes both.
func (l *link) relay(a, b net.Conn) {
	defer l.wg.Done()
	done := make(chan struct{}, 2)
	go func() { io.Copy(a, b); done <- struct{}{} }()
	go func() { io.Copy(b, a); done <- struct{}{} }()
	<-done
	a.Close()
	b.Close()
	<-done
	l.mu.Lock()
	delete(l.conns, a)
	delete(l.conns, b)
	l.mu.Unlock()
}

// reset closes c with a TCP RST, not a polite FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// Cut takes the line down: open connections drop, new ones are reset.
func (l *link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
	for c := range l.conns {
		reset(c)
	}
}

// Restore brings the line back.
func (l *link) Restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = false
}

// Refused is how many connections the kiosk tried while the line was cut.
func (l *link) Refused() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}

func (l *link) close() {
	l.ln.Close()
	l.Cut()
	l.wg.Wait()
}

// hookReceiver is an HTTP endpoint that receives the collector's webhooks and checks
// each as a subscriber would, by the Standard Webhooks 1.0 rules, independently of the
// collector's code: an HMAC-SHA256 keyed with the secret's decoded bytes over
// "id.timestamp.body", any of the space-separated "v1,<base64>" signatures, and a
// timestamp within 5 minutes.
type hookReceiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	secret string
	got    []hook
}

// hook is one delivery as received.
type hook struct {
	ID, Type string
	Verified error // nil when the signature and timestamp check out
	Data     json.RawMessage
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) url() string { return r.srv.URL + "/nps-hooks" }

func (r *hookReceiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h := hook{ID: req.Header.Get("webhook-id"), Verified: verifyWebhook(r.secret, req.Header, body, time.Now())}
	var ev struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		h.Verified = errors.Join(h.Verified, fmt.Errorf("body is not a JSON event: %w", err))
	}
	h.Type, h.Data = ev.Type, ev.Data
	r.got = append(r.got, h)
	w.WriteHeader(http.StatusNoContent)
}

// hooks is what has been received so far.
func (r *hookReceiver) hooks() []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hook(nil), r.got...)
}

// verifyWebhook checks a delivery by the Standard Webhooks 1.0 specification.
func verifyWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("webhook-id, webhook-timestamp or webhook-signature missing")
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q: %w", ts, err)
	}
	if d := now.Sub(time.Unix(unix, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("webhook-timestamp %s is %s off", ts, d)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return fmt.Errorf("secret %q is not whsec_<base64>", secret)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(sigs) {
		v, b64, ok := strings.Cut(sig, ",")
		if !ok || v != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no signature in %q matches", sigs)
}
