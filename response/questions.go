package response

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The kinds of extra question a survey may ask after the NPS question.
const (
	QuestionSingle = "single" // one option
	QuestionMulti  = "multi"  // any of the options
	QuestionText   = "text"   // a short text
	QuestionRating = "rating" // 1 to 5
)

// Limits on extra questions and their answers.
const (
	MaxExtraQuestions  = 3   // asked of any one channel and touchpoint
	MaxQuestionOptions = 10  // per single or multi question
	MaxAnswerTextRunes = 200 // a short-text answer
)

// Question is an extra question some channels or touchpoints ask after the NPS question,
// which stays the same everywhere. Extra questions are optional for the shopper.
type Question struct {
	// Key is what is stored and reported; stable across translations.
	Key  string `json:"key" toml:"key"`
	Kind string `json:"kind" toml:"kind"` // single, multi, text or rating
	// Labels is the question per language; a missing language falls back to the
	// survey's first.
	Labels  map[string]string `json:"labels" toml:"labels"`
	Options []Option          `json:"options,omitempty" toml:"options,omitempty"` // single and multi only
	// Channels and Touchpoints say where it is asked; empty means everywhere.
	Channels    []string `json:"channels,omitempty" toml:"channels,omitempty"`
	Touchpoints []string `json:"touchpoints,omitempty" toml:"touchpoints,omitempty"`
}

// Option is one choice of a single or multi question.
type Option struct {
	Key    string            `json:"key" toml:"key"`
	Labels map[string]string `json:"labels" toml:"labels"`
}

// AskedAt reports whether the question is asked of a response of this channel (empty:
// kiosk) and touchpoint.
func (q Question) AskedAt(channel, touchpoint string) bool {
	if channel == "" {
		channel = ChannelKiosk
	}
	return (len(q.Channels) == 0 || slices.Contains(q.Channels, channel)) &&
		(len(q.Touchpoints) == 0 || slices.Contains(q.Touchpoints, touchpoint))
}

// Label returns the question in lang, falling back to fallback, then to the key.
func (q Question) Label(lang, fallback string) string {
	return Reason{Key: q.Key, Labels: q.Labels}.Label(lang, fallback)
}

// Label returns the option in lang, falling back to fallback, then to the key.
func (o Option) Label(lang, fallback string) string {
	return Reason{Key: o.Key, Labels: o.Labels}.Label(lang, fallback)
}

// QuestionsFor returns the extra questions asked of a channel (empty: kiosk) and
// touchpoint, in survey order.
func (s Survey) QuestionsFor(channel, touchpoint string) []Question {
	var out []Question
	for _, q := range s.Questions {
		if q.AskedAt(channel, touchpoint) {
			out = append(out, q)
		}
	}
	return out
}

