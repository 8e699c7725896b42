package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// The store's figures per channel are kept across a restart, so the manager view shows
// them with no collector in reach; a new set replaces the old one whole.
func TestChannelFiguresSurviveARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	db := openTest(t, Config{Path: path})
	if _, ok, err := db.ChannelFigures(ctx); ok || err != nil {
		t.Fatalf("figures before any: %v, %v", ok, err)
	}
	old := ChannelFigures{From: "2026-10-22", To: "2026-11-20", AsOf: t0,
		Channels: []ChannelTally{{Channel: "kiosk", Promoters: 5, Passives: 1, Detractors: 2}, {Channel: "qr", Detractors: 3}}}
	latest := ChannelFigures{From: "2026-10-23", To: "2026-11-21", AsOf: t0.Add(24 * time.Hour),
		Channels: []ChannelTally{{Channel: "kiosk", Promoters: 6, Passives: 1, Detractors: 2}}}
	for _, f := range []ChannelFigures{old, latest} {
		if err := db.ReplaceChannelFigures(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db = openTest(t, Config{Path: path})
	got, ok, err := db.ChannelFigures(ctx)
	if err != nil || !ok || !got.AsOf.Equal(latest.AsOf) {
		t.Fatalf("after a restart: %+v, %v, %v", got, ok, err)
	}
	got.AsOf = latest.AsOf
	if !reflect.DeepEqual(got, latest) {
		t.Errorf("after a restart: %+v, want %+v", got, latest)
	}
	if n := got.Channels[0].Tally(); n.Total() != 9 || n.NPS() != 100*4.0/9 {
		t.Errorf("kiosk tally %+v", n)
	}
}
