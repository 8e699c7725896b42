package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/npskiosk/npskiosk/pii"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
)

// The survey the kiosk shows sets what the store masks: its own patterns with the
// built-in kinds; a new survey replaces them.
func TestSurveySetsTheStoresMasking(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "k.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := slog.New(slog.DiscardHandler)
	survey, err := initialSurvey(ctx, Config{}, db, log)
	if err != nil {
		t.Fatal(err)
	}
	capture := func(comment string) string {
		t.Helper()
		rec, err := db.Record(ctx, response.Tap{Score: 5, Locale: "en", SurveyVersion: survey.Version})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Complete(ctx, rec.ID, response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: comment}); err != nil {
			t.Fatal(err)
		}
		r, err := db.Get(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r.Comment
	}
	applyMasking(db, survey, log)
	if got := capture("jo@example.com, card LC1234567890"); got != "[email], card LC1234567890" {
		t.Errorf("built-in survey: %q", got)
	}
	survey.Privacy.Mask = []pii.Pattern{{Name: "loyalty", Pattern: `\bLC\d{10}\b`}}
	applyMasking(db, survey, log)
	if got := capture("jo@example.com, card LC1234567890"); got != "[email], card [loyalty]" {
		t.Errorf("a survey with a loyalty pattern: %q", got)
	}
}
