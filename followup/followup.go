// Package followup defines a follow-up case: the rule that decides which responses open
// one, the states a case moves through and who may move it, and its due time. The
// collector opens and keeps cases; the kiosk's manager view acts on them offline. It is
// pure Go and imports nothing of the project's but response and nps.
package followup

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
)

// Status is where a case stands.
type Status string

// The states of a case. Open moves to contacted, resolved or closed without action;
// contacted moves to resolved or closed without action. Resolved and closed are final.
const (
	Open           Status = "open"
	Contacted      Status = "contacted"
	Resolved       Status = "resolved"
	ClosedNoAction Status = "closed-no-action"
)

// ErrTransition is wrapped by every refused change of status.
var ErrTransition = errors.New("invalid case transition")

// Valid reports whether s is a defined status.
func (s Status) Valid() bool {
	switch s {
	case Open, Contacted, Resolved, ClosedNoAction:
		return true
	}
	return false
}

// Final reports whether no transition leaves s.
func (s Status) Final() bool { return s == Resolved || s == ClosedNoAction }

// CanMove reports whether a case may go from s to next.
func (s Status) CanMove(next Status) bool {
	switch s {
	case Open:
		return next == Contacted || next == Resolved || next == ClosedNoAction
	case Contacted:
		return next == Resolved || next == ClosedNoAction
	}
	return false
}

// CheckMove returns nil when a case may go from s to next with this note, else an error
// wrapping ErrTransition that says why. Closing without action needs a note saying why.
func (s Status) CheckMove(next Status, note string) error {
	if !next.Valid() {
		return fmt.Errorf("%w: %q is not one of open, contacted, resolved, closed-no-action", ErrTransition, next)
	}
	if !s.CanMove(next) {
		return fmt.Errorf("%w: a %s case cannot become %s", ErrTransition, s, next)
	}
	if next == ClosedNoAction && note == "" {
		return fmt.Errorf("%w: closing without action needs a note saying why", ErrTransition)
	}
	return nil
}

// MaxNoteRunes bounds a note on a case.
const MaxNoteRunes = 2000

// DefaultSLA is how long a store has to act on a case unless its rule says otherwise.
const DefaultSLA = 48 * time.Hour

// Rule decides which responses open a case, and how long the store has to act.
type Rule struct {
	// Scores that open a case. Empty means the detractors' scores, 0–6.
	Scores []int `json:"scores,omitempty"`
	// Reasons that open a case whatever the score; empty means none.
	Reasons []string `json:"reasons,omitempty"`
	// Channels the rule applies to; empty means every channel.
	Channels []string `json:"channels,omitempty"`
	// ContactRequested opens a case for any score when the shopper left contact details
	// and agreed to be contacted. Nil means true.
	ContactRequested *bool `json:"contact_requested,omitempty"`
	// SLAHours is how long the store has; zero means DefaultSLA.
	SLAHours int `json:"sla_hours,omitempty"`
}

// DefaultRule is the chain's rule until one is set: every detractor, and every shopper
// who asked to be contacted, within 48 hours.
func DefaultRule() Rule { return Rule{} }

// Validate reports every problem with the rule at once.
func (r Rule) Validate() error {
	var errs []error
	for _, s := range r.Scores {
		if _, err := nps.ParseScore(s); err != nil {
			errs = append(errs, fmt.Errorf("follow-up rule: %w", err))
		}
	}
	for _, c := range r.Channels {
		if err := response.CheckLabel("channel", c); err != nil {
			errs = append(errs, fmt.Errorf("follow-up rule: %w", err))
		}
	}
	if r.SLAHours < 0 || r.SLAHours > 24*30 {
		errs = append(errs, fmt.Errorf("follow-up rule: sla_hours %d must be from 1 to 720 (zero: 48)", r.SLAHours))
	}
	return errors.Join(errs...)
}

// SLA is how long the store has to act on a case.
func (r Rule) SLA() time.Duration {
	if r.SLAHours == 0 {
		return DefaultSLA
	}
	return time.Duration(r.SLAHours) * time.Hour
}

// Matches reports whether a response from channel opens a case.
func (r Rule) Matches(resp response.Response, channel string) bool {
	if len(r.Channels) > 0 && !slices.Contains(r.Channels, channel) {
		return false
	}
	if resp.Suspect {
		return false // a rapid repeat tap is nobody to call back
	}
	// A sealed contact the collector cannot open is still a shopper who asked to be
	// contacted: the case says so, and opens it once the key is back.
	if (r.ContactRequested == nil || *r.ContactRequested) && (resp.Contact != "" || resp.SealedContact != "") && resp.ContactConsent {
		return true
	}
	if slices.ContainsFunc(resp.Reasons, func(k string) bool { return slices.Contains(r.Reasons, k) }) {
		return true
	}
	if len(r.Scores) == 0 {
		return resp.Category() == nps.Detractor
	}
	return slices.Contains(r.Scores, resp.Score)
}

// Due is when a case opened at opened must be acted on: the SLA counted on the store's
// wall clock, so a 48-hour SLA opened at 10:00 is due at 10:00 two days later even when
// the clocks change in between.
func (r Rule) Due(opened time.Time, loc *time.Location) time.Time {
	t := opened.In(loc)
	hours := int(r.SLA() / time.Hour)
	// time.Date normalises an hour past 23 into the following days at the same wall-clock
	// time, whatever the offset then is.
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+hours, t.Minute(), t.Second(), t.Nanosecond(), loc)
}

// Case is a follow-up case as people read it: through the API, on the dashboard, in
// alert events, and (without Owner and History) on the kiosk.
type Case struct {
	ID        string       `json:"id"`
	StoreID   string       `json:"store_id"`
	Status    Status       `json:"status"`
	Owner     string       `json:"owner,omitempty"`
	OpenedAt  time.Time    `json:"opened_at"`
	DueAt     time.Time    `json:"due_at"`
	UpdatedAt time.Time    `json:"updated_at"`
	Overdue   bool         `json:"overdue"`
	Version   int64        `json:"version"`
	Response  CaseResponse `json:"response"`
	History   []CaseEvent  `json:"history,omitempty"`
}

// CaseResponse is what a case shows of its response: the contact only where the shopper
// agreed to be contacted.
type CaseResponse struct {
	ID      string   `json:"id"`
	Score   int      `json:"score"`
	Reasons []string `json:"reasons"`
	Comment string   `json:"comment,omitempty"`
	Contact string   `json:"contact,omitempty"`
	// ContactSealed, when the shopper left a contact that this collector cannot open
	// (sealed on a kiosk to a key it does not hold), is the id of that key; Contact is
	// then empty.
	ContactSealed string    `json:"contact_sealed,omitempty"`
	Locale        string    `json:"locale"`
	CreatedAt     time.Time `json:"created_at"`
	// Channel and Touchpoint say where the shopper answered (kiosk, qr, …); collectors
	// from before channels send neither.
	Channel    string `json:"channel,omitempty"`
	Touchpoint string `json:"touchpoint,omitempty"`
}

// CaseEvent is one line of a case's history.
type CaseEvent struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"` // opened, moved, assigned
	From   Status    `json:"from,omitempty"`
	To     Status    `json:"to,omitempty"`
	Owner  string    `json:"owner,omitempty"`
	Note   string    `json:"note,omitempty"`
}
