package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/response"
)

// A kiosk set to a segment stamps it on every response and uploads it; one that is not
// uploads exactly the JSON (and so the content hash) it always did, and a segment that
// is not a label is refused before anything is written.
func TestRecordKeepsTheKiosksSegment(t *testing.T) {
	clk := newClock(t0)
	db := openTest(t, Config{Now: clk.Now})
	ctx := context.Background()

	withSeg, err := db.Record(ctx, response.Tap{Score: 9, Locale: "en", SurveyVersion: 1, Segment: "pharmacy"})
	if err != nil {
		t.Fatal(err)
	}
	mustComplete(t, db, withSeg.ID, response.FollowUp{Outcome: response.OutcomeSkipped})
	clk.Advance(time.Minute)
	without, err := db.Record(ctx, response.Tap{Score: 9, Locale: "en", SurveyVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	mustComplete(t, db, without.ID, response.FollowUp{Outcome: response.OutcomeSkipped})

	pending, err := db.Pending(ctx, 10)
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending %d, %v", len(pending), err)
	}
	if pending[0].Segment != "pharmacy" || pending[1].Segment != "" {
		t.Errorf("segments %q, %q; want pharmacy and none", pending[0].Segment, pending[1].Segment)
	}
	b, _ := json.Marshal(pending[1])
	if strings.Contains(string(b), "segment") {
		t.Errorf("a response without a segment names one on the wire: %s", b)
	}

	if _, err := db.Record(ctx, response.Tap{Score: 9, Locale: "en", SurveyVersion: 1, Segment: "Pharmacy"}); !errors.Is(err, response.ErrInvalid) {
		t.Errorf("a segment in capitals: %v, want ErrInvalid", err)
	}
	if pending, _ := db.Pending(ctx, 10); len(pending) != 2 {
		t.Errorf("the refused tap was stored: %d pending", len(pending))
	}
}
