package collector_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/response"
)

// mix is a number of promoters, passives and detractors.
type mix struct{ p, pa, d int }

// channelData is the fixed data set of the channel reports, all on one day:
//
//	S1 kiosk 20/10/10 (and 2 rapid repeats), qr at checkout 4/6/30, sms 0/0/3
//	S2 kiosk 15/9/6, qr at checkout 14/9/7, email at delivery 5/0/5
//
// plus an S1 QR detractor 40 days earlier, outside every filter below. The kiosks'
// answers go through the real HTTP API without a channel field, as an old kiosk sends.
func channelData(t *testing.T, b collectortest.Backend) (*collectortest.Collector, string) {
	t.Helper()
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return now }})
	ctx := context.Background()
	c.AddStore(t, storage.Store{ID: "S1", Name: "Main Street"})
	c.AddStore(t, storage.Store{ID: "S2", Name: "Harbour"})
	rng := rand.New(rand.NewPCG(15, 6))
	at := now.Add(-time.Hour)
	answers := func(m mix, when time.Time) []response.Response {
		var out []response.Response
		for score, n := range map[int]int{10: m.p, 8: m.pa, 3: m.d} {
			for range n {
				r := collectortest.Response(rng, when)
				r.Score, r.Reasons = score, nil
				out = append(out, r)
			}
		}
		return out
	}
	kiosk := func(store string, m mix, suspect int) {
		t.Helper()
		batch := answers(m, at)
		for range suspect {
			r := collectortest.Response(rng, at)
			r.Score, r.Reasons, r.Suspect = 2, nil, true
			batch = append(batch, r)
		}
		raw, _ := json.Marshal(batch[0])
		if strings.Contains(string(raw), "channel") {
			t.Fatalf("a kiosk's response names a channel: %s", raw)
		}
		dev := c.Enroll(t, store, "Till 1")
		res, err := collectortest.Upload(ctx, c.URL, dev.Token, batch)
		if err != nil || len(res.Accepted) != len(batch) {
			t.Fatalf("upload to %s: %+v, %v", store, res, err)
		}
	}
	link := func(store, channel, touchpoint string, m mix, when time.Time) {
		t.Helper()
		l, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: store, Channel: channel, Touchpoint: touchpoint})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range answers(m, when) {
			if res, err := c.Service.IngestFromLink(ctx, l, r); err != nil || res != storage.Inserted {
				t.Fatalf("answer through %s: %v, %v", channel, res, err)
			}
		}
	}
	kiosk("S1", mix{20, 10, 10}, 2)
	link("S1", "qr", "checkout", mix{4, 6, 30}, at)
	link("S1", "sms", "", mix{0, 0, 3}, at)
	link("S1", "qr", "checkout", mix{0, 0, 1}, now.AddDate(0, 0, -40))
	kiosk("S2", mix{15, 9, 6}, 0)
	link("S2", "qr", "checkout", mix{14, 9, 7}, at)
	link("S2", "email", "delivery", mix{5, 0, 5}, at)
	return c, now.Format(time.DateOnly)
}

// wantRow is a row's figures, computed by hand from the data set (NPS = 100(P − D)/n,
// margin 1.96·√((p + d − (p − d)²)/n)·100, the difference's margin √(m₁² + m₂²)).
type wantRow struct {
	label                  string
	n, suspect             int64
	nps, moe               float64
	restN                  int64 // 0: no rest, no comparison
	restNPS, diff, diffMoE float64
	comparable, sig        bool
}

