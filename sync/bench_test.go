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

// BenchmarkCatchUp drains a week's outbox to a collector on loopback and, in the same
// iteration, gives the same rows straight to the collector's ingest: the floor.
//
// The drain is the sync worker's: read the kiosk's outbox, gzip JSON batches of 500,
// POST them over loopback HTTP to the collector's API (auth, rate limit, gzip, JSON,
// ingest), two at a time, and mark each acknowledged batch synced in the kiosk's
// database. The
// floor is Service.IngestUpload called with the same 14,000 rows as the kiosk sends them
// (with the device's clock, so the same clock path), in the same batches of 500, with no
// kiosk, no HTTP, no gzip or JSON and no marking synced. Each side gets a fresh collector
// database opened the same way (SQLite, WAL, synchronous=FULL: one fsync a batch); the
// drain's kiosk database is filled before the clock starts. The two alternate which goes
// first, so a noisy machine weighs on both alike. It reports the mean time of each
// (s-drain, s-insert), their ratio over all iterations (drain/insert), the drain's
// uploads a commit at the collector (uploads/commit: above 1 when its group commit
// wrote two in one transaction, so fewer fsyncs than the floor's one a batch), and the
// bytes on the wire per response beside the same rows as NDJSON under gzip -9 (the
// compression limit).
func BenchmarkCatchUp(b *testing.B) {
	survey, _ := assets.DefaultSurvey()
	rs := simulate.Responses(rand.New(rand.NewPCG(14, 0)), catchUpResponses, 7, time.Now(), survey)
	rows := make([]wire.Response, len(rs))
	for i, r := range rs {
		rows[i] = toWire(r)
	}
	var (
		drained, inserted time.Duration
		wireBytes         int64
		groups, uploads   int64
		runs              int
	)
	// The timer runs throughout: the figures are the drain's and the insert's own times,
	// and a stopped timer would have b.Loop run for ever (the loop counts timed time).
	for b.Loop() {
		dir := b.TempDir()
		if runs%2 == 0 {
			drained += catchUpDrain(b, dir, rs, &wireBytes, &groups, &uploads)
			inserted += catchUpRawInsert(b, dir, rows)
		} else {
			inserted += catchUpRawInsert(b, dir, rows)
			drained += catchUpDrain(b, dir, rs, &wireBytes, &groups, &uploads)
		}
		runs++
	}
	b.ReportMetric(drained.Seconds()/float64(runs), "s-drain")
	b.ReportMetric(inserted.Seconds()/float64(runs), "s-insert")
	b.ReportMetric(drained.Seconds()/inserted.Seconds(), "drain/insert")
	b.ReportMetric(float64(uploads)/float64(groups), "uploads/commit")
	b.ReportMetric(float64(wireBytes)/float64(runs)/catchUpResponses, "wire-B/resp")
	b.ReportMetric(gzip9NDJSON(b, rs)/catchUpResponses, "gzip9-ndjson-B/resp")
}

// catchUpDrain fills a kiosk's outbox with rs and times the sync worker draining it to a
// fresh collector on loopback. It adds the request bodies' bytes to wireBytes, and the
// collector's ingest groups and the uploads in them to groups and uploads.
func catchUpDrain(b *testing.B, dir string, rs []store.Response, wireBytes, groups, uploads *int64) time.Duration {
	ctx := context.Background()
	kiosk, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "kiosk.db"), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer kiosk.Close()
	for _, r := range rs {
		if err := kiosk.Insert(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	cdb, device := benchCollector(b, filepath.Join(dir, "collector-drain.db"))
	defer cdb.Close()
	var bodies atomic.Int64
	api := httpapi.New(httpapi.Config{Service: cdb, Logger: quiet})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bodies.Add(r.ContentLength)
		api.ServeHTTP(w, r)
	}))
	defer srv.Close()
	w, err := New(Config{Store: kiosk, CollectorURL: srv.URL, Token: device.Token, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	n, err := w.Drain(ctx)
	elapsed := time.Since(start)
	if err != nil || n != len(rs) {
		b.Fatalf("Drain = %d, %v", n, err)
	}
	*wireBytes += bodies.Load()
	g, u := cdb.IngestGroups()
	*groups += g
	*uploads += u
	return elapsed
}

// catchUpRawInsert times the collector's own ingest of rows, in batches of
// wire.MaxBatchItems, into a fresh collector.
func catchUpRawInsert(b *testing.B, dir string, rows []wire.Response) time.Duration {
	ctx := context.Background()
	cdb, en := benchCollector(b, filepath.Join(dir, "collector-raw.db"))
	defer cdb.Close()
	device, err := cdb.Device(ctx, en.DeviceID)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < len(rows); i += wire.MaxBatchItems {
		up := wire.DeviceUpload{UploadRequest: wire.UploadRequest{Responses: rows[i:min(i+wire.MaxBatchItems, len(rows))]}, DeviceTime: time.Now()}
		res, err := cdb.IngestUpload(ctx, device, up)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Accepted) != len(up.Responses) {
			b.Fatalf("raw insert accepted %d of %d: %+v", len(res.Accepted), len(up.Responses), res.Rejected)
		}
	}
	return time.Since(start)
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
	en, err := cdb.Enroll(ctx, wire.EnrollRequest{Code: nd.Code})
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
