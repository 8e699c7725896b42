package response

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"

	"github.com/npskiosk/npskiosk/insight"
	"github.com/npskiosk/npskiosk/pii"

	"github.com/npskiosk/npskiosk/nps"
)

// Survey is what a kiosk asks and offers. The collector serves it per store from
// GET /v1/config; the kiosk caches the last one it had and starts from the default
// embedded in assets before it has ever been online.
type Survey struct {
	// Version increases with every change; each response records the version it saw.
	Version int `json:"version" toml:"version"`
	// StoreName is shown on the rating screen and in the question.
	StoreName string `json:"store_name" toml:"store_name"`
	// Languages offered on the screen, as BCP 47 tags; the first is the default.
	Languages []string `json:"languages" toml:"languages"`
	// Question and ThankYou override the translated defaults, per language.
	// "{store}" in them is replaced with StoreName.
	Question map[string]string `json:"question,omitempty" toml:"question,omitempty"`
	ThankYou map[string]string `json:"thank_you,omitempty" toml:"thank_you,omitempty"`
	// Reasons offered on the follow-up screen.
	Reasons []Reason `json:"reasons" toml:"reasons"`
	// IdleTimeoutSeconds completes an unfinished follow-up as "timed out".
	IdleTimeoutSeconds int `json:"idle_timeout_seconds" toml:"idle_timeout_seconds"`
	// ThankYouSeconds is how long the thank-you screen stays.
	ThankYouSeconds int `json:"thank_you_seconds" toml:"thank_you_seconds"`
	// RapidTap says when a tap is flagged suspect (capture rule 3).
	RapidTap RapidTap `json:"rapid_tap" toml:"rapid_tap"`
	// ThankYouLink, when set, is a survey link's URL (npscollector link add) that the
	// thank-you screen shows as a QR code: "tell us more on your phone". Raise
	// ThankYouSeconds with it: scanning takes longer than reading.
	ThankYouLink string `json:"thank_you_link,omitempty" toml:"thank_you_link,omitempty"`
	// Questions are extra questions asked after the NPS question, per channel or
	// touchpoint, at most MaxExtraQuestions in any one place. Kiosks that predate them
	// ignore them.
	Questions []Question `json:"questions,omitempty" toml:"questions,omitempty"`
	// Themes, when set, replace the default comment themes (insight.DefaultTaxonomy):
	// the chain's own keywords, phrases and stems per language. A theme keyed like a
	// reason counts the shoppers who picked that reason. Kiosks that predate them ignore
	// them.
	Themes []insight.Theme `json:"themes,omitempty" toml:"themes,omitempty"`
	// Privacy adds the chain's own kinds of personal data (loyalty card numbers…) to
	// those masked in comments and text answers everywhere (see Masking). Kiosks that
	// predate it ignore it: the collector masks what they send.
	Privacy Privacy `json:"privacy,omitzero" toml:"privacy,omitempty"`
}

// Privacy is a survey's [privacy] section.
type Privacy struct {
	// Mask are named patterns masked as "[name]", e.g. name = "loyalty",
	// pattern = '\bLC\d{10}\b'.
	Mask []pii.Pattern `json:"mask,omitempty" toml:"mask,omitempty"`
}

// Taxonomy is the survey's comment themes: its own, or the defaults.
func (s Survey) Taxonomy() insight.Taxonomy {
	if len(s.Themes) == 0 {
		return insight.DefaultTaxonomy()
	}
	return insight.Taxonomy{Themes: s.Themes}
}

// MaxLinkURLLength bounds ThankYouLink: a QR code of a longer URL is too dense for a
// phone a step away.
const MaxLinkURLLength = 200

// Reason is one chip on the follow-up screen.
type Reason struct {
	// Key is what is stored and reported; stable across translations.
	Key string `json:"key" toml:"key"`
	// Labels per language; a missing language falls back to the survey's first.
	Labels map[string]string `json:"labels" toml:"labels"`
	// Categories the chip is offered for: "detractor", "passive", "promoter";
	// empty means all three.
	Categories []string `json:"categories,omitempty" toml:"categories,omitempty"`
}

