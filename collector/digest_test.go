package collector_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// A store's digest goes out once, after the digest hour on the store's clock, with
// yesterday's figures; by e-mail in the manager's language.
func TestDailyDigest(t *testing.T) {
	smtp, api := collectortest.Mailpit(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	var clock atomic.Int64
	set := func(t time.Time) { clock.Store(t.UnixMilli()) }
	now := func() time.Time { return time.UnixMilli(clock.Load()) }
	set(time.Date(2026, 3, 19, 18, 0, 0, 0, berlin))
	c := collectortest.Start(t, collectortest.Options{Now: now})
	ctx := context.Background()
	c.AddStore(t, storage.Store{ID: "S1", Name: "Main Street", Timezone: "Europe/Berlin"})
	dev := c.Enroll(t, "S1", "Till 1")
	address := "digest-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@example.com"
	if _, err := c.Service.AddEmailAlert(ctx, storage.Subscription{ScopeKind: storage.ScopeStore, Scope: "S1",
		Events: []string{storage.EventDigest}}, address, "de"); err != nil {
		t.Fatal(err)
	}
	// Yesterday (the 19th): 4 promoters, 3 passives, 3 detractors who waited too long.
	rng := rand.New(rand.NewPCG(3, 3))
	var batch []wire.Response
	for i, score := range []int{10, 9, 10, 9, 8, 7, 8, 2, 5, 6} {
		r := collectortest.Response(rng, now().Add(-time.Duration(i+1)*time.Minute))
		r.Score = score
		if score <= 6 {
			r.Reasons = []string{"wait_time"}
		}
		batch = append(batch, r)
	}
	if _, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, batch); err != nil {
		t.Fatal(err)
	}

	set(time.Date(2026, 3, 20, 6, 30, 0, 0, berlin))
	if sent, err := c.Service.SendDigests(ctx, now(), 7); err != nil || len(sent) != 0 {
		t.Fatalf("before 07:00 local: sent %v, %v", sent, err)
	}
	set(time.Date(2026, 3, 20, 7, 5, 0, 0, berlin))
	if sent, err := c.Service.SendDigests(ctx, now(), 7); err != nil || len(sent) != 1 {
		t.Fatalf("after 07:00 local: sent %v, %v; want S1", sent, err)
	}
	if sent, err := c.Service.SendDigests(ctx, now().Add(3*time.Hour), 7); err != nil || len(sent) != 0 {
		t.Fatalf("later the same day: sent %v again, %v", sent, err)
	}
	var payload string
	if err := c.DB.RawQueryRow(ctx, `SELECT payload FROM events WHERE type = ?`, storage.EventDigest).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var ev struct{ Data collector.Digest }
	if err := json.Unmarshal([]byte(payload), &ev); err != nil {
		t.Fatal(err)
	}
	d := ev.Data
	if d.Day != "2026-03-19" || d.Responses != 10 || math.Round(d.NPS) != 10 || d.NewCases != 3 || d.OverdueCases != 0 ||
		len(d.Trend) != 7 || d.Trend[6].Responses != 10 || len(d.TopReasons) != 1 || d.TopReasons[0].Reason != "wait_time" {
		t.Fatalf("digest %+v", d)
	}

	mailer, err := alerts.NewMailer(smtp)
	if err != nil {
		t.Fatal(err)
	}
	w, err := alerts.New(alerts.Config{DB: c.DB, Mailer: mailer, Logger: slog.New(slog.DiscardHandler), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("deliveries sent: %d, %v", n, err)
	}
	msgs := collectortest.MailTo(t, api, address, 1)
	if len(msgs) != 1 || msgs[0].Subject != "Tägliche NPS-Übersicht, Main Street, 2026-03-19" {
		t.Fatalf("digest e-mails: %+v", msgs)
	}
	for _, want := range []string{"Gestern (2026-03-19): NPS 10.0 ± ", "(10 Antworten)", "Neue Nachfassfälle: 3", "wait_time (3)"} {
		if !strings.Contains(msgs[0].Text, want) {
			t.Errorf("the digest lacks %q:\n%s", want, msgs[0].Text)
		}
	}
}
