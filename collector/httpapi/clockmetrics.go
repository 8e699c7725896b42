package httpapi

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// clockMetrics reports each enrolled device's clock skew (its clock minus the
// collector's, from its last heartbeat or upload), read from the database at scrape time.
type clockMetrics struct {
	devices func(context.Context) ([]storage.Device, error)
	log     *slog.Logger
	skew    *prometheus.Desc
}

func newClockMetrics(devices func(context.Context) ([]storage.Device, error), log *slog.Logger) *clockMetrics {
	return &clockMetrics{devices: devices, log: log,
		skew: prometheus.NewDesc("npscollector_device_clock_skew_seconds",
			"A device's clock minus the collector's, from its last heartbeat or upload; the collector corrects its responses' times by it.",
			[]string{"store", "device"}, nil)}
}

// Describe implements prometheus.Collector.
func (m *clockMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.skew }

// Collect implements prometheus.Collector.
func (m *clockMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), caseStatsTimeout)
	defer cancel()
	ds, err := m.devices(ctx)
	if err != nil {
		m.log.Error("metrics: read devices' clock skew", "err", err)
		return
	}
	for _, d := range ds {
		if d.Revoked || !d.Enrolled {
			continue
		}
		ch <- prometheus.MustNewConstMetric(m.skew, prometheus.GaugeValue, float64(d.ClockSkewMS)/1000, d.StoreID, d.ID)
	}
}