// RapidTap is the survey's setting for capture rule 3.
type RapidTap struct {
	MinGapSeconds      float64 `json:"min_gap_seconds" toml:"min_gap_seconds"`
	BurstLimit         int     `json:"burst_limit" toml:"burst_limit"`
	BurstWindowSeconds int     `json:"burst_window_seconds" toml:"burst_window_seconds"`
}

var reasonKeyPattern = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// Validate reports every problem with the survey at once.
func (s Survey) Validate() error {
	var errs []error
	if s.Version < 1 {
		errs = append(errs, fmt.Errorf("version %d must be at least 1", s.Version))
	}
	if len(s.Languages) == 0 {
		errs = append(errs, errors.New("at least one language is required"))
	}
	if len(s.Themes) > 0 {
		if err := (insight.Taxonomy{Themes: s.Themes}).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("themes: %w", err))
		}
	}
	seen := map[string]bool{}
	for _, r := range s.Reasons {
		if !reasonKeyPattern.MatchString(r.Key) {
			errs = append(errs, fmt.Errorf("reason key %q must be 1 to 64 of a-z, 0-9, _", r.Key))
		}
		if seen[r.Key] {
			errs = append(errs, fmt.Errorf("reason key %q appears twice", r.Key))
		}
		seen[r.Key] = true
		if len(s.Languages) > 0 && r.Labels[s.Languages[0]] == "" {
			errs = append(errs, fmt.Errorf("reason %q has no label in %s, the default language", r.Key, s.Languages[0]))
		}
		for _, c := range r.Categories {
			if _, err := nps.ParseCategory(c); err != nil {
				errs = append(errs, fmt.Errorf("reason %q: unknown category %q", r.Key, c))
			}
		}
	}
	if s.IdleTimeoutSeconds < 5 || s.IdleTimeoutSeconds > 600 {
		errs = append(errs, fmt.Errorf("idle_timeout_seconds %d must be from 5 to 600", s.IdleTimeoutSeconds))
	}
	if s.ThankYouSeconds < 1 || s.ThankYouSeconds > 60 {
		errs = append(errs, fmt.Errorf("thank_you_seconds %d must be from 1 to 60", s.ThankYouSeconds))
	}
	if s.RapidTap.MinGapSeconds < 0 || s.RapidTap.BurstLimit < 0 || s.RapidTap.BurstWindowSeconds < 0 {
		errs = append(errs, errors.New("rapid_tap settings must not be negative"))
	}
	if s.ThankYouLink != "" {
		u, err := url.Parse(s.ThankYouLink)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s.ThankYouLink) > MaxLinkURLLength {
			errs = append(errs, fmt.Errorf("thank_you_link %q must be an http(s) URL of at most %d characters", s.ThankYouLink, MaxLinkURLLength))
		}
	}
	errs = append(errs, s.validateQuestions()...)
	if err := pii.Check(s.Privacy.Mask); err != nil {
		errs = append(errs, fmt.Errorf("privacy.mask: %w", err))
	}
	return errors.Join(errs...)
}

// HasReason reports whether key is one of the survey's reasons.
func (s Survey) HasReason(key string) bool {
	return slices.ContainsFunc(s.Reasons, func(r Reason) bool { return r.Key == key })
}

// ReasonsFor returns the reasons offered to a shopper of category c, in survey order:
// the reason set of that sentiment.
func (s Survey) ReasonsFor(c nps.Category) []Reason {
	var out []Reason
	for _, r := range s.Reasons {
		if len(r.Categories) == 0 || slices.Contains(r.Categories, c.String()) {
			out = append(out, r)
		}
	}
	return out
}

// Label returns the reason's label in lang, falling back to fallback, then to the key.
func (r Reason) Label(lang, fallback string) string {
	if l := r.Labels[lang]; l != "" {
		return l
	}
	if l := r.Labels[fallback]; l != "" {
		return l
	}
	return r.Key
}
