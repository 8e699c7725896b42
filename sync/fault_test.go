package sync

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/collectors"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/httpapi"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/simulate"
	"github.com/npskiosk/npskiosk/store"
)

// restartableCollector is a real collector process's worth of parts (database, HTTP
// server) on a fixed loopback address, which the test can stop and start again.
type restartableCollector struct {
	t    *testing.T
	path string
	addr string
	db   *storage.DB
	srv  *http.Server
	done chan struct{}
}

func (c *restartableCollector) start() {
	c.t.Helper()
	db, err := storage.Open(context.Background(), storage.Config{Path: c.path, Logger: quiet})
	if err != nil {
		c.t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ { // the old socket may linger a moment after a restart
		if ln, err = net.Listen("tcp", c.addr); err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	c.db = db
	// The test sends many small batches fast; the per-device rate limit is not under test.
	c.srv = httpapi.New(httpapi.Config{Service: collector.New(db), Logger: quiet, DeviceRate: 1e6, DeviceBurst: 1e6}).HTTPServer(c.addr)
	c.done = make(chan struct{})
	go func() { c.srv.Serve(ln); close(c.done) }()
}

func (c *restartableCollector) stop() {
	c.srv.Close() // abrupt, like a crash: in-flight requests are cut
	<-c.done
	c.db.Close()
}

// TestEveryResponseArrivesExactlyOnceThroughFaults uploads 10,000 responses through a
// Toxiproxy that adds latency, stalls connections, resets them, cuts replies after the
// collector has committed (the ack is lost), while the collector is restarted. At the
// end the collector must hold exactly 10,000 rows and the kiosk none pending.
func TestEveryResponseArrivesExactlyOnceThroughFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: 10,000 responses")
	}
	const total = 10_000
	ctx := context.Background()
	dir := t.TempDir()

	c := &restartableCollector{t: t, path: filepath.Join(dir, "collector.db"), addr: "127.0.0.1:0"}
	c.start()
	defer func() { c.stop() }()
	if err := c.db.AddStore(ctx, storage.Store{ID: "S1", Name: "Main Street", Timezone: "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	nd, err := c.db.AddDevice(ctx, "S1", "Till 1", 0)
	if err != nil {
		t.Fatal(err)
	}
	en, err := Enroll(ctx, "http://"+c.addr, nd.Code, nil)
	if err != nil {
		t.Fatal(err)
	}

	kiosk, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "kiosk.db"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer kiosk.Close()
	survey, _ := assets.DefaultSurvey()
	for _, r := range simulate.Responses(rand.New(rand.NewPCG(10, 10)), total, 7, time.Now(), survey) {
		if err := kiosk.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	tp := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	tp.Metrics.ProxyMetrics = collectors.NewProxyMetricCollectors()
	proxy := toxiproxy.NewProxy(tp, "collector", "127.0.0.1:0", c.addr)
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	defer proxy.Stop()

	w, err := New(Config{
		Store: kiosk, CollectorURL: "http://" + proxy.Listen, Token: en.Token, Logger: quiet,
		BatchItems: 50, AttemptTimeout: time.Second, RetryMax: 1,
		RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 100 * time.Millisecond,
		// A fresh connection per request, so every request meets the current toxics.
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	})
	if err != nil {
		t.Fatal(err)
	}

	faults := []struct{ name, json string }{
		{"latency", `{"type":"latency","stream":"downstream","attributes":{"latency":40,"jitter":30}}`},
		{"timeout", `{"type":"timeout","stream":"upstream","toxicity":0.4,"attributes":{"timeout":300}}`},
		{"reset_peer", `{"type":"reset_peer","stream":"upstream","toxicity":0.4,"attributes":{"timeout":20}}`},
		{"limit_data", `{"type":"limit_data","stream":"downstream","toxicity":0.5,"attributes":{"bytes":60}}`},
	}
	rng := rand.New(rand.NewPCG(3, 3))
	seen := map[string]int{}
	deadline := time.Now().Add(3 * time.Minute)
	for round := 0; ; round++ {
		pending, _ := kiosk.Outbox(ctx)
		if pending.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d rounds %d responses still pending", round, pending.Pending)
		}
		// Rounds cycle through the faults, a collector restart and a calm spell, each
		// cut short after a while so that every kind meets batches in flight.
		switch x := round % (len(faults) + 2); {
		case x < len(faults):
			f := faults[x]
			seen[f.name]++
			body := strings.Replace(f.json, "{", fmt.Sprintf(`{"name":"%s",`, f.name), 1)
			if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			roundCtx, cancel := context.WithTimeout(ctx, 400*time.Millisecond)
			_, err := w.Drain(roundCtx)
			cancel()
			if err != nil && errors.Is(err, ErrRevoked) {
				t.Fatal(err)
			}
			if err := proxy.Toxics.RemoveToxic(ctx, f.name); err != nil {
				t.Fatal(err)
			}
		case x == len(faults):
			seen["restart"]++
			roundCtx, cancel := context.WithTimeout(ctx, 400*time.Millisecond)
			restarted := make(chan struct{})
			pause := time.Duration(rng.IntN(50)) * time.Millisecond
			go func() { time.Sleep(pause); c.stop(); c.start(); close(restarted) }()
			w.Drain(roundCtx)
			cancel()
			// The next round, and the count at the end, need the restart finished: on a
			// busy machine it can take longer than the round.
			<-restarted
		default:
			seen["calm"]++
			roundCtx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
			w.Drain(roundCtx)
			cancel()
		}
	}

	n, err := c.db.CountResponses(ctx, "S1")
	if err != nil {
		t.Fatal(err)
	}
	if n != total {
		t.Fatalf("collector holds %d rows, want exactly %d", n, total)
	}
	tally, err := c.db.StoreTally(ctx, "S1", "2000-01-01", "2100-01-01")
	if err != nil {
		t.Fatal(err)
	}
	if tally.Total() != total {
		t.Fatalf("rollups count %d, want %d", tally.Total(), total)
	}
	// Acks counted above the total are responses sent again after their ack was lost.
	t.Logf("rounds by fault: %v; %d acks for %d responses", seen, w.Status().Uploaded, total)
	for _, f := range append([]string{"restart"}, "latency", "timeout", "reset_peer", "limit_data") {
		if seen[f] == 0 {
			t.Errorf("fault %s never happened; the test proved less than it says", f)
		}
	}
}
