package response

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/pii"
)

func TestSurveyPrivacyValidate(t *testing.T) {
	s := validSurvey()
	s.Privacy.Mask = []pii.Pattern{{Name: "loyalty", Pattern: `\bLC\d{10}\b`}}
	if err := s.Validate(); err != nil {
		t.Fatalf("a good pattern: %v", err)
	}
	s.Privacy.Mask = []pii.Pattern{{Name: "loyalty", Pattern: `LC(\d{10}`}}
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), `privacy.mask: pattern "loyalty": error parsing regexp: missing closing )`) {
		t.Fatalf("a bad pattern: %v", err)
	}
	if _, err := s.Masking(); err == nil {
		t.Fatal("Masking of a survey with a bad pattern did not fail")
	}
}

func TestSurveyWithoutPrivacyKeepsItsJSON(t *testing.T) {
	b, err := json.Marshal(validSurvey())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "privacy") {
		t.Errorf("a survey without patterns says %s: its ETag would change", b)
	}
}

func TestMaskingFollowUp(t *testing.T) {
	s := validSurvey()
	s.Privacy.Mask = []pii.Pattern{{Name: "loyalty", Pattern: `\bLC\d{10}\b`}}
	s.Questions = []Question{
		{Key: "why", Kind: QuestionText, Labels: map[string]string{"en": "Why?"}},
		{Key: "found", Kind: QuestionSingle, Labels: map[string]string{"en": "Found it?"},
			Options: []Option{{Key: "yes", Labels: map[string]string{"en": "Yes"}}, {Key: "no", Labels: map[string]string{"en": "No"}}}},
	}
	m, err := s.Masking()
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string][]string{"why": {"card LC1234567890 lost, mail jo@example.com"}, "found": {"yes"}, "gone": {"call 06 12 34 56 78"}}
	f := FollowUp{Outcome: OutcomeSubmitted, Comment: "call me on +44 20 7946 0958", Contact: "jo@example.com", ContactConsent: true, Answers: answers}
	counts := m.FollowUp(&f)
	want := FollowUp{Outcome: OutcomeSubmitted, Comment: "call me on [phone]", Contact: "jo@example.com", ContactConsent: true,
		Answers: map[string][]string{"why": {"card [loyalty] lost, mail [email]"}, "found": {"yes"}, "gone": {"call [phone]"}}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("masked follow-up\n got %+v\nwant %+v", f, want)
	}
	if !reflect.DeepEqual(counts, pii.Counts{pii.Phone: 2, pii.Email: 1, "loyalty": 1}) {
		t.Errorf("counts %v", counts)
	}
	if answers["why"][0] != "card LC1234567890 lost, mail jo@example.com" {
		t.Errorf("the caller's answers changed: %v", answers)
	}
}

func TestMaskingKeepsLimits(t *testing.T) {
	var m *Masking // the built-in kinds
	r := Response{Comment: strings.Repeat("a@b.co ", MaxCommentRunes/7) + "x"}
	if err := (FollowUp{Outcome: OutcomeSubmitted, Comment: r.Comment}).Validate(); err != nil {
		t.Fatal(err)
	}
	counts := m.Response(&r)
	if counts[pii.Email] != MaxCommentRunes/7 {
		t.Errorf("counts %v", counts)
	}
	if err := (FollowUp{Outcome: OutcomeSubmitted, Comment: r.Comment}).Validate(); err != nil {
		t.Errorf("the masked comment no longer validates: %v", err)
	}
}
