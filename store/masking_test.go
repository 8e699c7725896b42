package store

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/pii"
	"github.com/npskiosk/npskiosk/response"
)

// TestCapturedFreeTextIsMaskedOnDisk captures comments and a text answer with personal
// data in them, then reads every byte of the database and its WAL: the raw values are
// nowhere, the placeholders are, and the outbox uploads the masked text.
func TestCapturedFreeTextIsMaskedOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var logs bytes.Buffer
	db := openTest(t, Config{Path: filepath.Join(dir, "kiosk.db"), RapidTap: RapidTapRule{MinGapAfterCompletion: time.Nanosecond},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	survey := response.Survey{Privacy: response.Privacy{Mask: []pii.Pattern{{Name: "loyalty", Pattern: `\bLC\d{10}\b`}}}}
	m, err := survey.Masking()
	if err != nil {
		t.Fatal(err)
	}
	db.SetMasking(m)

	raw := []string{"jo.raw@example.com", "4111 1111 1111 1111", "LC1234567890", "+44 20 7946 0958", "DE89 3704 0044 0532 0130 00"}
	id := mustRecord(t, db, 3)
	mustComplete(t, db, id, response.FollowUp{Outcome: response.OutcomeSubmitted,
		Comment: "mail jo.raw@example.com, card 4111 1111 1111 1111 was charged twice, points on LC1234567890",
		Answers: map[string][]string{"why": {"call +44 20 7946 0958"}}})
	imported := Response{ID: uuid.Must(uuid.NewV7()).String(), Score: 9, Reasons: []string{}, Locale: "de", SurveyVersion: 1,
		CreatedAt: time.Now().Add(-time.Hour), CompletedAt: time.Now().Add(-time.Hour + time.Second), Outcome: response.OutcomeSubmitted,
		Comment: "Bitte auf DE89 3704 0044 0532 0130 00 erstatten"}
	if err := db.Insert(ctx, imported); err != nil {
		t.Fatal(err)
	}

	got, err := db.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := "mail [email], card [card] was charged twice, points on [loyalty]"; got.Comment != want {
		t.Errorf("stored comment %q, want %q", got.Comment, want)
	}
	if got.Answers["why"][0] != "call [phone]" {
		t.Errorf("stored answers %v", got.Answers)
	}
	batch, err := db.Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range batch {
		for _, v := range raw {
			if strings.Contains(r.Comment, v) || strings.Contains(strings.Join(r.Answers["why"], ""), v) {
				t.Errorf("the outbox would upload %q", v)
			}
		}
	}

	check := func(when string) {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(dir, "kiosk.db*"))
		if len(files) == 0 {
			t.Fatal("no database files")
		}
		var all []byte
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		for _, v := range raw {
			if bytes.Contains(all, []byte(v)) {
				t.Errorf("%s: %q is in the database files", when, v)
			}
		}
		if !bytes.Contains(all, []byte("[loyalty]")) {
			t.Errorf("%s: the masked comment is not in the database files", when)
		}
	}
	check("open, WAL not checkpointed")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed")
	for _, v := range raw {
		if strings.Contains(logs.String(), v) {
			t.Errorf("the log holds %q", v)
		}
	}
	if !strings.Contains(logs.String(), "masked personal data") {
		t.Errorf("nothing logged of the masking: %s", logs.String())
	}
}
