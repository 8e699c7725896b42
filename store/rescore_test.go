package store

import (
	"context"
	"errors"
	"testing"

	"github.com/npskiosk/npskiosk/response"
)

func TestRescoreAmendsTheOpenResponse(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	db := openTest(t, Config{Now: clk.Now, RapidTap: noRapid})
	id := mustRecord(t, db, 3)
	before, err := db.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(5e9)
	if err := db.Rescore(ctx, id, response.Tap{Score: 9, Locale: "de", SurveyVersion: 2}); err != nil {
		t.Fatalf("Rescore: %v", err)
	}
	got, err := db.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Score != 9 || got.Locale != "de" || got.SurveyVersion != 2 ||
		!got.CreatedAt.Equal(before.CreatedAt) || !got.CompletedAt.IsZero() {
		t.Errorf("after Rescore: %+v, want score 9 in de, v2, same tap time, still open", got)
	}
	if ob, err := db.Outbox(ctx); err != nil || ob.Open != 1 {
		t.Errorf("outbox %+v, %v: want the one open response", ob, err)
	}

	tests := []struct {
		name string
		id   string
		tap  response.Tap
		want error
	}{
		{"score out of range", id, response.Tap{Score: 11, Locale: "en", SurveyVersion: 1}, ErrInvalidInput},
		{"no locale", id, response.Tap{Score: 5, SurveyVersion: 1}, ErrInvalidInput},
		{"unknown id", "0190aaaa-0000-7000-8000-000000000000", response.Tap{Score: 5, Locale: "en", SurveyVersion: 1}, ErrNotFound},
	}
	for _, tt := range tests {
		if err := db.Rescore(ctx, tt.id, tt.tap); !errors.Is(err, tt.want) {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.want)
		}
	}
	if r, _ := db.Get(ctx, id); r.Score != 9 {
		t.Errorf("a refused Rescore changed the score to %d", r.Score)
	}

	mustComplete(t, db, id, response.FollowUp{Outcome: response.OutcomeSubmitted})
	if err := db.Rescore(ctx, id, response.Tap{Score: 0, Locale: "en", SurveyVersion: 1}); !errors.Is(err, ErrCompleted) {
		t.Errorf("Rescore after Complete: error = %v, want ErrCompleted", err)
	}
	if r, _ := db.Get(ctx, id); r.Score != 9 {
		t.Errorf("Rescore after Complete changed the score to %d", r.Score)
	}
}
