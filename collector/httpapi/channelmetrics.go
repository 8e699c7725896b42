package httpapi

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// ChannelMetricsDays is how many days, to today, the per-channel gauges cover.
const ChannelMetricsDays = 7

// channelMetrics reports the chain's responses and NPS per channel over the last
// ChannelMetricsDays days, read from the rollups at scrape time like the case gauges:
// every collector behind a load balancer reports the same figures. Channels are the
// kiosk's and the labels of survey links, which IT makes, so the series stay few.
type channelMetrics struct {
	report func(context.Context, storage.Filter, string, bool) (collector.ChannelReport, error)
	// filter is the chain's default period, whose today is as in its stores' zone
	// furthest ahead (collector.Service.ParseFilter).
	filter func(context.Context, url.Values, storage.Reader) (storage.Filter, *collector.FilterError)
	log    *slog.Logger

	responses, score *prometheus.Desc
}

func newChannelMetrics(svc *collector.Service, log *slog.Logger) *channelMetrics {
	return &channelMetrics{report: svc.ChannelReport, filter: svc.ParseFilter, log: log,
		responses: prometheus.NewDesc("npscollector_channel_responses",
			"Responses counted in NPS over the last 7 days (each store's days), the chain's, by channel.", []string{"channel"}, nil),
		score: prometheus.NewDesc("npscollector_channel_nps",
			"NPS over the last 7 days (each store's days), the chain's, by channel.", []string{"channel"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *channelMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.responses
	ch <- m.score
}

// Collect implements prometheus.Collector.
func (m *channelMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), caseStatsTimeout)
	defer cancel()
	f, ferr := m.filter(ctx, url.Values{}, storage.Reader{})
	if ferr != nil {
		m.log.Error("metrics: the chain's today", "err", ferr.Err)
		return
	}
	// The last days to the chain's today, each store's own days.
	to, _ := time.Parse(time.DateOnly, f.To)
	f.From = to.AddDate(0, 0, 1-ChannelMetricsDays).Format(time.DateOnly)
	rep, err := m.report(ctx, f, storage.ByChannel, false)
	if err != nil {
		// Failing the whole scrape would hide the HTTP metrics too.
		m.log.Error("metrics: read figures per channel", "err", err)
		return
	}
	for _, r := range rep.Rows {
		ch <- prometheus.MustNewConstMetric(m.responses, prometheus.GaugeValue, float64(r.Responses), r.Label)
		if r.Responses > 0 {
			ch <- prometheus.MustNewConstMetric(m.score, prometheus.GaugeValue, r.NPS, r.Label)
		}
	}
}
