package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// caseStatsTimeout bounds the database query a scrape makes, so a slow database makes the
// case gauges go missing from one scrape rather than hang /metrics.
const caseStatsTimeout = 5 * time.Second

// caseMetrics reports the closed-loop figures of follow-up cases, read from the database
// at scrape time: every collector behind a load balancer reports the same figures, and
// there is no state to keep in step. The series without a store label are the chain's.
type caseMetrics struct {
	stats func(context.Context, storage.CaseFilter) ([]storage.CaseStats, error)
	log   *slog.Logger

	open, overdue, withinSLA, firstContact, resolution *prometheus.Desc
}

func newCaseMetrics(stats func(context.Context, storage.CaseFilter) ([]storage.CaseStats, error), log *slog.Logger) *caseMetrics {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help+" Per store; without a store label, the chain.", []string{"store"}, nil)
	}
	return &caseMetrics{stats: stats, log: log,
		open:    desc("npscollector_cases_open", "Follow-up cases not finished yet (open or contacted)."),
		overdue: desc("npscollector_cases_overdue", "Follow-up cases not finished and past their due time."),
		withinSLA: desc("npscollector_cases_within_sla_ratio",
			"Share of judged cases whose first move out of open came by their due time; a case is judged once it moved or is open past due."),
		firstContact: desc("npscollector_case_first_contact_seconds_median",
			"Median time from a case opening to its first move to contacted or resolved."),
		resolution: desc("npscollector_case_resolution_seconds_median",
			"Median time from a case opening to its move to resolved."),
	}
}

// Describe implements prometheus.Collector.
func (m *caseMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.open, m.overdue, m.withinSLA, m.firstContact, m.resolution} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A figure that is not defined yet (no case
// judged, contacted or resolved) is left out rather than reported as zero.
func (m *caseMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), caseStatsTimeout)
	defer cancel()
	stats, err := m.stats(ctx, storage.CaseFilter{})
	if err != nil {
		// Failing the whole scrape would hide the HTTP metrics too.
		m.log.Error("metrics: read case figures", "err", err)
		return
	}
	for _, s := range stats {
		ch <- prometheus.MustNewConstMetric(m.open, prometheus.GaugeValue, float64(s.Open), s.StoreID)
		ch <- prometheus.MustNewConstMetric(m.overdue, prometheus.GaugeValue, float64(s.Overdue), s.StoreID)
		if s.Judged > 0 {
			ch <- prometheus.MustNewConstMetric(m.withinSLA, prometheus.GaugeValue, s.WithinSLARatio(), s.StoreID)
		}
		if s.FirstContacts > 0 {
			ch <- prometheus.MustNewConstMetric(m.firstContact, prometheus.GaugeValue, s.FirstContactMedian.Seconds(), s.StoreID)
		}
		if s.Resolutions > 0 {
			ch <- prometheus.MustNewConstMetric(m.resolution, prometheus.GaugeValue, s.ResolutionMedian.Seconds(), s.StoreID)
		}
	}
}
