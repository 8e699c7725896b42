package websurvey

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters gives each key (a client network, a link) a token bucket, in bounded memory:
// at most max keys are tracked. When that many are, the idle ones (whose bucket has
// filled up again, so forgetting them changes nothing) are dropped, and if that is not
// enough a quarter of the others, chosen at random: under a flood of addresses the
// limit then errs towards letting some answers through rather than growing.
type limiters struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	max   int
	m     map[string]*limiterEntry
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiters(perSecond float64, burst, limit int) *limiters {
	return &limiters{every: rate.Limit(perSecond), burst: burst, max: limit, m: map[string]*limiterEntry{}}
}

// allow takes a token for key at now, or says how long until one is free.
func (l *limiters) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[key]
	if e == nil {
		if len(l.m) >= l.max {
			l.sweep(now)
		}
		e = &limiterEntry{lim: rate.NewLimiter(l.every, l.burst)}
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
	refill := time.Duration(float64(l.burst) / float64(l.every) * float64(time.Second))
	for k, e := range l.m {
		if now.Sub(e.seen) >= refill {
			delete(l.m, k)
		}
	}
	dropRandomQuarter(l.m, l.max)
}

// size is how many keys are tracked.
func (l *limiters) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// dropRandomQuarter forgets a quarter of m's keys, at random (Go's map order), when
// it still holds limit or more.
func dropRandomQuarter[V any](m map[string]V, limit int) {
	if len(m) < limit {
		return
	}
	n := len(m) / 4
	for k := range m {
		if n <= 0 {
			break
		}
		delete(m, k)
		n--
	}
}

// recentAnswers remembers when each key (a client network at a store) last answered,
// within a window, in bounded memory: per key only the newest keep times, and at most
// max keys, the stale dropped first as in limiters.
type recentAnswers struct {
	mu     sync.Mutex
	window time.Duration
	keep   int
	max    int
	m      map[string][]time.Time
}

func newRecentAnswers(window time.Duration, keep, limit int) *recentAnswers {
	return &recentAnswers{window: window, keep: max(keep, 1), max: limit, m: map[string][]time.Time{}}
}

// note records an answer from key at now and returns how many it gave within the
// window before it (counting at most keep).
func (r *recentAnswers) note(key string, now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	times, known := r.m[key]
	for len(times) > 0 && now.Sub(times[0]) >= r.window {
		times = times[1:]
	}
	before := len(times)
	times = append(times, now)
	if len(times) > r.keep {
		times = times[len(times)-r.keep:]
	}
	if !known && len(r.m) >= r.max {
		for k, ts := range r.m {
			if now.Sub(ts[len(ts)-1]) >= r.window {
				delete(r.m, k)
			}
		}
		dropRandomQuarter(r.m, r.max)
	}
	r.m[key] = slicesClip(times)
	return before
}

// slicesClip copies a short slice so that a long-lived key does not pin the array of
// times it has shifted past.
func slicesClip(ts []time.Time) []time.Time { return append([]time.Time(nil), ts...) }
