package sync

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/httpapi"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/simulate"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// catchUpResponses is a week offline at a busy till: about 2,000 responses a day.
const catchUpResponses = 14_000

// BenchmarkCatchUp drains a week's outbox to a collector on loopback and reports the
// time, the bytes on the wire per response, and the same rows as NDJSON under gzip -9
// (the compression limit), beside BenchmarkCollectorRawInsert.
func BenchmarkCatchUp(b *testing.B) {
	survey, _ := assets.DefaultSurvey()
	rs := simulate.Responses(rand.New(rand.NewPCG(14, 0)), catchUpResponses, 7, time.Now(), survey)
	for b.Loop() {
		b.StopTimer()
		ctx := context.Background()
		dir := b.TempDir()
		kiosk, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "kiosk.db"), Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rs {
			if err := kiosk.Insert(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		cdb, device := benchCollector(b, filepath.Join(dir, "collector.db"))
		var wireBytes atomic.Int64
		api := httpapi.New(httpapi.Config{Service: cdb, Logger: quiet})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wireBytes.Add(r.ContentLength)
			api.ServeHTTP(w, r)
		}))
		w, err := New(Config{Store: kiosk, CollectorURL: srv.URL, Token: device.Token, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		n, err := w.Drain(ctx)
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil || n != catchUpResponses {
			b.Fatalf("Drain = %d, %v", n, err)
		}
		b.ReportMetric(elapsed.Seconds(), "s-drain")
		b.ReportMetric(float64(wireBytes.Load())/catchUpResponses, "wire-B/resp")
		b.ReportMetric(gzip9NDJSON(b, rs)/catchUpResponses, "gzip9-ndjson-B/resp")
		srv.Close()
		cdb.Close()
		kiosk.Close()
		b.StartTimer()
	}
}

// BenchmarkCollectorRawInsert is the floor for catch-up: the same rows given straight
// to the collector's ingest, in batches of 500, with no HTTP and no kiosk.
func BenchmarkCollectorRawInsert(b *testing.B) {
	survey, _ := assets.DefaultSurvey()
	rs := simulate.Responses(rand.New(rand.NewPCG(14, 0)), catchUpResponses, 7, time.Now(), survey)
	batch := make([]wire.Response, len(rs))
	for i, r := range rs {
		batch[i] = toWire(r)
	}
	for b.Loop() {
		b.StopTimer()
		cdb, device := benchCollector(b, filepath.Join(b.TempDir(), "collector.db"))
		b.StartTimer()
		start := time.Now()
		for i := 0; i < len(batch); i += wire.MaxBatchItems {
			if _, err := cdb.IngestFromDevice(context.Background(), device.DeviceID, batch[i:min(i+wire.MaxBatchItems, len(batch))]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(time.Since(start).Seconds(), "s-insert")
		b.StopTimer()
		cdb.Close()
		b.StartTimer()
	}
}

// benchCollector opens a collector with one store and an enrolled device.
func benchCollector(b *testing.B, path string) (*collector.Service, wire.EnrollResponse) {
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{Path: path, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	cdb := collector.New(db)
	if err := cdb.AddStore(ctx, storage.Store{ID: "S1", Name: "Main Street", Timezone: "UTC"}); err != nil {
		b.Fatal(err)
	}
	nd, err := cdb.AddDevice(ctx, "S1", "Till 1", 0)
	if err != nil {
		b.Fatal(err)
	}
	en, err := cdb.Enroll(ctx, nd.Code)
	if err != nil {
		b.Fatal(err)
	}
	return cdb, en
}

func gzip9NDJSON(b *testing.B, rs []store.Response) float64 {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	enc := json.NewEncoder(zw)
	for _, r := range rs {
		if err := enc.Encode(toWire(r)); err != nil {
			b.Fatal(err)
		}
	}
	zw.Close()
	return float64(buf.Len())
}
