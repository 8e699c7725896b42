package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/response"
)

// Answers to the survey's extra questions are completed with the follow-up, survive a
// restart, and come out of the outbox with the response, so they upload; a response
// without answers comes out without them, as it did before kiosks knew of questions.
func TestAnswersSurviveARestartAndLeaveThroughTheOutbox(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	clk := newClock(t0)
	db := openTest(t, Config{Path: path, Now: clk.Now, RapidTap: noRapid})

	answers := map[string][]string{"topics": {"price", "staff"}, "speed": {"4"}, "improve": {"More tills — ça va ☺"}}
	with := mustRecord(t, db, 9)
	clk.Advance(10 * time.Second)
	mustComplete(t, db, with, response.FollowUp{Outcome: response.OutcomeSubmitted, Answers: answers})
	without := mustRecord(t, db, 3)
	clk.Advance(10 * time.Second)
	mustComplete(t, db, without, response.FollowUp{Outcome: response.OutcomeSkipped, Reasons: []string{"price"}})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openTest(t, Config{Path: path, Now: clk.Now})
	pending, err := db.Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 || pending[0].ID != with || pending[1].ID != without {
		t.Fatalf("Pending = %+v, want the two responses in order", pending)
	}
	if got := pending[0].Answers; !reflect.DeepEqual(got, answers) {
		t.Errorf("answers after a restart = %v, want %v", got, answers)
	}
	if pending[1].Answers != nil {
		t.Errorf("a response without answers came out with %v", pending[1].Answers)
	}
	for _, r := range pending {
		if err := r.Validate(); err != nil {
			t.Errorf("%s no longer passes the rules: %v", r.ID, err)
		}
	}
	// The wire form: answers by question key, and none at all for the other response,
	// whose JSON (and so its content hash) is what an older kiosk would send.
	b, err := json.Marshal(pending)
	if err != nil {
		t.Fatal(err)
	}
	var wire []map[string]any
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	if _, ok := wire[0]["answers"]; !ok {
		t.Errorf("the upload of %s lacks its answers: %s", with, b)
	}
	if _, ok := wire[1]["answers"]; ok {
		t.Errorf("the upload of %s carries an answers field: %s", without, b)
	}
	if got, err := db.Get(ctx, with); err != nil || !reflect.DeepEqual(got.Answers, answers) {
		t.Errorf("Get = %+v, %v", got.Answers, err)
	}
	if n, err := db.MarkSynced(ctx, []string{with, without}); err != nil || n != 2 {
		t.Fatalf("MarkSynced = %d, %v", n, err)
	}
	if pending, err := db.Pending(ctx, 10); err != nil || len(pending) != 0 {
		t.Errorf("after the upload, Pending = %+v, %v", pending, err)
	}
}
