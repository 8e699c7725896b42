package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/response"
)

// BenchmarkRecord measures a shopper's tap through the real path (Record: validation,
// the storage-full guard, the rapid-tap rule with its default settings, the INSERT
// committed with WAL and synchronous=FULL) against the floor for any durable write on
// the same disk: a 128-byte append to a file in the same directory followed by fsync.
// Each iteration takes one sample of each, alternating which goes first, so that both
// distributions see the same disk at the same moments (the machine is shared and its
// fsync times drift). The database's clock is stepped by the benchmark: "spaced" taps
// come 13 s apart and none is a rapid tap; "rapid" taps come 1 s apart, so from the
// sixth on each is a burst and stored as suspect. Run it with thousands of iterations
// (-benchtime 5000x) for a stable p99.
func BenchmarkRecord(b *testing.B) {
	for _, tc := range []struct {
		name    string
		gap     time.Duration
		suspect func(i int) bool // the i-th tap (from 0) is a rapid tap
	}{
		{"spaced", 13 * time.Second, func(int) bool { return false }},
		{"rapid", time.Second, func(i int) bool { return i >= DefaultRapidTapRule.BurstLimit }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			var clock atomic.Int64 // nanoseconds since start, stepped per tap
			start := time.Now()
			db, err := Open(context.Background(), Config{
				Path:    filepath.Join(dir, "bench.db"),
				Now:     func() time.Time { return start.Add(time.Duration(clock.Load())) },
				Elapsed: func() time.Duration { return time.Duration(clock.Load()) },
				Logger:  quiet,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			raw, err := os.Create(filepath.Join(dir, "raw.log"))
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close()
			ctx := context.Background()
			rec := make([]byte, 128)
			tapLat := make([]time.Duration, 0, 8192)
			rawLat := make([]time.Duration, 0, 8192)

			tap := func(i int) {
				clock.Add(int64(tc.gap))
				t0 := time.Now()
				r, err := db.Record(ctx, response.Tap{Score: i % 11, Locale: "en", SurveyVersion: 1})
				d := time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				if r.Suspect != tc.suspect(i) {
					b.Fatalf("tap %d: suspect = %v, want %v", i, r.Suspect, tc.suspect(i))
				}
				tapLat = append(tapLat, d)
			}
			floor := func() {
				t0 := time.Now()
				if _, err := raw.Write(rec); err != nil {
					b.Fatal(err)
				}
				if err := raw.Sync(); err != nil {
					b.Fatal(err)
				}
				rawLat = append(rawLat, time.Since(t0))
			}
			for i := 0; b.Loop(); i++ {
				if i%2 == 0 {
					tap(i)
					floor()
				} else {
					floor()
					tap(i)
				}
			}
			recP50, recP99 := percentile(tapLat, 0.50), percentile(tapLat, 0.99)
			rawP50, rawP99 := percentile(rawLat, 0.50), percentile(rawLat, 0.99)
			b.ReportMetric(recP50, "record-p50-ns")
			b.ReportMetric(recP99, "record-p99-ns")
			b.ReportMetric(rawP50, "fsync-p50-ns")
			b.ReportMetric(rawP99, "fsync-p99-ns")
			if rawP99 > 0 {
				b.ReportMetric(recP99/rawP99, "p99-ratio")
			}
		})
	}
}

// percentile sorts lat and returns its p-th quantile in nanoseconds (0 when empty).
func percentile(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds())
}
