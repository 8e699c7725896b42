package widget

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters gives each key (a client network, a site key) a token bucket, in bounded
// memory: at most max keys are tracked. When that many are, those idle long enough for
// their bucket to be full again (forgetting them changes nothing) are dropped, then a
// quarter of the rest if needed: under a flood of addresses the limit errs towards
// letting some answers through rather than growing without end. Like the web survey's,
// the limits live in each collector's memory: behind a load balancer each collector
// applies them to the requests it sees.
type limiters struct {
	mu  sync.Mutex
	max int
	m   map[string]*limiterEntry
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiters(limit int) *limiters {
	return &limiters{max: limit, m: map[string]*limiterEntry{}}
}

// allow takes a token from key's bucket (perSecond, burst) at now, or says how long
// until one is free. A key whose rate changed (a key's own limit was edited) gets a
// bucket of the new size.
func (l *limiters) allow(key string, perSecond float64, burst int, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[key]
	if e == nil || e.lim.Limit() != rate.Limit(perSecond) || e.lim.Burst() != burst {
		if e == nil && len(l.m) >= l.max {
			l.sweep(now)
		}
		e = &limiterEntry{lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
		l.m[key] = e
	}
	e.seen = now
	res := e.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); !res.OK() || d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

func (l *limiters) sweep(now time.Time) {
	for k, e := range l.m {
		refill := time.Duration(float64(e.lim.Burst()) / float64(e.lim.Limit()) * float64(time.Second))
		if now.Sub(e.seen) >= refill {
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
