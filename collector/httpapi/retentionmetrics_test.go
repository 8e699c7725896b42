package httpapi

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// TestRetentionMetrics: /metrics has the rows purged per table, the last purge's time,
// the database's size and the limits.
func TestRetentionMetrics(t *testing.T) {
	finished := time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC)
	status := func(context.Context) (collector.RetentionStatus, error) {
		return collector.RetentionStatus{
			Policy:  storage.RetentionPolicy{CommentsDays: 365, ContactsDays: 90},
			LastRun: &storage.RetentionRun{FinishedAt: finished},
			DBBytes: 123456,
			Totals:  storage.PurgeCounts{Comments: 7, Contacts: 3, Events: 2},
		}, nil
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(newRetentionMetrics(status, slog.New(slog.DiscardHandler)))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range mt.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			if c := mt.GetCounter(); c != nil {
				got[key] = c.GetValue()
			} else {
				got[key] = mt.GetGauge().GetValue()
			}
		}
	}
	for key, want := range map[string]float64{
		"npscollector_retention_purged_rows_total table=responses.comment": 7,
		"npscollector_retention_purged_rows_total table=responses.contact": 3,
		"npscollector_retention_purged_rows_total table=events.payload":    2,
		"npscollector_retention_purged_rows_total table=case_events.note":  0,
		"npscollector_retention_last_run_timestamp_seconds":                float64(finished.Unix()),
		"npscollector_database_size_bytes":                                 123456,
		"npscollector_retention_days data=comments":                        365,
		"npscollector_retention_days data=contacts":                        90,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
}
