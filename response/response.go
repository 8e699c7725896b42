// Package response defines what a shopper's response is and the rules it obeys: its
// shape, the limits on what it may carry, how its follow-up ends, its validation, and
// the survey that says which reasons each sentiment is offered. The kiosk's store, the
// sync wire types and the collector all import it, so every part applies the same rules.
// It is pure Go and imports nothing of the project's but nps.
package response

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/nps"
)

// Limits on what a response may carry. The kiosk's UI cannot exceed them; the store and
// the collector enforce them so that nothing unchecked reaches disk.
const (
	MaxCommentRunes = 1000
	MaxContactRunes = 254 // the longest e-mail address RFC 5321 allows
	MaxReasons      = 8
	MaxReasonRunes  = 64
	MaxLocaleRunes  = 35
	MaxOrderIDRunes = 64
)

// ErrInvalid is wrapped by every validation error, whichever part found it.
var ErrInvalid = errors.New("invalid input")

// The channels a response comes through. A survey link may carry any other label that
// CheckLabel accepts, such as sms, chat or receipt.
const (
	ChannelKiosk = "kiosk" // an in-store kiosk
	ChannelQR    = "qr"    // a printed QR code, on a receipt, a shelf or the kiosk's thank-you screen
	ChannelWeb   = "web"   // a web link
	ChannelEmail = "email" // an e-mail invitation
)

// MaxLabelRunes bounds a channel or touchpoint label.
const MaxLabelRunes = 32

// CheckLabel says why a channel or touchpoint label is refused: labels are short,
// lowercase and plain (a-z, 0-9, - and _, starting with a letter), so that reports,
// URLs and CSV columns carry them as they are.
func CheckLabel(what, label string) error {
	if label == "" || len(label) > MaxLabelRunes || label[0] < 'a' || label[0] > 'z' {
		return invalid("%s %q must be 1 to %d characters of a-z, 0-9, - and _, starting with a letter", what, label, MaxLabelRunes)
	}
	for _, c := range label {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return invalid("%s %q must be 1 to %d characters of a-z, 0-9, - and _, starting with a letter", what, label, MaxLabelRunes)
		}
	}
	return nil
}

// Outcome says how a response's follow-up ended.
type Outcome string

// The ways a follow-up ends.
const (
	OutcomeSubmitted Outcome = "submitted" // the shopper pressed Submit
	OutcomeSkipped   Outcome = "skipped"   // the shopper pressed Skip
	OutcomeTimedOut  Outcome = "timed_out" // the idle timeout reset the screen
	OutcomeRecovered Outcome = "recovered" // left open by a crash, completed at the next start
)

// Valid reports whether o is one of the defined outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomeSubmitted, OutcomeSkipped, OutcomeTimedOut, OutcomeRecovered:
		return true
	}
	return false
}

// Response is one shopper's answer, complete with its follow-up. It is also the wire
// form (sync/wire uploads it as it is): the JSON names and their order are part of the
// protocol and of ContentHash, so change neither. The store and device are not in it:
// they come from the device's enrollment, never from the shopper.
type Response struct {
	ID             string    `json:"id"` // UUIDv7 made on the device
	Score          int       `json:"score"`
	Reasons        []string  `json:"reasons"`
	Comment        string    `json:"comment,omitempty"`
	Contact        string    `json:"contact,omitempty"`
	ContactConsent bool      `json:"contact_consent,omitempty"`
	Locale         string    `json:"locale"`
	SurveyVersion  int       `json:"survey_version"`
	CreatedAt      time.Time `json:"created_at"`   // device clock: the tap
	CompletedAt    time.Time `json:"completed_at"` // device clock: end of the follow-up; zero while open
	Outcome        Outcome   `json:"outcome"`      // empty while open
	Suspect        bool      `json:"suspect,omitempty"`
	// Channel is how the response came (kiosk, qr, web, email or a link's own label);
	// empty from kiosks, which predate it, and means kiosk. Touchpoint is the moment of
	// the journey it tells of (checkout, returns, delivery…), or empty.
	Channel    string `json:"channel,omitempty"`
	Touchpoint string `json:"touchpoint,omitempty"`
	// Answers are the answers to the survey's extra questions, by question key: the
	// option keys of a single or multi question, the text of a text question, "1" to
	// "5" for a rating. Unanswered questions are left out.
	Answers map[string][]string `json:"answers,omitempty"`
	// OrderID and Segment are what the page that asked knows of the shopper's visit:
	// the shop's order number (a reference into its own systems, exported to join an
	// answer to its order) and a segment label it chose (new, returning, vip…). The
	// website widget sets them; both are optional and left out of the JSON when empty,
	// so the content hashes of responses without them stay as they were.
	OrderID string `json:"order_id,omitempty"`
	Segment string `json:"segment,omitempty"`
	// SealedContact is the contact as a kiosk sends it: sealed on the device to the
	// collector's public key (package contactseal), so that no readable contact is ever
	// on the device's disk. Only one of Contact and SealedContact is set; the collector
	// opens it into Contact. Left out of the JSON when empty, so older hashes stay.
	SealedContact string `json:"sealed_contact,omitempty"`
}

