package alerts_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// BenchmarkIngestToWebhook is the time from a kiosk's upload of a detractor's response
// to the signed case.opened webhook at a receiver on loopback: the upload over HTTP, the
// case and its event committed, the worker woken, the delivery claimed, signed, posted and
// recorded. Uploads go one at a time, 20 ms apart, as a busy store's would. The baseline
// is the upload's own round trip, which ends when the case is committed.
func BenchmarkIngestToWebhook(b *testing.B) {
	for _, be := range collectortest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			uploads := 200
			if testing.Short() {
				uploads = 20
			}
			var all, replies []time.Duration
			for b.Loop() {
				c := collectortest.Start(b, collectortest.Options{Backend: be, DeviceRate: 1e6, DeviceBurst: 1e6})
				c.AddStore(b, storage.Store{ID: "S1"})
				dev := c.Enroll(b, "S1", "Till 1")
				var (
					mu      sync.Mutex
					sent    = map[string]time.Time{}
					arrived = make(chan time.Duration, uploads)
				)
				rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					at := time.Now()
					body, _ := io.ReadAll(r.Body)
					var ev struct {
						Data struct{ Response struct{ ID string } }
					}
					json.Unmarshal(body, &ev)
					mu.Lock()
					t0, ok := sent[ev.Data.Response.ID]
					mu.Unlock()
					if ok {
						arrived <- at.Sub(t0)
					}
				}))
				ctx := context.Background()
				policy := alerts.URLPolicy{AllowLoopbackHTTP: true}
				if _, err := c.Service.AddWebhook(ctx, storage.Subscription{ScopeKind: storage.ScopeChain, URL: rcv.URL,
					Events: []string{storage.EventCaseOpened}}, policy); err != nil {
					b.Fatal(err)
				}
				w, err := alerts.New(alerts.Config{DB: c.DB, Policy: policy, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				c.Service.EventsQueued = w.Wake
				w.Start(ctx)
				rng := rand.New(rand.NewPCG(1, 2))
				for range uploads {
					r := collectortest.Response(rng, time.Now().Add(-time.Second))
					r.Score = rng.IntN(7)
					mu.Lock()
					sent[r.ID] = time.Now()
					mu.Unlock()
					start := time.Now()
					if _, err := collectortest.Upload(ctx, c.URL, dev.Token, []wire.Response{r}); err != nil {
						b.Fatal(err)
					}
					replies = append(replies, time.Since(start))
					time.Sleep(20 * time.Millisecond)
				}
				for range uploads {
					select {
					case d := <-arrived:
						all = append(all, d)
					case <-time.After(30 * time.Second):
						b.Fatal("a webhook did not arrive")
					}
				}
				w.Stop()
				rcv.Close()
			}
			// Beside it, the upload's own reply: what the kiosk waits for anyway.
			slices.Sort(all)
			slices.Sort(replies)
			ms := func(ds []time.Duration, q int) float64 { return float64(ds[len(ds)*q/100].Microseconds()) / 1000 }
			b.ReportMetric(ms(all, 50), "webhook-p50-ms")
			b.ReportMetric(ms(all, 99), "webhook-p99-ms")
			b.ReportMetric(ms(replies, 50), "upload-p50-ms")
			b.ReportMetric(ms(replies, 99), "upload-p99-ms")
		})
	}
}