// validateQuestions checks the survey's extra questions: their shape, and that no
// channel and touchpoint is asked more than MaxExtraQuestions.
func (s Survey) validateQuestions() []error {
	var errs []error
	seen := map[string]bool{}
	channels, touchpoints := []string{ChannelKiosk, "-"}, []string{"", "-"}
	for _, q := range s.Questions {
		if !reasonKeyPattern.MatchString(q.Key) {
			errs = append(errs, fmt.Errorf("question key %q must be 1 to 64 of a-z, 0-9, _", q.Key))
		}
		if seen[q.Key] {
			errs = append(errs, fmt.Errorf("question key %q appears twice", q.Key))
		}
		seen[q.Key] = true
		if len(s.Languages) > 0 && q.Labels[s.Languages[0]] == "" {
			errs = append(errs, fmt.Errorf("question %q has no label in %s, the default language", q.Key, s.Languages[0]))
		}
		switch q.Kind {
		case QuestionSingle, QuestionMulti:
			if len(q.Options) < 2 || len(q.Options) > MaxQuestionOptions {
				errs = append(errs, fmt.Errorf("question %q needs 2 to %d options", q.Key, MaxQuestionOptions))
			}
			keys := map[string]bool{}
			for _, o := range q.Options {
				if !reasonKeyPattern.MatchString(o.Key) || keys[o.Key] {
					errs = append(errs, fmt.Errorf("question %q: option key %q must be unique, 1 to 64 of a-z, 0-9, _", q.Key, o.Key))
				}
				keys[o.Key] = true
				if len(s.Languages) > 0 && o.Labels[s.Languages[0]] == "" {
					errs = append(errs, fmt.Errorf("question %q: option %q has no label in %s", q.Key, o.Key, s.Languages[0]))
				}
			}
		case QuestionText, QuestionRating:
			if len(q.Options) > 0 {
				errs = append(errs, fmt.Errorf("question %q: a %s question has no options", q.Key, q.Kind))
			}
		default:
			errs = append(errs, fmt.Errorf("question %q: kind %q must be single, multi, text or rating", q.Key, q.Kind))
		}
		for _, c := range q.Channels {
			if err := CheckLabel("channel", c); err != nil {
				errs = append(errs, fmt.Errorf("question %q: %w", q.Key, err))
			}
			channels = append(channels, c)
		}
		for _, t := range q.Touchpoints {
			if err := CheckLabel("touchpoint", t); err != nil {
				errs = append(errs, fmt.Errorf("question %q: %w", q.Key, err))
			}
			touchpoints = append(touchpoints, t)
		}
	}
	// Every place a response can come from is one of the channels and touchpoints
	// named, or another ("-"), which only the questions asked everywhere reach.
	for _, c := range slices.Compact(slices.Sorted(slices.Values(channels))) {
		for _, t := range slices.Compact(slices.Sorted(slices.Values(touchpoints))) {
			if n := len(s.QuestionsFor(c, t)); n > MaxExtraQuestions {
				errs = append(errs, fmt.Errorf("%d extra questions are asked at channel %s, touchpoint %q: at most %d", n, c, t, MaxExtraQuestions))
			}
		}
	}
	return errs
}

// CheckAnswers refuses answers to extra questions the survey does not ask of the
// response's channel and touchpoint, and answers that do not fit their question.
func (r Response) CheckAnswers(s Survey) error {
	for _, key := range slices.Sorted(maps.Keys(r.Answers)) {
		values := r.Answers[key]
		i := slices.IndexFunc(s.Questions, func(q Question) bool { return q.Key == key })
		if i < 0 || !s.Questions[i].AskedAt(r.Channel, r.Touchpoint) {
			return invalid("question %q is not asked here", key)
		}
		q := s.Questions[i]
		switch q.Kind {
		case QuestionSingle, QuestionMulti:
			if q.Kind == QuestionSingle && len(values) != 1 {
				return invalid("question %q takes one option, got %d", key, len(values))
			}
			for j, v := range values {
				if !slices.ContainsFunc(q.Options, func(o Option) bool { return o.Key == v }) {
					return invalid("question %q has no option %q", key, v)
				}
				if slices.Contains(values[:j], v) {
					return invalid("question %q: option %q given twice", key, v)
				}
			}
		case QuestionText:
			if len(values) != 1 {
				return invalid("question %q takes one text, got %d", key, len(values))
			}
		case QuestionRating:
			if len(values) != 1 {
				return invalid("question %q takes one rating, got %d", key, len(values))
			}
			if n, err := strconv.Atoi(values[0]); err != nil || n < 1 || n > 5 {
				return invalid("question %q: rating %q must be 1 to 5", key, values[0])
			}
		}
	}
	return nil
}

// validateAnswers checks what needs no survey: sizes and text. FollowUp.Validate (and
// so Response.Validate) applies it.
func validateAnswers(answers map[string][]string) error {
	if len(answers) > MaxExtraQuestions {
		return invalid("%d extra questions answered, at most %d asked", len(answers), MaxExtraQuestions)
	}
	for _, key := range slices.Sorted(maps.Keys(answers)) {
		values := answers[key]
		if !reasonKeyPattern.MatchString(key) {
			return invalid("question key %q must be 1 to 64 of a-z, 0-9, _", key)
		}
		if len(values) == 0 || len(values) > MaxQuestionOptions {
			return invalid("question %q: 1 to %d values, got %d", key, MaxQuestionOptions, len(values))
		}
		for _, v := range values {
			if v == "" || !utf8.ValidString(v) || utf8.RuneCountInString(v) > MaxAnswerTextRunes {
				return invalid("question %q: an answer must be valid text of 1 to %d characters", key, MaxAnswerTextRunes)
			}
		}
	}
	return nil
}
