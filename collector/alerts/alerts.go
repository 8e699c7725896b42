// Package alerts delivers the collector's events to their subscribers, from a durable
// queue in the collector's own database, at least once, with backoff and jitter: to
// webhook URLs, signed by the Standard Webhooks 1.0 convention and checked so that a
// subscription cannot make the collector call into its own network, and as e-mail in the
// recipient's language through an SMTP server. The same worker sends the thank-you
// e-mails queued for promoters, from their own queue, the same way.
package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// NewSecret makes a signing secret in the Standard Webhooks form, whsec_<base64>.
func NewSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new webhook secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}

// Sign returns the webhook-signature header value for a message: "v1," and the base64
// HMAC-SHA256, keyed with the secret's decoded bytes, of "id.timestamp.body".
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret is not whsec_<base64>: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, ts.Unix())
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// MaxTimestampSkew is how far a receiver should let webhook-timestamp be from its own
// clock before refusing the message as a replay.
const MaxTimestampSkew = 5 * time.Minute

// Verify checks a received message as a subscriber would: the signature (any of the
// space-separated ones, so a rotated secret still verifies) and the timestamp's age.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	id, tsText, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || tsText == "" || sigs == "" {
		return errors.New("verify webhook: webhook-id, webhook-timestamp and webhook-signature are required")
	}
	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("verify webhook: timestamp %q: %w", tsText, err)
	}
	ts := time.Unix(unix, 0)
	if d := now.Sub(ts); d > MaxTimestampSkew || d < -MaxTimestampSkew {
		return fmt.Errorf("verify webhook: timestamp %s is more than %s off", ts.UTC().Format(time.RFC3339), MaxTimestampSkew)
	}
	want, err := Sign(secret, id, ts, body)
	if err != nil {
		return err
	}
	for _, sig := range strings.Fields(sigs) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return errors.New("verify webhook: no signature matches")
}

// ErrRefusedURL is wrapped by every refusal of a webhook URL.
var ErrRefusedURL = errors.New("webhook URL refused")

// URLPolicy says which webhook URLs the collector may call.
type URLPolicy struct {
	// AllowLoopbackHTTP lets http:// URLs to this machine's loopback addresses through:
	// for tests and a receiver on the collector's own host. Everything else must be
	// https to a public address.
	AllowLoopbackHTTP bool
	// Resolve looks a host name up; nil means net.DefaultResolver.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// cgnat is the shared address space of carrier-grade NAT, private in all but name.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// addrAllowed reports whether the collector may connect to a.
func (p URLPolicy) addrAllowed(a netip.Addr) error {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		if p.AllowLoopbackHTTP {
			return nil
		}
		return fmt.Errorf("%w: %s is a loopback address", ErrRefusedURL, a)
	case a.IsPrivate(), cgnat.Contains(a):
		return fmt.Errorf("%w: %s is a private address", ErrRefusedURL, a)
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is a link-local address", ErrRefusedURL, a)
	case a.IsUnspecified(), a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is not a unicast address", ErrRefusedURL, a)
	}
	return nil
}

// Check refuses a URL the collector must not call: not https (http only to loopback
// when allowed), credentials in it, or a host that is or resolves to a loopback,
// private, link-local or otherwise non-public address.
func (p URLPolicy) Check(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: %q is not an absolute URL", ErrRefusedURL, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%w: credentials do not belong in the URL; the signature authenticates the collector", ErrRefusedURL)
	}
	addrs, err := p.resolve(ctx, u.Hostname())
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRefusedURL, u.Hostname(), err)
	}
	for _, a := range addrs {
		if err := p.addrAllowed(a); err != nil {
			return err
		}
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.AllowLoopbackHTTP && allLoopback(addrs):
	default:
		return fmt.Errorf("%w: %q must be https", ErrRefusedURL, raw)
	}
	return nil
}

func allLoopback(addrs []netip.Addr) bool {
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return false
		}
	}
	return len(addrs) > 0
}

