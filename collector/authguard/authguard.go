// Package authguard limits and records failed authentication: dashboard sign-ins,
// enrollment codes and bearer tokens. Failures are counted per client network (an IPv4
// address or an IPv6 /64) and for everyone, in fixed windows kept in the collector's
// database, so the limits hold across every collector on one database. Only failures
// are written; a check is one read. Every refusal, here or elsewhere (CSRF, an expired
// session, /metrics on the public address), is logged and counted by Refuse.
package authguard

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/internal/clientnet"
)

// Kinds of attempt that are limited.
const (
	SignIn = "signin" // the dashboard's e-mail and password
	Enroll = "enroll" // an enrollment code at POST /v1/enroll
	Token  = "token"  // a device or API bearer token
)

// Rule is how many failures of one kind a window allows from one client network and
// from everyone together. When either is reached, attempts are refused with 429 until
// the window ends.
type Rule struct {
	PerClient, Global int64
	Window            time.Duration
}

// DefaultRules returns the limits used without Config.Rules. Sign-ins and codes are
// few and human; tokens are 256-bit, so their limits only stop noise, and are high
// enough that a fleet's kiosks are never locked out by a few broken ones.
func DefaultRules() map[string]Rule {
	return map[string]Rule{
		SignIn: {PerClient: 10, Global: 200, Window: 15 * time.Minute},
		Enroll: {PerClient: 10, Global: 100, Window: 15 * time.Minute},
		Token:  {PerClient: 30, Global: 5000, Window: 15 * time.Minute},
	}
}

// Config sets a Guard up.
type Config struct {
	DB     *storage.DB  // required
	Logger *slog.Logger // nil: slog.Default()
	// TrustedProxies are reverse proxies whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// Rules replace DefaultRules kind by kind.
	Rules map[string]Rule
}

// Guard checks and notes failed attempts.
type Guard struct {
	db       *storage.DB
	log      *slog.Logger
	proxies  []netip.Prefix
	rules    map[string]Rule
	refusals *prometheus.CounterVec
}

// New returns a Guard.
func New(cfg Config) *Guard {
	g := &Guard{db: cfg.DB, log: cfg.Logger, proxies: cfg.TrustedProxies, rules: DefaultRules(),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "npscollector_auth_refusals_total",
			Help: "Refused authentication and forged requests by reason: signin_failed, signin_limited, enroll_failed, enroll_limited, token_failed, token_limited, csrf, login_csrf, session, metrics_public.",
		}, []string{"reason"})}
	if g.log == nil {
		g.log = slog.Default()
	}
	for k, r := range cfg.Rules {
		g.rules[k] = r
	}
	return g
}

// Collector is the refusals counter, for a Prometheus registry.
func (g *Guard) Collector() prometheus.Collector { return g.refusals }

// Refuse logs a refusal and counts it under reason. attrs add to the log line.
func (g *Guard) Refuse(r *http.Request, reason string, attrs ...any) {
	g.refusals.WithLabelValues(reason).Inc()
	g.log.Warn("refused", append([]any{"reason", reason, "client", g.Client(r), "method", r.Method, "path", r.URL.Path}, attrs...)...)
}

func keys(kind, client string) []string { return []string{kind + "|" + client, kind + "|*"} }

// Allow reports whether a client may try kind now. When it may not, it has logged and
// counted the refusal, and wait is the whole seconds until the window ends. An error
// means the database could not be read: the caller answers 503 (failing closed).
func (g *Guard) Allow(ctx context.Context, r *http.Request, kind string) (ok bool, wait int, err error) {
	rule := g.rules[kind]
	client := g.Client(r)
	k := keys(kind, client)
	n, err := g.db.AuthFailures(ctx, rule.Window, k...)
	if err != nil {
		return false, 0, fmt.Errorf("auth guard %s: %w", kind, err)
	}
	scope := ""
	switch {
	case n[k[0]] >= rule.PerClient:
		scope = "client"
	case n[k[1]] >= rule.Global:
		scope = "global"
	default:
		return true, 0, nil
	}
	_, end := g.db.AuthWindow(rule.Window)
	wait = max(1, int(math.Ceil(end.Sub(g.db.Now()).Seconds())))
	g.Refuse(r, kind+"_limited", "limit", scope, "failures", n[k[0]], "global_failures", n[k[1]], "retry_after", wait)
	return false, wait, nil
}

// Failed notes a failed attempt of kind from the request's client, logs and counts it.
func (g *Guard) Failed(ctx context.Context, r *http.Request, kind string, attrs ...any) {
	k := keys(kind, g.Client(r))
	n, err := g.db.NoteAuthFailure(ctx, g.rules[kind].Window, k...)
	if err != nil {
		g.log.Error("note failed attempt", "kind", kind, "err", err)
	}
	g.Refuse(r, kind+"_failed", append(attrs, "failures", n[k[0]])...)
}

// Client is the request's client network: its IPv4 address or its IPv6 /64, read
// from X-Forwarded-For only behind a trusted proxy.
func (g *Guard) Client(r *http.Request) string { return clientnet.Network(r, g.proxies) }

// HTTPS reports whether the client reached the collector over TLS: directly, or through
// a trusted proxy that says so in X-Forwarded-Proto. Cookies are marked Secure then.
func (g *Guard) HTTPS(r *http.Request) bool { return clientnet.HTTPS(r, g.proxies) }
