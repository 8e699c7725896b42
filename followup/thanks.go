package followup

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
)

// ThanksRule decides which shoppers get a thank-you e-mail: promoters, by default, who
// left an e-mail address and agreed to be contacted. It is the promoters' follow-up, set
// for the chain and overridden per store like Rule. There is none until one is set: a
// chain decides to write to its shoppers, the collector never does so on its own.
type ThanksRule struct {
	// Scores that are thanked. Empty means the promoters' scores, 9–10.
	Scores []int `json:"scores,omitempty"`
	// Channels the rule applies to; empty means every channel.
	Channels []string `json:"channels,omitempty"`
	// ReviewURL, when set, is a page the e-mail invites the shopper to review the
	// store on (https).
	ReviewURL string `json:"review_url,omitempty"`
	// Off sends no thank-you: the chain's rule when none is set, or a store's that opts
	// out of the chain's.
	Off bool `json:"off,omitempty"`
}

// MaxReviewURLBytes bounds a review page's address.
const MaxReviewURLBytes = 500

// NoThanks is the rule until one is set: nobody is written to.
func NoThanks() ThanksRule { return ThanksRule{Off: true} }

// Validate reports every problem with the rule at once.
func (r ThanksRule) Validate() error {
	var errs []error
	for _, s := range r.Scores {
		if _, err := nps.ParseScore(s); err != nil {
			errs = append(errs, fmt.Errorf("thank-you rule: %w", err))
		}
	}
	for _, c := range r.Channels {
		if err := response.CheckLabel("channel", c); err != nil {
			errs = append(errs, fmt.Errorf("thank-you rule: %w", err))
		}
	}
	if r.ReviewURL != "" {
		u, err := url.Parse(r.ReviewURL)
		switch {
		case err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil:
			errs = append(errs, fmt.Errorf("thank-you rule: review URL %q must be an https:// address without credentials", r.ReviewURL))
		case len(r.ReviewURL) > MaxReviewURLBytes || !utf8.ValidString(r.ReviewURL):
			errs = append(errs, fmt.Errorf("thank-you rule: review URL is over %d bytes", MaxReviewURLBytes))
		}
	}
	return errors.Join(errs...)
}

// Matches reports whether a response from channel is thanked: its score is one of the
// rule's, it is not a suspect tap, and the shopper left an e-mail address with consent.
func (r ThanksRule) Matches(resp response.Response, channel string) bool {
	if r.Off || resp.Suspect || !resp.ContactConsent {
		return false
	}
	if _, ok := ContactEmail(resp.Contact); !ok {
		return false
	}
	if len(r.Channels) > 0 && !slices.Contains(r.Channels, channel) {
		return false
	}
	if len(r.Scores) == 0 {
		return resp.Category() == nps.Promoter
	}
	return slices.Contains(r.Scores, resp.Score)
}

// ContactEmail returns the e-mail address a shopper's contact is, when it is one: a
// bare address (ana@example.com) whose domain has a dot. A telephone number, a name or
// anything else is not written to.
func ContactEmail(contact string) (string, bool) {
	c := strings.TrimSpace(contact)
	a, err := mail.ParseAddress(c)
	if err != nil || a.Address != c || a.Name != "" {
		return "", false
	}
	at := strings.LastIndexByte(c, '@')
	if at < 1 || !strings.Contains(c[at+1:], ".") || strings.HasSuffix(c, ".") {
		return "", false
	}
	return c, true
}
