package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/response"
)

// BenchmarkRecord measures a durable tap: one INSERT committed with WAL and
// synchronous=FULL. Compare it with BenchmarkRawWriteFsync on the same disk.
func BenchmarkRecord(b *testing.B) {
	db, err := Open(context.Background(), Config{Path: filepath.Join(b.TempDir(), "bench.db"), RapidTap: noRapid, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := db.Record(ctx, response.Tap{Score: i % 11, Locale: "en", SurveyVersion: 1}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}

// BenchmarkRawWriteFsync is the floor for any durable write here: append a small record
// to a file in the same directory and fsync it.
func BenchmarkRawWriteFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "raw.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := make([]byte, 128)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
}
