package followup

import (
	"errors"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/response"
)

func TestRuleMatches(t *testing.T) {
	no := false
	tests := []struct {
		name    string
		rule    Rule
		resp    response.Response
		channel string
		want    bool
	}{
		{"default: a detractor", DefaultRule(), response.Response{Score: 6}, "kiosk", true},
		{"default: a passive", DefaultRule(), response.Response{Score: 7}, "kiosk", false},
		{"default: a promoter who asked to be contacted", DefaultRule(),
			response.Response{Score: 10, Contact: "ana@example.com", ContactConsent: true}, "kiosk", true},
		{"default: a promoter who left a sealed contact", DefaultRule(),
			response.Response{Score: 10, SealedContact: "hpke1:0123456789abcdef:AAAA", ContactConsent: true}, "kiosk", true},
		{"default: a suspect tap", DefaultRule(), response.Response{Score: 0, Suspect: true}, "kiosk", false},
		{"scores 0–4 only: a 5", Rule{Scores: []int{0, 1, 2, 3, 4}}, response.Response{Score: 5}, "kiosk", false},
		{"scores 0–4 only: a 4", Rule{Scores: []int{0, 1, 2, 3, 4}}, response.Response{Score: 4}, "kiosk", true},
		{"a reason opens one whatever the score", Rule{Reasons: []string{"cleanliness"}},
			response.Response{Score: 9, Reasons: []string{"staff", "cleanliness"}}, "kiosk", true},
		{"contact requests switched off", Rule{ContactRequested: &no},
			response.Response{Score: 10, Contact: "ana@example.com", ContactConsent: true}, "kiosk", false},
		{"another channel", Rule{Channels: []string{"web"}}, response.Response{Score: 0}, "kiosk", false},
		{"its channel", Rule{Channels: []string{"web", "kiosk"}}, response.Response{Score: 0}, "kiosk", true},
	}
	for _, tt := range tests {
		if got := tt.rule.Matches(tt.resp, tt.channel); got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRuleValidate(t *testing.T) {
	if err := (Rule{Scores: []int{0, 11}, SLAHours: -1}).Validate(); err == nil {
		t.Error("score 11 and a negative SLA accepted")
	}
	if err := (Rule{Scores: []int{0, 6}, SLAHours: 24, Channels: []string{"kiosk", "qr", "sms"}}).Validate(); err != nil {
		t.Error(err)
	}
	for _, ch := range []string{"QR", "", "e mail", "<b>"} {
		if err := (Rule{Channels: []string{"kiosk", ch}}).Validate(); err == nil {
			t.Errorf("channel %q accepted", ch)
		}
	}
}

// The SLA is counted on the store's wall clock: across the spring-forward night in
// Berlin a 48-hour case is due at the same local time two days on, 47 real hours later.
func TestDueAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		opened   time.Time
		sla      int
		wantDue  time.Time
		wantReal time.Duration
	}{
		{"spring forward", time.Date(2026, 3, 28, 10, 0, 0, 0, berlin), 48, time.Date(2026, 3, 30, 10, 0, 0, 0, berlin), 47 * time.Hour},
		{"fall back", time.Date(2026, 10, 24, 10, 0, 0, 0, berlin), 48, time.Date(2026, 10, 26, 10, 0, 0, 0, berlin), 49 * time.Hour},
		{"plain days", time.Date(2026, 6, 1, 23, 30, 0, 0, berlin), 24, time.Date(2026, 6, 2, 23, 30, 0, 0, berlin), 24 * time.Hour},
	}
	for _, tt := range tests {
		due := Rule{SLAHours: tt.sla}.Due(tt.opened.UTC(), berlin)
		if !due.Equal(tt.wantDue) || due.Sub(tt.opened) != tt.wantReal {
			t.Errorf("%s: due %s (%s later), want %s (%s)", tt.name, due, due.Sub(tt.opened), tt.wantDue, tt.wantReal)
		}
	}
}

func TestTransitions(t *testing.T) {
	tests := []struct {
		from, to Status
		note     string
		ok       bool
	}{
		{Open, Contacted, "", true},
		{Open, Resolved, "refunded", true},
		{Open, ClosedNoAction, "no contact details", true},
		{Open, ClosedNoAction, "", false},
		{Contacted, Resolved, "", true},
		{Contacted, Open, "", false},
		{Resolved, Contacted, "", false},
		{ClosedNoAction, Resolved, "", false},
		{Open, "escalated", "", false},
	}
	for _, tt := range tests {
		err := tt.from.CheckMove(tt.to, tt.note)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrTransition)) {
			t.Errorf("%s → %s (note %q): %v, want ok=%v", tt.from, tt.to, tt.note, err, tt.ok)
		}
	}
}
