package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
)

// E-mail invitation defaults.
const (
	// DefaultQuietPeriod is how long after an invitation the same address is not
	// invited again.
	DefaultQuietPeriod = 90 * 24 * time.Hour
	// DefaultInvitationTTL is how long an invitation takes answers.
	DefaultInvitationTTL = 14 * 24 * time.Hour
)

// ErrInvitationExpired is wrapped when an invitation is answered after it expired.
var ErrInvitationExpired = errors.New("this invitation has expired")

// InvitationLanguage returns the language an invitation in tag is written in: en, es,
// fr or de, from a tag such as "de" or "de-AT" in any case; false for any other.
func InvitationLanguage(tag string) (string, bool) {
	lang := tag
	if i := len(lang); i > 2 && (lang[2] == '-' || lang[2] == '_') {
		lang = lang[:2]
	}
	switch l := toLowerASCII(lang); l {
	case "en", "es", "fr", "de":
		return l, true
	}
	return "", false
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// millis is t to the millisecond, as the database keeps times, so a response read back
// has the content hash it was stored with.
func millis(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()) }

// InvitationAnswer returns the answer given to an invitation, and false when there is
// none yet.
func (s *Service) InvitationAnswer(ctx context.Context, inv storage.Invitation) (response.Response, bool, error) {
	r, err := s.ResponseOfLink(ctx, inv.Link.ID, inv.ResponseID)
	if errors.Is(err, storage.ErrNotFound) {
		return response.Response{}, false, nil
	}
	if err != nil {
		return response.Response{}, false, fmt.Errorf("answer to invitation %s: %w", inv.ID, err)
	}
	return r, true, nil
}

// AnswerInvitation records the score of an invitation's answer. The first is stored as
// a response of the store's e-mail link under the invitation's response id, with the
// follow-up still to come (outcome timed_out, as a kiosk's left by the shopper); a
// later one revises it, counted once in its new category, keeping its comment and
// contact and the reasons the new score is offered too. The rules are the kiosk's:
// package response's. An expired invitation is ErrInvitationExpired.
func (s *Service) AnswerInvitation(ctx context.Context, inv storage.Invitation, score int) (response.Response, error) {
	now := millis(s.Now())
	if inv.Expired(now) {
		return response.Response{}, fmt.Errorf("answer invitation %s: %w", inv.ID, ErrInvitationExpired)
	}
	if _, err := nps.ParseScore(score); err != nil {
		return response.Response{}, fmt.Errorf("answer invitation %s: %w: %w", inv.ID, response.ErrInvalid, err)
	}
	for range 2 { // a second round when a double click raced the first answer in
		prev, answered, err := s.InvitationAnswer(ctx, inv)
		if err != nil {
			return response.Response{}, err
		}
		survey, err := s.Survey(ctx, inv.StoreID)
		if err != nil {
			return response.Response{}, fmt.Errorf("answer invitation %s: %w", inv.ID, err)
		}
		if answered {
			r := prev
			r.Score = score
			r.Reasons = offered(r.Reasons, survey, nps.Score(score).Category())
			if err := s.reviseInvitation(ctx, inv, &r); err != nil {
				return response.Response{}, fmt.Errorf("answer invitation %s: %w", inv.ID, err)
			}
			if inv.AnsweredAt.IsZero() {
				err = s.MarkInvitationAnswered(ctx, inv.ID, prev.CreatedAt)
			}
			return r, err
		}
		r := response.Response{ID: inv.ResponseID, Score: score, Reasons: []string{}, Locale: inv.Language,
			SurveyVersion: survey.Version, CreatedAt: now, CompletedAt: now, Outcome: response.OutcomeTimedOut,
			Segment: inv.Segment}
		res, err := s.IngestFromLink(ctx, inv.Link, r)
		if err != nil {
			return response.Response{}, fmt.Errorf("answer invitation %s: %w", inv.ID, err)
		}
		if res == storage.Conflict {
			continue
		}
		if err := s.MarkInvitationAnswered(ctx, inv.ID, now); err != nil {
			return response.Response{}, err
		}
		r.Channel, r.Touchpoint = inv.Link.Channel, inv.Link.Touchpoint
		return r, nil
	}
	return response.Response{}, fmt.Errorf("answer invitation %s: %w: answered twice at once", inv.ID, storage.ErrConflict)
}

// FollowUpInvitation adds the follow-up to an invitation's answer: reasons offered for
// its score's category, a comment, a contact with consent, checked by the domain's
// rules. Before a score it is storage.ErrNotFound; after expiry ErrInvitationExpired.
func (s *Service) FollowUpInvitation(ctx context.Context, inv storage.Invitation, f response.FollowUp) (response.Response, error) {
	if inv.Expired(s.Now()) {
		return response.Response{}, fmt.Errorf("follow up invitation %s: %w", inv.ID, ErrInvitationExpired)
	}
	if err := f.Validate(); err != nil {
		return response.Response{}, fmt.Errorf("follow up invitation %s: %w", inv.ID, err)
	}
	prev, answered, err := s.InvitationAnswer(ctx, inv)
	if err != nil {
		return response.Response{}, err
	}
	if !answered {
		return response.Response{}, fmt.Errorf("follow up invitation %s: no score yet: %w", inv.ID, storage.ErrNotFound)
	}
	survey, err := s.Survey(ctx, inv.StoreID)
	if err != nil {
		return response.Response{}, fmt.Errorf("follow up invitation %s: %w", inv.ID, err)
	}
	r := prev
	for _, key := range f.Reasons {
		if !slices.ContainsFunc(survey.ReasonsFor(r.Category()), func(o response.Reason) bool { return o.Key == key }) {
			return response.Response{}, fmt.Errorf("follow up invitation %s: %w: reason %q is not offered for a %s",
				inv.ID, response.ErrInvalid, key, r.Category())
		}
	}
	r.Reasons = append([]string{}, f.Reasons...)
	r.Comment, r.Contact, r.ContactConsent, r.Outcome = f.Comment, f.Contact, f.ContactConsent, f.Outcome
	if err := s.reviseInvitation(ctx, inv, &r); err != nil {
		return response.Response{}, fmt.Errorf("follow up invitation %s: %w", inv.ID, err)
	}
	return r, nil
}

// reviseInvitation stores r, completed now, in place of the invitation's answer.
func (s *Service) reviseInvitation(ctx context.Context, inv storage.Invitation, r *response.Response) error {
	r.CompletedAt = millis(s.Now())
	if r.CompletedAt.Before(r.CreatedAt) {
		r.CompletedAt = r.CreatedAt
	}
	_, err := s.ReviseFromLink(ctx, inv.Link, *r)
	return err
}

// offered keeps the reasons the survey offers for category c, never nil.
func offered(reasons []string, survey response.Survey, c nps.Category) []string {
	out := []string{}
	for _, key := range reasons {
		if slices.ContainsFunc(survey.ReasonsFor(c), func(o response.Reason) bool { return o.Key == key }) {
			out = append(out, key)
		}
	}
	return out
}
