package httpapi

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/npskiosk/npskiosk/collector"
)

// retentionMetrics are the retention purge's series and the database's size, read from
// the database at each scrape: the counts are kept there (retention_runs), so they
// survive a restart and agree across collectors sharing one database.
type retentionMetrics struct {
	status                   func(context.Context) (collector.RetentionStatus, error)
	log                      *slog.Logger
	purged, lastRun, dbBytes *prometheus.Desc
	days                     *prometheus.Desc
}

func newRetentionMetrics(status func(context.Context) (collector.RetentionStatus, error), log *slog.Logger) *retentionMetrics {
	return &retentionMetrics{status: status, log: log,
		purged: prometheus.NewDesc("npscollector_retention_purged_rows_total",
			"Rows the retention purge blanked or deleted, by table (and column), since the database began.", []string{"table"}, nil),
		lastRun: prometheus.NewDesc("npscollector_retention_last_run_timestamp_seconds",
			"When the last retention purge finished (Unix time); 0: never.", nil, nil),
		dbBytes: prometheus.NewDesc("npscollector_database_size_bytes",
			"The collector database's disk use: SQLite's file and WAL, or PostgreSQL's pg_database_size.", nil, nil),
		days: prometheus.NewDesc("npscollector_retention_days",
			"The chain's retention limit in days, by what it applies to; 0 keeps forever.", []string{"data"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *retentionMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.purged
	ch <- m.lastRun
	ch <- m.dbBytes
	ch <- m.days
}

// Collect implements prometheus.Collector.
func (m *retentionMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), caseStatsTimeout)
	defer cancel()
	st, err := m.status(ctx)
	if err != nil {
		m.log.Error("metrics: read retention status", "err", err)
		return
	}
	for _, c := range st.Totals.ByTable() {
		ch <- prometheus.MustNewConstMetric(m.purged, prometheus.CounterValue, float64(c.N), c.Table)
	}
	var last float64
	if st.LastRun != nil {
		last = float64(st.LastRun.FinishedAt.UnixMilli()) / 1000
	}
	ch <- prometheus.MustNewConstMetric(m.lastRun, prometheus.GaugeValue, last)
	ch <- prometheus.MustNewConstMetric(m.dbBytes, prometheus.GaugeValue, float64(st.DBBytes))
	ch <- prometheus.MustNewConstMetric(m.days, prometheus.GaugeValue, float64(st.Policy.CommentsDays), "comments")
	ch <- prometheus.MustNewConstMetric(m.days, prometheus.GaugeValue, float64(st.Policy.ContactsDays), "contacts")
}
