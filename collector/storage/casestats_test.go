package storage_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// Seven cases in two stores, moved at known hours, give figures worked out by hand.
// Every case but g opens at hour 0 and is due at hour 48; the figures are read at hour 60.
//
//	S001 a: contacted at 2, resolved at 10    within SLA; contact 2 h; resolved 10 h
//	S001 b: resolved at 50                     missed;     contact 50 h; resolved 50 h
//	S001 c: closed without action at 4         within SLA
//	S001 d: untouched                          missed (open past due), overdue
//	S002 e: contacted at 6                     within SLA; contact 6 h; overdue (not finished)
//	S002 f: untouched                          missed, overdue
//	S002 g: opens at 30, due at 78, untouched  not judged yet
func TestCaseStats(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		now := t0
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return now }})
		c.AddStore(t, storage.Store{ID: "S001", Region: "North"})
		c.AddStore(t, storage.Store{ID: "S002", Name: "Harbour", Region: "South"})
		rng := rand.New(rand.NewPCG(1, 2))
		open := func(store string, n int) []string {
			t.Helper()
			dev := c.Enroll(t, store, "Till "+now.Format("150405"))
			var batch []wire.Response
			for range n {
				r := collectortest.Response(rng, now.Add(-time.Minute))
				r.Score = 2
				batch = append(batch, r)
			}
			if _, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, batch); err != nil {
				t.Fatal(err)
			}
			ids := make([]string, n)
			for i, r := range batch {
				cs, err := c.DB.Cases(ctx, storage.CaseFilter{StoreID: store, Limit: 500})
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range cs {
					if k.Response.ID == r.ID {
						ids[i] = k.ID
					}
				}
				if ids[i] == "" {
					t.Fatalf("response %s opened no case", r.ID)
				}
			}
			return ids
		}
		move := func(id string, hour int, to followup.Status, note string) {
			t.Helper()
			now = t0.Add(time.Duration(hour) * time.Hour)
			if _, err := c.DB.ChangeCase(ctx, id, storage.CaseChange{Actor: "hq", To: to, Note: note}); err != nil {
				t.Fatalf("move %s to %s at hour %d: %v", id, to, hour, err)
			}
		}
		s1 := open("S001", 4)
		s2 := open("S002", 2)
		a, bb, cc := s1[0], s1[1], s1[2]
		e := s2[0]
		move(a, 2, followup.Contacted, "")
		move(cc, 4, followup.ClosedNoAction, "no contact details")
		move(e, 6, followup.Contacted, "")
		move(a, 10, followup.Resolved, "voucher sent")
		now = t0.Add(30 * time.Hour)
		open("S002", 1)
		move(bb, 50, followup.Resolved, "refunded")
		now = t0.Add(60 * time.Hour)

		h := time.Hour
		want := []storage.CaseStats{
			{StoreID: "", Cases: 7, Open: 4, Overdue: 3, Judged: 6, WithinSLA: 3, FirstContacts: 3, FirstContactMedian: 6 * h, Resolutions: 2, ResolutionMedian: 30 * h},
			{StoreID: "S001", Cases: 4, Open: 1, Overdue: 1, Judged: 4, WithinSLA: 2, FirstContacts: 2, FirstContactMedian: 26 * h, Resolutions: 2, ResolutionMedian: 30 * h},
			{StoreID: "S002", Cases: 3, Open: 3, Overdue: 2, Judged: 2, WithinSLA: 1, FirstContacts: 1, FirstContactMedian: 6 * h},
		}
		tests := []struct {
			name   string
			filter storage.CaseFilter
			want   []storage.CaseStats
		}{
			{"chain", storage.CaseFilter{}, want},
			{"one store", storage.CaseFilter{StoreID: "S002"}, []storage.CaseStats{{StoreID: "", Cases: 3, Open: 3, Overdue: 2, Judged: 2, WithinSLA: 1, FirstContacts: 1, FirstContactMedian: 6 * h}, want[2]}},
			{"region", storage.CaseFilter{Region: "North"}, []storage.CaseStats{{StoreID: "", Cases: 4, Open: 1, Overdue: 1, Judged: 4, WithinSLA: 2, FirstContacts: 2, FirstContactMedian: 26 * h, Resolutions: 2, ResolutionMedian: 30 * h}, want[1]}},
			{"status is ignored", storage.CaseFilter{Status: followup.Resolved, Overdue: true}, want},
			{"no cases", storage.CaseFilter{StoreID: "S999"}, []storage.CaseStats{{}}},
		}
		for _, tt := range tests {
			got, err := c.DB.CaseStats(ctx, tt.filter)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if len(got) != len(tt.want) {
				t.Errorf("%s: %d entries, want %d: %+v", tt.name, len(got), len(tt.want), got)
				continue
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("%s, entry %d:\n got %+v\nwant %+v", tt.name, i, got[i], tt.want[i])
				}
			}
		}
		if r := want[0].WithinSLARatio(); r != 0.5 {
			t.Errorf("chain within-SLA ratio %v, want 0.5", r)
		}
	})
}
