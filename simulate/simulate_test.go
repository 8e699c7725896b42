package simulate

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/nps"
)

func TestResponsesArePlausible(t *testing.T) {
	survey, err := assets.DefaultSurvey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)
	rs := Responses(rand.New(rand.NewPCG(1, 1)), 2000, 14, now, survey)
	if len(rs) != 2000 {
		t.Fatalf("got %d responses", len(rs))
	}
	var tally nps.Tally
	seen := map[string]bool{}
	for i, r := range rs {
		if i > 0 && r.CreatedAt.Before(rs[i-1].CreatedAt) {
			t.Fatal("not oldest first")
		}
		if r.CreatedAt.After(now) || r.CreatedAt.Before(now.AddDate(0, 0, -14)) {
			t.Fatalf("response at %s outside the 14 days before %s", r.CreatedAt, now)
		}
		id, err := uuid.Parse(r.ID)
		if err != nil || id.Version() != 7 || seen[r.ID] {
			t.Fatalf("id %q: not a fresh UUIDv7 (%v)", r.ID, err)
		}
		sec, nsec := id.Time().UnixTime()
		if got := time.Unix(sec, nsec); got.Sub(r.CreatedAt).Abs() > time.Millisecond {
			t.Fatalf("id time %s != created %s", got, r.CreatedAt)
		}
		seen[r.ID] = true
		for _, key := range r.Reasons {
			if !survey.HasReason(key) {
				t.Fatalf("unknown reason %q", key)
			}
		}
		tally.Add(nps.Score(r.Score))
	}
	if n := tally.NPS(); n < 15 || n > 50 {
		t.Errorf("simulated NPS %.1f is not retail-like", n)
	}
}
