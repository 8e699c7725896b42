package httpapi

import "github.com/prometheus/client_golang/prometheus"

// maskMetrics is the count of personal data masked at ingest, read from the service at
// each scrape.
type maskMetrics struct {
	counts func() map[string]uint64
	masked *prometheus.Desc
}

func newMaskMetrics(counts func() map[string]uint64) *maskMetrics {
	return &maskMetrics{counts: counts,
		masked: prometheus.NewDesc("npscollector_pii_masked_total",
			"Personal data masked in comments and text answers at ingest, every channel, by category (email, phone, card, iban or a survey's privacy pattern).",
			[]string{"category"}, nil)}
}

// Describe implements prometheus.Collector.
func (m *maskMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.masked }

// Collect implements prometheus.Collector.
func (m *maskMetrics) Collect(ch chan<- prometheus.Metric) {
	for category, n := range m.counts() {
		ch <- prometheus.MustNewConstMetric(m.masked, prometheus.CounterValue, float64(n), category)
	}
}