// Tap is what a shopper's tap on the rating screen records.
type Tap struct {
	Score         int
	Locale        string // BCP 47 tag of the language the screen was in, e.g. "de"
	SurveyVersion int    // version of the survey config shown
	// Segment is the customer segment the kiosk is set to (its config's segment, for a
	// kiosk at a counter that serves one kind of shopper); empty: none.
	Segment string
}

// FollowUp is what the follow-up screen adds to a response.
type FollowUp struct {
	Outcome        Outcome
	Reasons        []string // reason keys from the survey config
	Comment        string
	Contact        string // e-mail or phone; only with ContactConsent
	ContactConsent bool
	// Answers are the answers to the survey's extra questions, as in Response.Answers;
	// nil when none were asked or answered.
	Answers map[string][]string
	// SealedContact is the contact sealed to the collector's key, as a kiosk keeps it;
	// only with ContactConsent, and never beside Contact.
	SealedContact string
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Validate checks a tap.
func (t Tap) Validate() error {
	if _, err := nps.ParseScore(t.Score); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if t.Locale == "" || !utf8.ValidString(t.Locale) || utf8.RuneCountInString(t.Locale) > MaxLocaleRunes {
		return invalid("locale %q must be a language tag of 1 to %d characters", t.Locale, MaxLocaleRunes)
	}
	if t.SurveyVersion < 0 {
		return invalid("survey version %d is negative", t.SurveyVersion)
	}
	if t.Segment != "" {
		return CheckLabel("segment", t.Segment)
	}
	return nil
}

// Validate checks a follow-up.
func (f FollowUp) Validate() error {
	if !f.Outcome.Valid() {
		return invalid("outcome %q is not one of submitted, skipped, timed_out, recovered", f.Outcome)
	}
	if len(f.Reasons) > MaxReasons {
		return invalid("%d reasons given, at most %d allowed", len(f.Reasons), MaxReasons)
	}
	seen := make(map[string]bool, len(f.Reasons))
	for _, r := range f.Reasons {
		if r == "" || !utf8.ValidString(r) || utf8.RuneCountInString(r) > MaxReasonRunes {
			return invalid("reason key %q must be valid text of 1 to %d characters", r, MaxReasonRunes)
		}
		if seen[r] {
			return invalid("reason %q given twice", r)
		}
		seen[r] = true
	}
	if !utf8.ValidString(f.Comment) {
		return invalid("comment is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(f.Comment); n > MaxCommentRunes {
		return invalid("comment has %d characters, at most %d allowed", n, MaxCommentRunes)
	}
	if !utf8.ValidString(f.Contact) {
		return invalid("contact is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(f.Contact); n > MaxContactRunes {
		return invalid("contact has %d characters, at most %d allowed", n, MaxContactRunes)
	}
	if f.Contact != "" && !f.ContactConsent {
		return invalid("contact details given without consent to be contacted")
	}
	if f.SealedContact != "" {
		if err := contactseal.CheckSealed(f.SealedContact); err != nil {
			return invalid("sealed contact: %v", err)
		}
		if !f.ContactConsent {
			return invalid("contact details given without consent to be contacted")
		}
		if f.Contact != "" {
			return invalid("contact given both in clear and sealed")
		}
	}
	return validateAnswers(f.Answers)
}

// Tap returns the part of r its tap recorded.
func (r Response) Tap() Tap {
	return Tap{Score: r.Score, Locale: r.Locale, SurveyVersion: r.SurveyVersion}
}

// FollowUp returns the part of r its follow-up added.
func (r Response) FollowUp() FollowUp {
	return FollowUp{Outcome: r.Outcome, Reasons: r.Reasons, Comment: r.Comment, Contact: r.Contact,
		ContactConsent: r.ContactConsent, Answers: r.Answers, SealedContact: r.SealedContact}
}

// Validate checks a complete response: its id (a UUIDv7, as devices make them), its tap,
// its follow-up and the order of its times. It returns the first problem found, wrapping
// ErrInvalid.
func (r Response) Validate() error {
	if id, err := uuid.Parse(r.ID); err != nil || id.Version() != 7 {
		return invalid("id %q is not a UUIDv7", r.ID)
	}
	if err := r.Tap().Validate(); err != nil {
		return err
	}
	if err := r.FollowUp().Validate(); err != nil {
		return err
	}
	if r.CreatedAt.IsZero() {
		return invalid("created_at is missing")
	}
	if r.CreatedAt.Before(MinTime) || r.CreatedAt.After(MaxTime) {
		return invalid("created_at %s is out of range (%d to %d)", r.CreatedAt.UTC().Format(time.RFC3339), MinTime.Year(), MaxTime.Year())
	}
	if r.CompletedAt.Before(r.CreatedAt) {
		return invalid("completed_at is before created_at")
	}
	if r.CompletedAt.After(MaxTime) {
		return invalid("completed_at %s is out of range (%d to %d)", r.CompletedAt.UTC().Format(time.RFC3339), MinTime.Year(), MaxTime.Year())
	}
	if r.Channel != "" {
		if err := CheckLabel("channel", r.Channel); err != nil {
			return err
		}
	}
	if r.Touchpoint != "" {
		if err := CheckLabel("touchpoint", r.Touchpoint); err != nil {
			return err
		}
	}
	return r.validateVisit()
}

// validateVisit checks the order id and segment: plain, printable and short, so that
// they go into CSV and reports as they are.
func (r Response) validateVisit() error {
	if r.OrderID != "" {
		if !utf8.ValidString(r.OrderID) || utf8.RuneCountInString(r.OrderID) > MaxOrderIDRunes ||
			strings.TrimSpace(r.OrderID) != r.OrderID || strings.IndexFunc(r.OrderID, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0 {
			return invalid("order id must be 1 to %d printable characters without spaces at either end", MaxOrderIDRunes)
		}
	}
	if r.Segment != "" {
		return CheckLabel("segment", r.Segment)
	}
	return nil
}

// ChannelOrKiosk is the response's channel, kiosk when it names none.
func (r Response) ChannelOrKiosk() string {
	if r.Channel == "" {
		return ChannelKiosk
	}
	return r.Channel
}

// CheckClock refuses a response stamped further than maxSkew past now: device clocks
// drift, but not by days, and a future time would put it in a report's tomorrow.
func (r Response) CheckClock(now time.Time, maxSkew time.Duration) error {
	if r.CreatedAt.After(now.Add(maxSkew)) {
		return invalid("created_at %s is in the future", r.CreatedAt.Format(time.RFC3339))
	}
	if r.CompletedAt.After(now.Add(maxSkew)) {
		return invalid("completed_at %s is in the future", r.CompletedAt.Format(time.RFC3339))
	}
	return nil
}

// CheckReasons refuses a reason the survey does not have.
func (r Response) CheckReasons(s Survey) error {
	for _, key := range r.Reasons {
		if !s.HasReason(key) {
			return invalid("unknown reason %q", key)
		}
	}
	return nil
}

// Category is the response's NPS category.
func (r Response) Category() nps.Category { return nps.Score(r.Score).Category() }

// ContentHash identifies a response's content, to tell a retried upload (same id, same
// content) from a conflicting reuse of an id. Collectors store it with every response,
// so its input, the JSON form above with times in UTC, must never change.
func (r Response) ContentHash() string {
	r.CreatedAt, r.CompletedAt = r.CreatedAt.UTC(), r.CompletedAt.UTC()
	// Marshal fails only for times past year 9999, which no JSON body can carry.
	b, _ := json.Marshal(r)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
