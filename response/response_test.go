package response

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func validResponse() Response {
	created := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	return Response{
		ID: "0195a3c4-7f00-7abc-8def-0123456789ab", Score: 9, Reasons: []string{"staff"},
		Comment: "great", Locale: "en", SurveyVersion: 1,
		CreatedAt: created, CompletedAt: created.Add(8 * time.Second), Outcome: OutcomeSubmitted,
	}
}

// The JSON form and the content hash are the sync protocol: collectors compare a
// retry's hash with the one they stored, possibly years ago.
func TestWireFormatAndContentHashAreStable(t *testing.T) {
	r := validResponse()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"id":"0195a3c4-7f00-7abc-8def-0123456789ab","score":9,"reasons":["staff"],"comment":"great","locale":"en","survey_version":1,"created_at":"2026-03-01T10:00:00Z","completed_at":"2026-03-01T10:00:08Z","outcome":"submitted"}`
	if string(b) != wantJSON {
		t.Errorf("JSON changed:\n got %s\nwant %s", b, wantJSON)
	}
	const wantHash = "34bcf78eb344e08c" // SHA-256 of wantJSON
	if got := r.ContentHash(); !strings.HasPrefix(got, wantHash) {
		t.Errorf("ContentHash = %s, want prefix %s", got, wantHash)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	r.CreatedAt, r.CompletedAt = r.CreatedAt.In(berlin), r.CompletedAt.In(berlin)
	if got := r.ContentHash(); !strings.HasPrefix(got, wantHash) {
		t.Errorf("ContentHash depends on the time zone: %s", got)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range InvalidCorpus() {
		err := tc.Response.Validate()
		if !errors.Is(err, ErrInvalid) || err.Error() != tc.Error {
			t.Errorf("%s: Validate() = %v, want %q", tc.Name, err, tc.Error)
		}
	}
	if err := validResponse().Validate(); err != nil {
		t.Errorf("valid response: %v", err)
	}
}

func TestCheckClockAndReasons(t *testing.T) {
	r := validResponse()
	now := r.CompletedAt
	if err := r.CheckClock(now.Add(-9*time.Minute), 10*time.Minute); err != nil {
		t.Errorf("9 minutes of skew: %v", err)
	}
	if err := r.CheckClock(now.Add(-time.Hour), 10*time.Minute); !errors.Is(err, ErrInvalid) {
		t.Errorf("an hour in the future: %v", err)
	}
	s := Survey{Reasons: []Reason{{Key: "staff"}}}
	if err := r.CheckReasons(s); err != nil {
		t.Errorf("known reason: %v", err)
	}
	r.Reasons = []string{"parking"}
	if err := r.CheckReasons(s); err == nil || err.Error() != `invalid input: unknown reason "parking"` {
		t.Errorf("unknown reason: %v", err)
	}
}

func TestParseJSON(t *testing.T) {
	for _, tc := range InvalidJSONCorpus() {
		t.Run(tc.Name, func(t *testing.T) {
			r, err := ParseJSON([]byte(tc.JSON))
			if !errors.Is(err, ErrInvalid) || err.Error() != tc.Error {
				t.Errorf("ParseJSON() = %v, want %q", err, tc.Error)
			}
			if tc.Name != "not an object" && r.ID != "0195a3c4-7f00-7abc-8def-0123456789ab" {
				t.Errorf("the refused response's id is %q: a batch could not name it", r.ID)
			}
		})
	}
	b, err := json.Marshal(validResponse())
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseJSON(b)
	if err != nil || r.ContentHash() != validResponse().ContentHash() {
		t.Errorf("valid response: %v, %+v", err, r)
	}
	// Text that is valid stays as it is, escaped or not.
	r, err = ParseJSON([]byte(strings.Replace(string(b), `"great"`, `"gr\u00e9at \ud83d\ude00 \\ud800 \"ok\" ☺"`, 1)))
	if err != nil || r.Comment != `gréat 😀 \ud800 "ok" ☺` {
		t.Errorf("valid escapes: %v, %q", err, r.Comment)
	}
}

// DecodeResponse names a missing or null score, and that before any other fault, whether
// the score decoded to 0 (looked at again) or to something else (taken as it is).
func TestDecodeResponseRequiresTheScore(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		score      int
		err        string
	}{
		{"a score", `{"id":"a","score":7}`, 7, ""},
		{"a score of 0", `{"id":"a","score":0}`, 0, ""},
		{"missing", `{"id":"a"}`, 0, "score is missing"},
		{"null", `{"id":"a","score":null}`, 0, "score is null"},
		{"missing, and a field of the wrong type", `{"id":"a","comment":5}`, 0, "score is missing"},
		{"missing, and an unknown field", `{"id":"a","colour":"red"}`, 0, "score is missing"},
		{"missing, and trailing data", `{"id":"a"} {}`, 0, "not valid JSON"},
		{"a score, and a field of the wrong type", `{"id":"a","score":3,"comment":5}`, 0, "comment must be a JSON string"},
		{"a score, and trailing data", `{"id":"a","score":3} {}`, 0, "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeResponse([]byte(tc.body))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("DecodeResponse(%s): %v", tc.body, err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("DecodeResponse(%s) = %v, want an error with %q", tc.body, err, tc.err)
			case tc.err == "" && r.Score != tc.score:
				t.Fatalf("DecodeResponse(%s).Score = %d, want %d", tc.body, r.Score, tc.score)
			}
			if r.ID != "a" && !strings.Contains(tc.err, "not valid JSON") {
				t.Errorf("DecodeResponse(%s).ID = %q, want the item named", tc.body, r.ID)
			}
		})
	}
}
