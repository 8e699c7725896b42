package collector_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
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
	if sent, err := c.Service.SendDigests(ctx, now(), 7); err != nil || !slices.Equal(sent, []string{"S1", "chain"}) {
		t.Fatalf("after 07:00 local: sent %v, %v; want S1 and the chain's", sent, err)
	}
	if sent, err := c.Service.SendDigests(ctx, now().Add(3*time.Hour), 7); err != nil || len(sent) != 0 {
		t.Fatalf("later the same day: sent %v again, %v", sent, err)
	}
	var payload string
	if err := c.DB.RawQueryRow(ctx, `SELECT payload FROM events WHERE type = ? AND store_id = 'S1'`, storage.EventDigest).Scan(&payload); err != nil {
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

// People are e-mailed about what they see, in their language: a store manager their
// store's cases and digest, a region manager one summary of the region once its last store
// has reached the digest hour, and a disabled person nothing more.
func TestPeopleAreAlertedAboutWhatTheySee(t *testing.T) {
	smtp, api := collectortest.Mailpit(t)
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		berlin, _ := time.LoadLocation("Europe/Berlin")
		var clock atomic.Int64
		set := func(t time.Time) { clock.Store(t.UnixMilli()) }
		now := func() time.Time { return time.UnixMilli(clock.Load()) }
		set(time.Date(2026, 3, 19, 18, 0, 0, 0, berlin))
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: now})
		ctx := context.Background()
		c.AddStore(t, storage.Store{ID: "S1", Name: "Main Street", Timezone: "Europe/Berlin", Region: "North"})
		c.AddStore(t, storage.Store{ID: "S2", Name: "Harbour", Timezone: "Europe/Berlin", Region: "North"})
		c.AddStore(t, storage.Store{ID: "S3", Name: "Broadway", Timezone: "America/New_York", Region: "West"})
		tag := b.Name + strconv.FormatInt(time.Now().UnixNano(), 36)
		addr := func(who string) string { return who + "-" + tag + "@example.com" }
		add := func(who, lang, kind, scope string, alerts []string) storage.User {
			u, err := c.Service.AddUser(ctx, storage.NewUser{Email: addr(who), Name: who, Language: lang,
				ScopeKind: kind, Scope: scope, Password: "correct horse battery", Alerts: alerts})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		add("ana", "de", storage.UserScopeStore, "S1", storage.DefaultUserAlerts)
		nils := add("nils", "fr", storage.UserScopeRegion, "North", []string{storage.EventCaseOpened})
		add("carla", "en", storage.UserScopeChain, "", []string{storage.EventCaseOpened})
		gone := add("gone", "en", storage.UserScopeStore, "S1", storage.DefaultUserAlerts)
		add("quiet", "en", storage.UserScopeStore, "S1", nil)
		// Nils changes his mind: the region's digest only.
		if err := c.Service.SetUserAlerts(ctx, nils.ID, []string{storage.EventDigest}); err != nil {
			t.Fatal(err)
		}
		for _, bad := range [][]string{{"response.created"}, {"nonsense"}} {
			if err := c.Service.SetUserAlerts(ctx, nils.ID, bad); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("alerts %v: %v, want ErrInvalid", bad, err)
			}
		}

		rng := rand.New(rand.NewPCG(5, 5))
		send := func(store string, scores ...int) {
			dev := c.Enroll(t, store, "Till")
			var batch []wire.Response
			for i, score := range scores {
				r := collectortest.Response(rng, now().Add(-time.Duration(i+1)*time.Minute))
				r.Score = score
				batch = append(batch, r)
			}
			if _, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, batch); err != nil {
				t.Fatal(err)
			}
		}
		send("S1", 3, 10, 9)  // NPS 33, one case
		send("S2", 10, 8)     // NPS 50, no case
		send("S3", 2, 10, 10) // one case
		// Disabled before the worker runs: what was queued for them goes with them.
		if err := c.Service.DisableUser(ctx, gone.Email); err != nil {
			t.Fatal(err)
		}
		if err := c.Service.SetUserAlerts(ctx, gone.ID, storage.DefaultUserAlerts); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("alerts for a disabled person: %v, want ErrConflict", err)
		}

		// 07:05 in Berlin is 02:05 in New York: the North stores and their region are
		// ready, the West and the chain wait for Broadway.
		set(time.Date(2026, 3, 20, 7, 5, 0, 0, berlin))
		sent, err := c.Service.SendDigests(ctx, now(), 7)
		if err != nil || !slices.Equal(sent, []string{"S1", "S2", "region:North"}) {
			t.Fatalf("Berlin morning: sent %v, %v", sent, err)
		}
		set(time.Date(2026, 3, 20, 13, 5, 0, 0, berlin))
		sent, err = c.Service.SendDigests(ctx, now(), 7)
		if err != nil || !slices.Equal(sent, []string{"S3", "chain", "region:West"}) {
			t.Fatalf("New York morning: sent %v, %v", sent, err)
		}

		mailer, err := alerts.NewMailer(smtp)
		if err != nil {
			t.Fatal(err)
		}
		w, err := alerts.New(alerts.Config{DB: c.DB, Mailer: mailer, Logger: slog.New(slog.DiscardHandler), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for {
			n, err := w.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		subjects := func(who string, want int) []collectortest.Mail {
			msgs := collectortest.MailTo(t, api, addr(who), want)
			if len(msgs) != want {
				var got []string
				for _, m := range msgs {
					got = append(got, m.Subject)
				}
				t.Fatalf("%s got %d e-mails %q, want %d", who, len(msgs), got, want)
			}
			return msgs
		}
		ana := subjects("ana", 2)
		slices.SortFunc(ana, func(a, b collectortest.Mail) int { return strings.Compare(a.Subject, b.Subject) })
		if ana[0].Subject != "Nachfassen in S1: ein Kunde hat 3 vergeben" || ana[1].Subject != "Tägliche NPS-Übersicht, Main Street, 2026-03-19" {
			t.Errorf("the store manager's e-mails: %q, %q", ana[0].Subject, ana[1].Subject)
		}
		region := subjects("nils", 1)[0]
		if region.Subject != "Synthèse NPS du jour, Région North, 2026-03-19" {
			t.Errorf("the region's digest: %q", region.Subject)
		}
		// Main Street (NPS 33) before Harbour (NPS 50); 5 answers in the region, NPS 40.
		for _, want := range []string{"Hier (2026-03-19): NPS 40.0 ± ", "(5 réponses)", "Par magasin, hier:",
			"Main Street (S1): NPS 33", "Harbour (S2): NPS 50", "Nouveaux suivis: 1"} {
			if !strings.Contains(region.Text, want) {
				t.Errorf("the region's digest lacks %q:\n%s", want, region.Text)
			}
		}
		if strings.Index(region.Text, "Main Street") > strings.Index(region.Text, "Harbour") || strings.Contains(region.Text, "Broadway") {
			t.Errorf("the region's digest lists its stores worst first and no other:\n%s", region.Text)
		}
		carla := subjects("carla", 2)
		for _, m := range carla {
			if !strings.HasPrefix(m.Subject, "Follow-up needed at S") {
				t.Errorf("HQ asked for cases only, got %q", m.Subject)
			}
		}
		subjects("gone", 0)
		subjects("quiet", 0)
	})
}