func (p URLPolicy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if p.Resolve != nil {
		return p.Resolve(ctx, host)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// Client returns an HTTP client whose every connection is checked against the policy
// as it is dialled: a name that resolved to a public address when the subscription was
// made cannot be pointed at an internal one later (DNS rebinding).
func (p URLPolicy) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: dial %s: %w", ErrRefusedURL, address, err)
			}
			return p.addrAllowed(ap.Addr())
		},
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:         dialer.DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 4,
		},
		// A redirect is a new URL the subscriber did not register: not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Config wires a delivery worker.
type Config struct {
	DB     *storage.DB // required
	Policy URLPolicy
	Logger *slog.Logger // nil: slog.Default()
	// Client sends the requests; nil means Policy.Client(15 s).
	Client *http.Client
	// Mailer sends the e-mail subscriptions' alerts; nil leaves them waiting (and, after
	// PauseAfter failures, paused) until a collector with SMTP settings sends them.
	Mailer *Mailer
	// PublicURL is the collector's address as shoppers reach it, which the unsubscribe
	// link of a promoter's thank-you e-mail starts with. Thank-yous are sent only with a
	// Mailer and a PublicURL; otherwise they wait for a collector that has both.
	PublicURL string
	// Interval is how often the queue is polled when idle; zero means 1 s.
	Interval time.Duration
	// Lease is how long a claimed delivery is held before another collector may take
	// it; zero means 1 minute.
	Lease time.Duration
	// GiveUpAfter is how long after its event a delivery (or after its answer a
	// thank-you) is retried; zero means 25 h.
	GiveUpAfter time.Duration
	// PauseAfter pauses a subscription after this many failures in a row; zero means 50.
	PauseAfter int
	// Backoff is the wait before retry n (1, 2, …); nil means 5 s doubling up to 1 h,
	// with full jitter so a fleet of failures does not retry in step.
	Backoff func(n int) time.Duration
	Now     func() time.Time // nil: time.Now
}