func checkBreakdown(t *testing.T, what string, got collector.ChannelBreakdown, total wantRow, rows []wantRow) {
	t.Helper()
	near := func(a, b float64) bool { return math.Abs(a-b) < 0.001 }
	if got.Total.Responses != total.n || !near(got.Total.NPS, total.nps) || !near(got.Total.MarginOfError, total.moe) || got.Total.Suspect != total.suspect {
		t.Errorf("%s total: %+v, want n %d, NPS %.4f ± %.4f, %d suspect", what, got.Total, total.n, total.nps, total.moe, total.suspect)
	}
	if len(got.Rows) != len(rows) {
		t.Fatalf("%s: %d rows, want %d: %+v", what, len(got.Rows), len(rows), got.Rows)
	}
	for i, w := range rows {
		g := got.Rows[i]
		if g.Label != w.label || g.Responses != w.n || g.Suspect != w.suspect || !near(g.NPS, w.nps) || !near(g.MarginOfError, w.moe) {
			t.Errorf("%s row %d: %q n %d (%d suspect) NPS %.4f ± %.4f; want %q n %d (%d) NPS %.4f ± %.4f",
				what, i, g.Label, g.Responses, g.Suspect, g.NPS, g.MarginOfError, w.label, w.n, w.suspect, w.nps, w.moe)
		}
		if w.restN == 0 {
			if g.VsRest != nil {
				t.Errorf("%s %q: a comparison with nothing: %+v", what, w.label, *g.VsRest)
			}
			continue
		}
		c := g.VsRest
		if c == nil {
			t.Errorf("%s %q: no comparison with the rest", what, w.label)
			continue
		}
		if c.Responses != w.restN || !near(c.NPS, w.restNPS) || !near(c.Difference, w.diff) || !near(c.DifferenceMargin, w.diffMoE) ||
			c.Comparable != w.comparable || c.Significant != w.sig {
			t.Errorf("%s %q vs the rest: %+v; want rest n %d NPS %.4f, difference %.4f ± %.4f, comparable %v, significant %v",
				what, w.label, *c, w.restN, w.restNPS, w.diff, w.diffMoE, w.comparable, w.sig)
		}
	}
}

