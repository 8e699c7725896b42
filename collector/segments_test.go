package collector_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"math/rand/v2"
	"net/url"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// TestSegmentAndFormatFilters cuts one week by segment and store format in every report
// the rollups and the responses answer:
//
//	A (supermarket): vip 10 promoters, no segment 10 detractors
//	B (express):     vip 10 passives
//
// vip: 10/10/0 of 20, NPS 50; express: 0/10/0, NPS 0; vip in supermarkets: NPS 100.
func TestSegmentAndFormatFilters(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return sigNow }})
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(18, 6))
		last := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
		c.AddStore(t, storage.Store{ID: "A", Format: "supermarket"})
		c.AddStore(t, storage.Store{ID: "B", Format: "express"})
		answersOf(t, c, rng, "A", last, 10, 0, 0, "vip")
		answersOf(t, c, rng, "A", last, 0, 0, 10, "")
		answersOf(t, c, rng, "B", last, 0, 10, 0, "vip")
		week := storage.Filter{From: "2026-03-14", To: "2026-03-20"}
		for _, tc := range []struct {
			name            string
			segment, format string
			n               int64
			nps             float64
		}{
			{"everything", "", "", 30, 0}, // 10 promoters and 10 detractors of 30
			{"segment vip", "vip", "", 20, 50},
			{"format express", "", "express", 10, 0},
			{"vip in supermarkets", "vip", "supermarket", 10, 100},
			{"a segment nobody has", "staff", "", 0, 0},
		} {
			f := week
			f.Segment, f.Format = tc.segment, tc.format
			rep, err := c.Service.NPS(ctx, f)
			if err != nil || rep.Responses != tc.n || !near(rep.NPS, tc.nps) {
				t.Errorf("%s: NPS %+v, %v; want %d responses, NPS %.1f", tc.name, rep, err, tc.n, tc.nps)
			}
			var trendN int64
			points, err := c.Service.Trend(ctx, f, "day")
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range points {
				trendN += p.Responses
			}
			var storesN int64
			stores, err := c.Service.RankStores(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range stores.Stores {
				storesN += s.Responses
				if tc.format != "" && s.Format != tc.format {
					t.Errorf("%s: store %s of format %q listed", tc.name, s.ID, s.Format)
				}
			}
			channels, err := c.Service.ChannelReport(ctx, f, storage.ByChannel, false)
			if err != nil {
				t.Fatal(err)
			}
			var csvOut bytes.Buffer
			exported, err := c.Service.Export(ctx, f, &csvOut)
			if err != nil {
				t.Fatal(err)
			}
			if trendN != tc.n || storesN != tc.n || channels.Total.Responses != tc.n || int64(exported) != tc.n {
				t.Errorf("%s: trend %d, stores %d, channels %d, export %d responses; want %d", tc.name, trendN, storesN,
					channels.Total.Responses, exported, tc.n)
			}
			rows, err := csv.NewReader(&csvOut).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range rows[1:] {
				if tc.segment != "" && row[len(row)-1] != tc.segment {
					t.Errorf("%s: exported a response of segment %q", tc.name, row[len(row)-1])
				}
			}
		}

		// The query parameters, as the API and the dashboard read them.
		for q, want := range map[string]int{
			"segment=vip&format=express": 0, "segment=VIP": 400, "format=super+market": 400, "segment=1st": 400,
			"min_n=10": 0, "min_n=0": 400, "min_n=ten": 400, "min_n=1000001": 400,
		} {
			v, _ := url.ParseQuery(q)
			f, ferr := c.Service.ParseFilter(ctx, v, storage.Reader{})
			switch {
			case want == 0 && ferr != nil:
				t.Errorf("%s: refused: %v", q, ferr)
			case want != 0 && (ferr == nil || ferr.Status != want):
				t.Errorf("%s: %+v, %v; want %d", q, f, ferr, want)
			}
		}
		v, _ := url.ParseQuery("segment=vip&format=express&min_n=12")
		if f, ferr := c.Service.ParseFilter(ctx, v, storage.Reader{}); ferr != nil || f.Segment != "vip" || f.Format != "express" || f.MinResponses != 12 {
			t.Errorf("parsed %+v, %v", f, ferr)
		}
		if f, ferr := c.Service.ParseFilter(ctx, url.Values{}, storage.Reader{}); ferr != nil || f.MinResponses != 30 {
			t.Errorf("default min_n: %+v, %v", f, ferr)
		}
	})
}
