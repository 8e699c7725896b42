package sync

import (
	"context"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/store"
)

// answerByQR stores scores given through a QR link of the rig's store at the collector.
func (r *rig) answerByQR(scores ...int) {
	r.t.Helper()
	ctx := context.Background()
	l, err := r.collector.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: "qr", Touchpoint: "checkout"})
	if err != nil {
		r.t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for _, s := range scores {
		resp := collectortest.Response(rng, time.Now().Add(-time.Hour))
		resp.Score = s
		if _, err := r.service.IngestFromLink(ctx, l, resp); err != nil {
			r.t.Fatal(err)
		}
	}
}

// The worker pulls the store's figures per channel, which hold the QR answers the kiosk
// never saw beside its own, and keeps them: a collector out of reach leaves them as they
// were, and so does a collector from before channels (404).
func TestPullChannelsKeepsTheStoresFiguresPerChannel(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.fill(40)
	w := r.worker(func(c *Config) { c.RetryMax = 1 })
	if _, err := w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	r.answerByQR(10, 9, 3, 2, 1)
	if _, ok, err := r.kiosk.ChannelFigures(ctx); ok || err != nil {
		t.Fatalf("figures before any pull: %v, %v", ok, err)
	}
	if err := w.PullChannels(ctx); err != nil {
		t.Fatal(err)
	}
	f, ok, err := r.kiosk.ChannelFigures(ctx)
	if err != nil || !ok || len(f.Channels) != 2 {
		t.Fatalf("kept figures: %+v, %v, %v; want kiosk and qr", f, ok, err)
	}
	kiosk, err := r.kiosk.Tally(ctx, time.Now().AddDate(0, 0, -40), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	byChannel := map[string]nps.Tally{}
	for _, c := range f.Channels {
		byChannel[c.Channel] = c.Tally()
	}
	if byChannel["kiosk"] != kiosk.Tally {
		t.Errorf("kiosk line %+v, the kiosk's own count %+v", byChannel["kiosk"], kiosk.Tally)
	}
	if qr := byChannel["qr"]; qr != (nps.Tally{Promoters: 2, Detractors: 3}) {
		t.Errorf("qr line %+v, want 2 promoters and 3 detractors", qr)
	}
	if time.Since(f.AsOf) > time.Minute || f.To == "" || f.From >= f.To {
		t.Errorf("as of %v, days %s to %s", f.AsOf, f.From, f.To)
	}

	// Offline: the pull fails, the figures stay for the manager view.
	r.setIntercept(func(http.ResponseWriter, *http.Request) bool { panic(http.ErrAbortHandler) })
	if err := w.PullChannels(ctx); err == nil {
		t.Error("a pull with the collector out of reach succeeded")
	}
	// A collector from before channels: nothing to pull, nothing wrong.
	r.answerByQR(10)
	r.setIntercept(func(rw http.ResponseWriter, req *http.Request) bool {
		if req.URL.Path == "/v1/device/channels" {
			http.NotFound(rw, req)
			return true
		}
		return false
	})
	if err := w.PullChannels(ctx); err != nil {
		t.Errorf("a collector without the endpoint: %v", err)
	}
	if again, _, _ := r.kiosk.ChannelFigures(ctx); again.AsOf != f.AsOf || len(again.Channels) != 2 {
		t.Errorf("the kept figures changed: %+v", again)
	}

	// The running worker pulls them on its own, with the survey's period.
	r.setIntercept(func(http.ResponseWriter, *http.Request) bool { return false })
	var fresh store.ChannelFigures
	run := r.worker(func(c *Config) { c.Idle, c.ConfigEvery = 20*time.Millisecond, 50*time.Millisecond })
	run.Start(ctx)
	defer run.Stop()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if fresh, _, _ = r.kiosk.ChannelFigures(ctx); fresh.AsOf.After(f.AsOf) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range fresh.Channels {
		if c.Channel == "qr" && c.Promoters != 3 {
			t.Errorf("after the running worker's pull, qr has %d promoters, want 3", c.Promoters)
		}
	}
	if !fresh.AsOf.After(f.AsOf) {
		t.Fatal("the running worker never pulled the figures again")
	}
}