// The channel and touchpoint reports match figures computed by hand, for the chain and
// per store, on SQLite and PostgreSQL: a clear difference (S1's QR detractors) is
// significant; a small one between enough responses (S2) is not; and three unanimous
// SMS detractors, whose gap to the rest exceeds the margin only because three answers
// cannot vary, are shown but not called significant: too few to compare.
func TestChannelReport(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		c, day := channelData(t, b)
		ctx := context.Background()
		f := storage.Filter{From: day, To: day}

		rep, err := c.Service.ChannelReport(ctx, f, storage.ByChannel, true)
		if err != nil {
			t.Fatal(err)
		}
		checkBreakdown(t, "chain by channel", rep.ChannelBreakdown,
			wantRow{n: 153, suspect: 2, nps: -1.9608, moe: 13.9711}, []wantRow{
				{"kiosk", 70, 2, 27.1429, 18.9581, 83, -26.5060, 53.6489, 26.5723, true, true},
				{"qr", 70, 0, -27.1429, 19.7679, 83, 19.2771, -46.4200, 27.0270, true, true},
				{"email", 10, 0, 0, 61.9806, 143, -2.0979, 2.0979, 63.6102, false, false},
				{"sms", 3, 0, -100, 0, 150, 0, -100, 14.0732, false, false},
			})
		if len(rep.Stores) != 2 || rep.Stores[0].StoreID != "S1" || rep.Stores[0].StoreName != "Main Street" || rep.Stores[1].StoreName != "Harbour" {
			t.Fatalf("stores: %+v", rep.Stores)
		}
		s1 := []wantRow{
			{"kiosk", 40, 2, 25, 25.6958, 43, -67.4419, 92.4419, 31.9790, true, true},
			{"qr", 40, 0, -65, 20.2626, 43, 16.2791, -81.2791, 32.7494, true, true},
			{"sms", 3, 0, -100, 0, 80, -20, -80, 19.1037, false, false},
		}
		s1Total := wantRow{n: 83, suspect: 2, nps: -22.8916, moe: 18.6913}
		checkBreakdown(t, "S1 by channel", rep.Stores[0].ChannelBreakdown, s1Total, s1)
		s2 := []wantRow{
			{"kiosk", 30, 0, 30, 27.9486, 40, 17.5, 12.5, 38.6785, true, false},
			{"qr", 30, 0, 23.3333, 28.7516, 40, 22.5, 0.8333, 39.0172, true, false},
			{"email", 10, 0, 0, 61.9806, 60, 26.6667, -26.6667, 65.1480, false, false},
		}
		checkBreakdown(t, "S2 by channel", rep.Stores[1].ChannelBreakdown, wantRow{n: 70, nps: 22.8571, moe: 19.4681}, s2)

		// A store's filter gives that store's breakdown.
		one, err := c.Service.ChannelReport(ctx, storage.Filter{StoreID: "S1", From: day, To: day}, storage.ByChannel, false)
		if err != nil {
			t.Fatal(err)
		}
		checkBreakdown(t, "filter S1", one.ChannelBreakdown, s1Total, s1)
		if one.Stores != nil {
			t.Errorf("stores without asking: %+v", one.Stores)
		}

		tp, err := c.Service.ChannelReport(ctx, f, storage.ByTouchpoint, false)
		if err != nil {
			t.Fatal(err)
		}
		checkBreakdown(t, "chain by touchpoint", tp.ChannelBreakdown,
			wantRow{n: 153, suspect: 2, nps: -1.9608, moe: 13.9711}, []wantRow{
				{"", 73, 2, 21.9178, 19.0787, 80, -23.75, 45.6678, 26.9643, true, true},
				{"checkout", 70, 0, -27.1429, 19.7679, 83, 19.2771, -46.4200, 27.0270, true, true},
				{"delivery", 10, 0, 0, 61.9806, 143, -2.0979, 2.0979, 63.6102, false, false},
			})

		// The QR channel alone: one touchpoint, nothing to compare it with.
		qr, err := c.Service.ChannelReport(ctx, storage.Filter{Channel: "qr", From: day, To: day}, storage.ByTouchpoint, false)
		if err != nil {
			t.Fatal(err)
		}
		checkBreakdown(t, "qr by touchpoint", qr.ChannelBreakdown, wantRow{n: 70, nps: -27.1429, moe: 19.7679},
			[]wantRow{{label: "checkout", n: 70, nps: -27.1429, moe: 19.7679}})

		// The month holds the older QR detractor too.
		month, err := c.Service.ChannelReport(ctx, storage.Filter{Channel: "qr", From: "2026-04-01", To: day}, storage.ByChannel, false)
		if err != nil || month.Total.Responses != 71 || month.Total.Detractors != 38 {
			t.Errorf("qr since April: %+v, %v; want 71 responses, 38 detractors", month.Total, err)
		}

		empty, err := c.Service.ChannelReport(ctx, storage.Filter{From: "2020-01-01", To: "2020-01-31"}, storage.ByChannel, true)
		if err != nil || len(empty.Rows) != 0 || empty.Rows == nil || empty.Total.Responses != 0 || len(empty.Stores) != 0 {
			t.Errorf("an empty month: %+v, %v; want no rows", empty, err)
		}
		if _, err := c.Service.ChannelReport(ctx, f, "store; DROP TABLE responses", false); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("split by an unknown column: %v, want ErrInvalid", err)
		}

		channels, touchpoints, err := c.DB.Labels(ctx, storage.Filter{Channel: "qr", From: day, To: day})
		if err != nil || strings.Join(channels, ",") != "email,kiosk,qr,sms" || strings.Join(touchpoints, ",") != "checkout,delivery" {
			t.Errorf("labels: %v %v, %v", channels, touchpoints, err)
		}
		channels, _, err = c.DB.Labels(ctx, storage.Filter{StoreID: "S2", From: day, To: day})
		if err != nil || strings.Join(channels, ",") != "email,kiosk,qr" {
			t.Errorf("S2's channels: %v, %v", channels, err)
		}
	})
}

