package httpapi

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// TestClockSkewMetric: /metrics has each enrolled, unrevoked device's clock skew.
func TestClockSkewMetric(t *testing.T) {
	devices := func(context.Context) ([]storage.Device, error) {
		return []storage.Device{
			{ID: "d1", StoreID: "S1", Enrolled: true, ClockSkewMS: 3_600_000},
			{ID: "d2", StoreID: "S1", Enrolled: true, ClockSkewMS: -86_400_000},
			{ID: "d3", StoreID: "S2", Enrolled: false},
			{ID: "d4", StoreID: "S2", Enrolled: true, Revoked: true, ClockSkewMS: 5},
		}, nil
	}
	m := newClockMetrics(devices, slog.New(slog.DiscardHandler))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "npscollector_device_clock_skew_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			labels := ""
			for _, l := range mt.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue() + " "
			}
			got[labels] = mt.GetGauge().GetValue()
		}
	}
	want := map[string]float64{"device=d1 store=S1 ": 3600, "device=d2 store=S1 ": -86400}
	if len(got) != len(want) {
		t.Fatalf("skew series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("skew series %v, want %v", got, want)
		}
	}
}
