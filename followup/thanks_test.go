package followup

import (
	"testing"

	"github.com/npskiosk/npskiosk/response"
)

func TestThanksRuleMatches(t *testing.T) {
	promoter := response.Response{Score: 10, Contact: "ana@example.com", ContactConsent: true}
	with := func(f func(*response.Response)) response.Response {
		r := promoter
		f(&r)
		return r
	}
	tests := []struct {
		name    string
		rule    ThanksRule
		resp    response.Response
		channel string
		want    bool
	}{
		{"no rule set: nobody", NoThanks(), promoter, "kiosk", false},
		{"a promoter with an e-mail and consent", ThanksRule{}, promoter, "kiosk", true},
		{"a 9", ThanksRule{}, with(func(r *response.Response) { r.Score = 9 }), "kiosk", true},
		{"a passive", ThanksRule{}, with(func(r *response.Response) { r.Score = 8 }), "kiosk", false},
		{"a detractor", ThanksRule{}, with(func(r *response.Response) { r.Score = 2 }), "kiosk", false},
		{"scores 10 only: a 9", ThanksRule{Scores: []int{10}}, with(func(r *response.Response) { r.Score = 9 }), "kiosk", false},
		{"without consent", ThanksRule{}, with(func(r *response.Response) { r.ContactConsent = false }), "kiosk", false},
		{"no contact", ThanksRule{}, with(func(r *response.Response) { r.Contact = "" }), "kiosk", false},
		{"a telephone number", ThanksRule{}, with(func(r *response.Response) { r.Contact = "+49 30 1234567" }), "kiosk", false},
		{"a name and an address", ThanksRule{}, with(func(r *response.Response) { r.Contact = "Ana <ana@example.com>" }), "kiosk", false},
		{"a suspect tap", ThanksRule{}, with(func(r *response.Response) { r.Suspect = true }), "kiosk", false},
		{"another channel", ThanksRule{Channels: []string{"web", "app"}}, promoter, "kiosk", false},
		{"its channel", ThanksRule{Channels: []string{"web", "app"}}, promoter, "app", true},
		{"switched off", ThanksRule{Off: true, ReviewURL: "https://example.com"}, promoter, "kiosk", false},
	}
	for _, tt := range tests {
		if got := tt.rule.Matches(tt.resp, tt.channel); got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestThanksRuleValidate(t *testing.T) {
	for _, ok := range []ThanksRule{{}, {Scores: []int{9, 10}, Channels: []string{"kiosk", "app"}, ReviewURL: "https://g.page/r/abc/review"}} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
	for _, bad := range []ThanksRule{
		{Scores: []int{11}},
		{Channels: []string{"Web"}},
		{ReviewURL: "http://reviews.example.com"},
		{ReviewURL: "javascript:alert(1)"},
		{ReviewURL: "https://user:pw@reviews.example.com"},
		{ReviewURL: "/relative"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestContactEmail(t *testing.T) {
	for contact, want := range map[string]bool{
		"ana@example.com": true, " bo@shop.example.de ": true, "ana@localhost": false, "ana": false,
		"+33 6 12 34 56 78": false, "Ana <ana@example.com>": false, "ana@example.com.": false, "": false,
	} {
		if _, got := ContactEmail(contact); got != want {
			t.Errorf("ContactEmail(%q) = %v, want %v", contact, got, want)
		}
	}
}