// A follow-up rule limited to channels opens cases for those only: limited to kiosk, a QR
// detractor (through IngestFromLink) opens none while a kiosk detractor does; limited to
// qr and email, the other way round. Cases carry their response's channel and filter by it.
func TestFollowUpRuleChannels(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return now }})
		ctx := context.Background()
		c.AddStore(t, storage.Store{ID: "S1"})
		dev := c.Enroll(t, "S1", "Till 1")
		qr, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: "qr", Touchpoint: "checkout"})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(4, 4))
		detractor := func() response.Response {
			r := collectortest.Response(rng, now.Add(-time.Minute))
			r.Score = 2
			return r
		}
		for _, tt := range []struct {
			channels          []string
			kioskCase, qrCase bool
		}{
			{[]string{"kiosk"}, true, false},
			{[]string{"qr", "email"}, false, true},
			{nil, true, true},
		} {
			if err := c.DB.SetFollowUpRule(ctx, "S1", followup.Rule{Channels: tt.channels}); err != nil {
				t.Fatal(err)
			}
			k, q := detractor(), detractor()
			if res, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, []response.Response{k}); err != nil || len(res.Accepted) != 1 {
				t.Fatalf("kiosk detractor: %+v, %v", res, err)
			}
			if res, err := c.Service.IngestFromLink(ctx, qr, q); err != nil || res != storage.Inserted {
				t.Fatalf("QR detractor: %v, %v", res, err)
			}
			cases, err := c.DB.Cases(ctx, storage.CaseFilter{StoreID: "S1", Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			opened := map[string]bool{}
			for _, cs := range cases {
				opened[cs.Response.ID] = true
			}
			if opened[k.ID] != tt.kioskCase || opened[q.ID] != tt.qrCase {
				t.Errorf("rule for %v: kiosk detractor's case %v, QR detractor's %v; want %v, %v",
					tt.channels, opened[k.ID], opened[q.ID], tt.kioskCase, tt.qrCase)
			}
		}
		// Three runs opened two kiosk and two QR cases; each says its channel, and the
		// list and the closed-loop figures filter by it.
		for channel, want := range map[string]int{"qr": 2, "kiosk": 2, "": 4, "email": 0} {
			cases, err := c.DB.Cases(ctx, storage.CaseFilter{Channel: channel, Limit: 500})
			if err != nil || len(cases) != want {
				t.Errorf("cases of channel %q: %d, %v; want %d", channel, len(cases), err, want)
			}
			for _, cs := range cases {
				if channel != "" && cs.Response.Channel != channel ||
					cs.Response.Channel == "qr" && cs.Response.Touchpoint != "checkout" {
					t.Errorf("case of channel %q: %+v", channel, cs.Response)
				}
			}
			stats, err := c.DB.CaseStats(ctx, storage.CaseFilter{Channel: channel})
			if err != nil || stats[0].Cases != int64(want) {
				t.Errorf("case stats of channel %q: %+v, %v; want %d cases", channel, stats, err, want)
			}
		}
		if err := c.DB.SetFollowUpRule(ctx, "S1", followup.Rule{Channels: []string{"QR"}}); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("a rule for channel QR: %v, want ErrInvalid", err)
		}
	})
}

// A kiosk is sent its store's figures per channel over the store's last 30 local days:
// the QR answer from 40 days ago is not in them, rapid repeats are not counted, and the
// days are the store's own (Auckland is already on the 11th).
func TestDeviceChannels(t *testing.T) {
	c, day := channelData(t, collectortest.SQLite)
	ctx := context.Background()
	c.AddStore(t, storage.Store{ID: "S3", Timezone: "Pacific/Auckland"})
	for _, tt := range []struct {
		store, from, to string
		want            map[string][3]int64 // promoters, passives, detractors
	}{
		{"S1", "2026-05-12", day, map[string][3]int64{"kiosk": {20, 10, 10}, "qr": {4, 6, 30}, "sms": {0, 0, 3}}},
		{"S3", "2026-05-13", "2026-06-11", map[string][3]int64{}},
	} {
		en := c.Enroll(t, tt.store, "Till 9")
		dev, err := c.Service.Device(ctx, en.DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Service.DeviceChannels(ctx, dev)
		if err != nil {
			t.Fatal(err)
		}
		if got.StoreID != tt.store || got.From != tt.from || got.To != tt.to || !got.AsOf.Equal(time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)) ||
			len(got.Channels) != len(tt.want) || got.Channels == nil {
			t.Errorf("%s: %+v; want days %s to %s and %d channels", tt.store, got, tt.from, tt.to, len(tt.want))
			continue
		}
		for _, ch := range got.Channels {
			w := tt.want[ch.Channel]
			if [3]int64{ch.Promoters, ch.Passives, ch.Detractors} != w || ch.Responses != w[0]+w[1]+w[2] {
				t.Errorf("%s %s: %+v, want %v", tt.store, ch.Channel, ch, w)
			}
		}
	}
}
