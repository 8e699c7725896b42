package collector_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// benchComments are shoppers' comments as the kiosk sees them: the four languages,
// short and long, praise and complaint, some with a theme and some without.
var benchComments = []struct{ locale, text string }{
	{"en", "The queue at the checkout was far too long and only one till was open"},
	{"en", "Friendly staff, clean store, found everything I needed"},
	{"de", "Die Kassiererin war sehr freundlich, aber die Milch war schon wieder ausverkauft"},
	{"de", "Parkplatz zu klein"},
	{"fr", "Les prix ont encore augmenté, c'est trop cher pour moi"},
	{"fr", "Très bon accueil, merci"},
	{"es", "El personal fue muy amable pero la tienda estaba sucia y desordenada"},
	{"es", "Todo bien"},
	{"en", "I asked for help finding gluten free bread and the young man walked me to the shelf and explained the new range, really appreciated it, will come back"},
	{"en", "meh"},
}

const (
	benchTagBatch   = 500 // responses per upload, as the kiosk's sync worker sends at most
	benchTagBatches = 20
)

// BenchmarkIngestTagging is what tagging comments at ingest costs: the same 10,000
// responses in batches of 500 stored through Service.IngestFromDevice on SQLite, with
// tagging and without (collector.SetTagging), both sides on fresh databases of the same
// settings and run alternately in each iteration, so that drift in the machine's speed
// falls on both. With tagging, each response's comment is analysed (themes, sentiment,
// worth a look), its themes are inserted into response_themes and its themes and reasons
// counted in theme_rollups; without, the rows are validated, inserted and rolled up into
// daily_rollups as before the feature (the new columns stay NULL). comments=every gives
// every response a comment, comments=fifth one in five.
func BenchmarkIngestTagging(b *testing.B) {
	for _, every := range []int{1, 5} {
		name := map[int]string{1: "every", 5: "fifth"}[every]
		b.Run("sqlite/comments="+name, func(b *testing.B) {
			batches := tagBenchBatches(every)
			if testing.Short() { // make test: two batches, so it stays quick
				batches = batches[:2]
			}
			total := benchTagBatch * len(batches)
			var tagged, plain time.Duration
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					plain += ingestBench(b, batches, false)
					tagged += ingestBench(b, batches, true)
				} else {
					tagged += ingestBench(b, batches, true)
					plain += ingestBench(b, batches, false)
				}
				i++
			}
			n := float64(total * i)
			b.ReportMetric(float64(plain.Nanoseconds())/n, "ns/resp-untagged")
			b.ReportMetric(float64(tagged.Nanoseconds())/n, "ns/resp-tagged")
			b.ReportMetric(tagged.Seconds()/plain.Seconds(), "tagged/untagged-ratio")
		})
	}
}

// tagBenchBatches makes the batches once, so both sides store the very same rows.
func tagBenchBatches(commentEvery int) [][]wire.Response {
	rng := rand.New(rand.NewPCG(7, 7))
	now := time.Now()
	out := make([][]wire.Response, benchTagBatches)
	for i := range out {
		for j := range benchTagBatch {
			r := collectortest.Response(rng, now.Add(-time.Duration(rng.IntN(7*24*60))*time.Minute))
			if r.Score >= 9 {
				r.Reasons = []string{"checkout_speed"} // staff is any category's; keep a second reason for some
			}
			if (i*benchTagBatch+j)%commentEvery == 0 {
				c := benchComments[rng.IntN(len(benchComments))]
				r.Comment, r.Locale = c.text, c.locale
			}
			out[i] = append(out[i], r)
		}
	}
	return out
}

// ingestBench stores the batches into a fresh collector and returns how long the ingest
// took, the set-up not counted.
func ingestBench(b *testing.B, batches [][]wire.Response, tagging bool) time.Duration {
	b.StopTimer()
	ctx := context.Background()
	c := collectortest.Start(b, collectortest.Options{Logger: slog.New(slog.DiscardHandler)})
	defer c.Close()
	collector.SetTagging(c.Service, tagging)
	c.AddStore(b, storage.Store{ID: "S1"})
	d := c.Enroll(b, "S1", "Till 1")
	// The analyzer is built at the first tagged batch of a taxonomy and then cached: a
	// collector builds it once, so the warm-up is left out of the timing.
	if tagging {
		warm := collectortest.Response(rand.New(rand.NewPCG(1, 2)), time.Now().Add(-time.Minute))
		warm.Comment = "warm"
		if _, err := c.Service.IngestFromDevice(ctx, d.DeviceID, []wire.Response{warm}); err != nil {
			b.Fatal(err)
		}
	}
	b.StartTimer()
	start := time.Now()
	for _, batch := range batches {
		res, err := c.Service.IngestFromDevice(ctx, d.DeviceID, batch)
		if err != nil || len(res.Accepted) != len(batch) {
			b.Fatalf("ingest: %d of %d accepted (%v): %v", len(res.Accepted), len(batch), res.Rejected[:min(1, len(res.Rejected))], err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if tagging {
		var themes int64
		if err := c.DB.RawQueryRow(ctx, `SELECT COUNT(*) FROM response_themes`).Scan(&themes); err != nil || themes == 0 {
			b.Fatalf("tagging stored no themes (%v)", err)
		}
	}
	b.StartTimer()
	return elapsed
}
