package appapi

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters gives each key (a client network, an app key) a token bucket, in bounded
// memory: at most max keys are tracked. When that many are, the idle ones (whose bucket
// is full again, so forgetting them changes nothing) are dropped, then, if that is not
// enough, a quarter of the rest: under a flood of addresses the limit errs towards
// letting some requests through rather than growing.
type limiters struct {
	mu  sync.Mutex
	max int
	m   map[string]*limiterEntry
}

type limiterEntry struct {
	lim    *rate.Limiter
	refill time.Duration // how long an empty bucket takes to fill
	seen   time.Time
}

func newLimiters(limit int) *limiters {
	return &limiters{max: limit, m: map[string]*limiterEntry{}}
}

// allow takes n tokens from key's bucket (made with perSecond and burst on first use)
// at now, or says how long until they are free. A request for more than the bucket
// holds is never allowed: ok is false and wait zero.
func (l *limiters) allow(key string, perSecond float64, burst, n int, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[key]
	if e == nil {
		if len(l.m) >= l.max {
			l.sweep(now)
		}
		e = &limiterEntry{lim: rate.NewLimiter(rate.Limit(perSecond), burst),
			refill: time.Duration(float64(burst) / perSecond * float64(time.Second))}
		l.m[key] = e
	}
	e.seen = now
	res := e.lim.ReserveN(now, n)
	if !res.OK() {
		return false, 0
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

func (l *limiters) sweep(now time.Time) {
	for k, e := range l.m {
		if now.Sub(e.seen) >= e.refill {
			delete(l.m, k)
		}
	}
	if len(l.m) < l.max {
		return
	}
	n := len(l.m) / 4
	for k := range l.m { // Go's map order: a random quarter
		if n <= 0 {
			break
		}
		delete(l.m, k)
		n--
	}
}

// clientNetwork is who a request comes from, for the per-client limit: the remote
// address, or, when that is a trusted reverse proxy, the nearest address in
// X-Forwarded-For that is not. IPv4 addresses count one by one, IPv6 ones by their /64,
// which one home or phone gets whole.
func clientNetwork(r *http.Request, trusted []netip.Prefix) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	addr := ap.Addr()
	if err != nil {
		a, err := netip.ParseAddr(r.RemoteAddr)
		if err != nil {
			return "unknown"
		}
		addr = a
	}
	addr = addr.Unmap()
	if isTrusted(addr, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a garbled header: the last trusted proxy is the client we know
			}
			addr = hop.Unmap()
			if !isTrusted(addr, trusted) {
				break
			}
		}
	}
	if addr.Is4() {
		return addr.String()
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
