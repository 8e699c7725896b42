package storage

import (
	"errors"
	"math"
	"testing"

	"github.com/npskiosk/npskiosk/nps"
)

// A snapshot reads back as written, whatever the size of its totals (the reader has a
// fast path for one- and two-byte varints), and one cut inside a store is corrupt.
func TestSnapshotRoundTrip(t *testing.T) {
	counts := func(p, pa, d, s int64) dayCounts {
		return dayCounts{Tally: nps.Tally{Promoters: p, Passives: pa, Detractors: d}, suspect: s}
	}
	for _, tt := range []struct {
		name string
		snap snapshot
	}{
		{"empty", nil},
		{"one byte", snapshot{{"S1", counts(1, 0, 63, 0)}}},
		{"two bytes", snapshot{{"S1", counts(64, 127, 8191, 1)}, {"S2", counts(100, 2000, 3, 0)}}},
		{"three bytes and more", snapshot{{"S1", counts(8192, 1<<20, 1<<40, math.MaxInt64)}}},
		{"negative", snapshot{{"S1", counts(-1, -64, -65, -8193)}, {"S9", counts(math.MinInt64, 0, 0, 0)}}},
		{"long id", snapshot{{"store-berlin-mitte-0042-" + string(make([]byte, 200)), counts(5, 6, 7, 8)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.snap.encode()
			got, err := decodeSnapshot(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.snap) {
				t.Fatalf("decoded %d stores, want %d", len(got), len(tt.snap))
			}
			for i := range got {
				if got[i] != tt.snap[i] {
					t.Errorf("store %d: %+v, want %+v", i, got[i], tt.snap[i])
				}
			}
			// Cut between two stores it is a shorter snapshot; cut inside one, corrupt.
			between := map[int]bool{}
			for i := range tt.snap {
				between[len(tt.snap[:i].encode())] = true
			}
			for cut := 1; cut < len(b); cut++ {
				_, err := decodeSnapshot(b[:cut])
				if between[cut] && err != nil || !between[cut] && !errors.Is(err, errBadSnapshot) {
					t.Fatalf("cut to %d of %d bytes: %v", cut, len(b), err)
				}
			}
		})
	}
}
