package response

import (
	"maps"
	"unicode/utf8"

	"github.com/npskiosk/npskiosk/pii"
)

// Masking masks personal data in what shoppers type (a comment, the answer to a text
// question) with package pii: the built-in kinds and the survey's privacy.mask
// patterns. The kiosk masks a follow-up before it stores it, the collector every
// response at ingest. The contact a shopper gives with consent is theirs to give, sealed
// on the kiosk and kept apart: it is never masked. A nil *Masking masks the built-in
// kinds and treats every answer as text.
type Masking struct {
	masker *pii.Masker
	// choice are the keys of the questions whose answers are option keys or ratings,
	// which are never personal data; an answer to any other key may be text.
	choice map[string]bool
}

// Masking returns the survey's masking. It fails only for a survey that fails Validate.
func (s Survey) Masking() (*Masking, error) {
	m, err := pii.New(s.Privacy.Mask)
	if err != nil {
		return nil, invalid("privacy.mask: %v", err)
	}
	choice := map[string]bool{}
	for _, q := range s.Questions {
		if q.Kind != QuestionText {
			choice[q.Key] = true
		}
	}
	return &Masking{masker: m, choice: choice}, nil
}

// FollowUp masks a follow-up's comment and text answers in place and returns what it
// masked.
func (m *Masking) FollowUp(f *FollowUp) pii.Counts { return m.mask(&f.Comment, &f.Answers) }

// Response masks a response's comment and text answers in place and returns what it
// masked.
func (m *Masking) Response(r *Response) pii.Counts { return m.mask(&r.Comment, &r.Answers) }

func (m *Masking) mask(comment *string, answers *map[string][]string) pii.Counts {
	var counts, more pii.Counts
	*comment, counts = m.text(*comment, MaxCommentRunes)
	*answers, more = m.answers(*answers)
	return counts.Add(more)
}

func (m *Masking) text(s string, limit int) (string, pii.Counts) {
	if s == "" {
		return s, nil
	}
	var masker *pii.Masker
	if m != nil {
		masker = m.masker
	}
	out, counts := masker.Mask(s)
	return fit(out, limit), counts
}

// answers masks the text answers, copying the map before it changes one: the caller's
// stays as it was.
func (m *Masking) answers(answers map[string][]string) (map[string][]string, pii.Counts) {
	var counts pii.Counts
	out, copied := answers, false
	for key, values := range answers {
		if m != nil && m.choice[key] {
			continue
		}
		for i, v := range values {
			masked, c := m.text(v, MaxAnswerTextRunes)
			if c == nil {
				continue
			}
			counts = counts.Add(c)
			if !copied {
				out, copied = maps.Clone(answers), true
			}
			vs := append([]string(nil), out[key]...)
			vs[i] = masked
			out[key] = vs
		}
	}
	return out, counts
}

// fit cuts s to at most limit characters: a placeholder can be longer than what it
// replaced ("[email]" for "a@b.co"), and what is stored must keep to the limits the
// collector checks.
func fit(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	n := 0
	for i := range s {
		if n == limit {
			return s[:i]
		}
		n++
	}
	return s
}
