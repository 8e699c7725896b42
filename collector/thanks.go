package collector

import (
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/response"
)

// thanksFor is the thank-you e-mail a response from channel calls for under the store's
// rule, in the shopper's language (the response's locale among en, es, fr and de, else
// English), or nil.
func thanksFor(rule followup.ThanksRule, r response.Response, channel string) *storage.NewThankYou {
	if !rule.Matches(r, channel) {
		return nil
	}
	lang, ok := InvitationLanguage(r.Locale)
	if !ok {
		lang = "en"
	}
	return &storage.NewThankYou{Language: lang, ReviewURL: rule.ReviewURL}
}
