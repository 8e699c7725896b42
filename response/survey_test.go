package response

import (
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/nps"
)

func validSurvey() Survey {
	return Survey{
		Version:            1,
		Languages:          []string{"en", "de"},
		IdleTimeoutSeconds: 30,
		ThankYouSeconds:    4,
		Reasons: []Reason{
			{Key: "staff", Labels: map[string]string{"en": "Staff", "de": "Personal"}},
			{Key: "wait_time", Labels: map[string]string{"en": "Waiting"}, Categories: []string{"detractor"}},
		},
	}
}

func TestSurveyValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Survey)
		wantErr string
	}{
		{"valid", func(*Survey) {}, ""},
		{"no version", func(s *Survey) { s.Version = 0 }, "version 0"},
		{"no languages", func(s *Survey) { s.Languages = nil }, "at least one language"},
		{"bad key", func(s *Survey) { s.Reasons[0].Key = "Staff!" }, `reason key "Staff!"`},
		{"duplicate key", func(s *Survey) { s.Reasons[1].Key = "staff" }, "appears twice"},
		{"no default label", func(s *Survey) { s.Reasons[0].Labels = map[string]string{"de": "x"} }, "no label in en"},
		{"bad category", func(s *Survey) { s.Reasons[0].Categories = []string{"fan"} }, `unknown category "fan"`},
		{"idle too short", func(s *Survey) { s.IdleTimeoutSeconds = 1 }, "idle_timeout_seconds"},
		{"thank-you too long", func(s *Survey) { s.ThankYouSeconds = 120 }, "thank_you_seconds"},
		{"a thank-you link", func(s *Survey) { s.ThankYouLink = "https://nps.example.com/s/abcd2345" }, ""},
		{"a thank-you link that is no URL", func(s *Survey) { s.ThankYouLink = "nps.example.com/s/abcd2345" }, "thank_you_link"},
		{"a thank-you link to a script", func(s *Survey) { s.ThankYouLink = "javascript:alert(1)" }, "thank_you_link"},
		{"a thank-you link too long for a QR code", func(s *Survey) { s.ThankYouLink = "https://x.example/" + strings.Repeat("a", 200) }, "thank_you_link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSurvey()
			tt.change(&s)
			err := s.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestReasonsForAndLabel(t *testing.T) {
	s := validSurvey()
	if got := s.ReasonsFor(nps.Promoter); len(got) != 1 || got[0].Key != "staff" {
		t.Errorf("ReasonsFor(promoter) = %+v", got)
	}
	if got := s.ReasonsFor(nps.Detractor); len(got) != 2 {
		t.Errorf("ReasonsFor(detractor) = %+v", got)
	}
	if got := s.Reasons[1].Label("de", "en"); got != "Waiting" {
		t.Errorf("Label falls back to the default language: %q", got)
	}
	if !s.HasReason("wait_time") || s.HasReason("nope") {
		t.Error("HasReason")
	}
}
