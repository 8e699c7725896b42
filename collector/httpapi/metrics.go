package httpapi

import (
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/npskiosk/npskiosk/collector"
)

// metrics are the collector's Prometheus series, on a registry of its own.
type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	responses *prometheus.CounterVec
	limited   prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "npscollector_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "npscollector_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10),
		}, []string{"route"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "npscollector_responses_total", Help: "Uploaded responses by result.",
		}, []string{"result"}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "npscollector_rate_limited_total", Help: "Device requests refused with 429.",
		}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.responses, m.limited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watchCases adds the follow-up case gauges, the per-channel ones, the devices' clock
// skew and the retention series, read from svc's database at each scrape, the personal
// data masked at ingest and the ingest's group commits.
func (m *metrics) watchCases(svc *collector.Service, log *slog.Logger) {
	if svc == nil {
		return
	}
	m.registry.MustRegister(newCaseMetrics(svc.CaseStats, log), newChannelMetrics(svc, log), newClockMetrics(svc.Devices, log),
		newMaskMetrics(svc.MaskedCounts), newRetentionMetrics(svc.RetentionStatus, log),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "npscollector_ingest_groups_total",
			Help: "Groups of uploads the ingest wrote, each in one transaction (group commit).",
		}, func() float64 { g, _ := svc.IngestGroups(); return float64(g) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "npscollector_ingest_grouped_uploads_total",
			Help: "Upload requests in those groups; divided by the groups, how many a transaction held.",
		}, func() float64 { _, r := svc.IngestGroups(); return float64(r) }))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// instrument counts and times every request by its route pattern (not its path, which
// would let clients mint series).
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// limiter gives each device a token bucket, so one misbehaving kiosk cannot crowd out a
// store's others.
type limiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	devices map[string]*rate.Limiter
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{every: rate.Limit(perSecond), burst: burst, devices: map[string]*rate.Limiter{}}
}

// allow reports whether the device may make a request now, and if not, how many whole
// seconds it should wait.
func (l *limiter) allow(deviceID string) (bool, int) {
	l.mu.Lock()
	lim, ok := l.devices[deviceID]
	if !ok {
		lim = rate.NewLimiter(l.every, l.burst)
		l.devices[deviceID] = lim
	}
	l.mu.Unlock()
	res := lim.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return false, int(math.Ceil(d.Seconds()))
	}
	return true, 0
}