// Worker sends queued deliveries until stopped. Several collectors may run one each
// against one database: a delivery is leased to one at a time.
type Worker struct {
	cfg    Config
	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New checks the configuration and fills in defaults.
func New(cfg Config) (*Worker, error) {
	if cfg.DB == nil {
		return nil, errors.New("webhooks: Config.DB is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Client == nil {
		cfg.Client = cfg.Policy.Client(15 * time.Second)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.GiveUpAfter <= 0 {
		cfg.GiveUpAfter = 25 * time.Hour
	}
	if cfg.PauseAfter <= 0 {
		cfg.PauseAfter = 50
	}
	if cfg.Backoff == nil {
		cfg.Backoff = defaultBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Worker{cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

// Wake tells the worker new events are queued, so they go out now rather than at the
// next poll. It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func defaultBackoff(n int) time.Duration {
	d := 5 * time.Second << min(n-1, 10)
	d = min(d, time.Hour)
	return d/2 + mrand.N(d/2+1)
}

// Start runs the worker in the background until Stop or ctx ends.
func (w *Worker) Start(ctx context.Context) {
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		w.run(ctx)
	}()
}

// Stop ends the worker and waits for it: a delivery in flight finishes and is recorded,
// the deliveries it claimed and did not start are handed back to the queue.
func (w *Worker) Stop() {
	w.once.Do(func() {
		if w.cancel != nil {
			w.cancel()
			<-w.done
		}
	})
}

func (w *Worker) run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.cfg.Logger.Error("webhook deliveries", "err", err)
		}
		if n > 0 {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// RunOnce claims the deliveries and thank-you e-mails due now, sends them and records
// the outcome; it returns how many it sent.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	// Neither queue holds the other up: a failure in one still lets the other go out.
	thanked, terr := w.sendThankYous(ctx)
	n, derr := w.sendDeliveries(ctx)
	return thanked + n, errors.Join(terr, derr)
}

// sendDeliveries claims the deliveries due now, sends them and records the outcome; it
// returns how many it sent.
//
// When ctx ends (Stop: the collector drains) the delivery in flight is finished and
// recorded, within the client's timeout, and those claimed but not started are handed
// back (ReleaseDeliveries), so another collector sends them at once instead of when
// this one's lease runs out.
func (w *Worker) sendDeliveries(ctx context.Context) (int, error) {
	leaseUntil := w.cfg.Now().Add(w.cfg.Lease)
	ds, err := w.cfg.DB.ClaimDeliveries(ctx, 20, leaseUntil)
	if err != nil {
		return 0, err
	}
	// The send and its record outlive ctx: a delivery half done is finished, not
	// abandoned to its lease (which would send it twice).
	inFlight := context.WithoutCancel(ctx)
	for i, d := range ds {
		if ctx.Err() != nil {
			ids := make([]int64, 0, len(ds)-i)
			for _, rest := range ds[i:] {
				ids = append(ids, rest.ID)
			}
			release, cancel := context.WithTimeout(inFlight, 5*time.Second)
			defer cancel()
			if err := w.cfg.DB.ReleaseDeliveries(release, ids, leaseUntil); err != nil {
				return i, errors.Join(ctx.Err(), err)
			}
			w.cfg.Logger.Info("webhook deliveries handed back", "deliveries", len(ids))
			return i, ctx.Err()
		}
		a := w.send(inFlight, d)
		if err := w.cfg.DB.RecordAttempt(inFlight, d, a); err != nil {
			return 0, err
		}
		if a.Err != "" {
			w.cfg.Logger.Warn("webhook delivery failed", "event", d.EventID, "type", d.EventType, "url", d.URL,
				"attempt", d.Attempts+1, "err", a.Err, "retry", a.Retry)
		}
	}
	return len(ds), nil
}

// send posts one delivery and says what became of it.
func (w *Worker) send(ctx context.Context, d storage.Delivery) storage.Attempt {
	start := w.cfg.Now()
	a := storage.Attempt{PauseAfter: w.cfg.PauseAfter}
	fail := func(code int, msg string) storage.Attempt {
		a.StatusCode, a.Err, a.Duration = code, msg, w.cfg.Now().Sub(start)
		if next := w.cfg.Now().Add(w.cfg.Backoff(d.Attempts + 1)); next.Sub(d.EventAt) < w.cfg.GiveUpAfter {
			a.Retry = next
		}
		return a
	}
	if strings.HasPrefix(d.URL, "user:") {
		if d.UserEmail == "" {
			// Disabling a person drops their queue; this one slipped past it.
			a.Err, a.Duration = "the person these alerts were for is disabled or gone", w.cfg.Now().Sub(start)
			return a
		}
		if w.cfg.Mailer == nil {
			return fail(0, errNoMail.Error())
		}
		if err := w.cfg.Mailer.Send(ctx, EmailTarget{Address: d.UserEmail, Lang: d.UserLanguage}, d.EventID, d.Payload); err != nil {
			return fail(0, err.Error())
		}
		a.Duration = w.cfg.Now().Sub(start)
		return a
	}
	if to, ok := ParseEmailURL(d.URL); ok {
		if w.cfg.Mailer == nil {
			return fail(0, errNoMail.Error())
		}
		if err := w.cfg.Mailer.Send(ctx, to, d.EventID, d.Payload); err != nil {
			return fail(0, err.Error())
		}
		a.Duration = w.cfg.Now().Sub(start)
		return a
	}
	sig, err := Sign(d.Secret, d.EventID, start, d.Payload)
	if err != nil {
		return fail(0, err.Error())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return fail(0, err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "npscollector-webhooks/1")
	req.Header.Set("webhook-id", d.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(start.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return fail(0, err.Error())
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail(resp.StatusCode, "the receiver answered "+resp.Status)
	}
	a.StatusCode, a.Duration = resp.StatusCode, w.cfg.Now().Sub(start)
	return a
}
