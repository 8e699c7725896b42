package appapi

import (
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
