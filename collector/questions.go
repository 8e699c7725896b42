package collector

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
)

// ReportLanguage is the language of the questions' and options' labels in the reports
// (the dashboard is in English); a label missing in it is the survey's first language's.
const ReportLanguage = "en"

// MaxTextsPerCategory bounds the latest texts a questions report lists per category.
const MaxTextsPerCategory = 50

// CategoryCounts splits a count by the shoppers' NPS category.
type CategoryCounts struct {
	Total      int64 `json:"total"`
	Promoters  int64 `json:"promoters"`
	Passives   int64 `json:"passives"`
	Detractors int64 `json:"detractors"`
}

func countsOf(t storage.AnswerTally) CategoryCounts {
	return CategoryCounts{Total: t.Total(), Promoters: t.Promoters, Passives: t.Passives, Detractors: t.Detractors}
}

// ValueCount is how often one option (or one rating, 1 to 5) was chosen.
type ValueCount struct {
	Key   string `json:"key"`   // the option's key, or "1" to "5"
	Label string `json:"label"` // in ReportLanguage
	CategoryCounts
}

// RatingMeans are a rating's mean, overall and per category; nil where nobody rated.
type RatingMeans struct {
	All        *float64 `json:"all"`
	Promoters  *float64 `json:"promoters"`
	Passives   *float64 `json:"passives"`
	Detractors *float64 `json:"detractors"`
}

// QuestionSummary is one extra question's answers in a report's filter.
type QuestionSummary struct {
	Key         string            `json:"key"`
	Kind        string            `json:"kind"`   // single, multi, rating or text
	Label       string            `json:"label"`  // in ReportLanguage
	Labels      map[string]string `json:"labels"` // every language the survey has
	Channels    []string          `json:"channels,omitempty"`
	Touchpoints []string          `json:"touchpoints,omitempty"`
	// Answered counts the responses that answered the question (a multiple choice's
	// shares of its options add up to more than 100 %).
	Answered CategoryCounts `json:"answered"`
	// Values counts each option, in the survey's order (then any option the survey no
	// longer has), or each rating from 1 to 5; none for a text.
	Values []ValueCount  `json:"values,omitempty"`
	Means  *RatingMeans  `json:"means,omitempty"` // a rating's
	Texts  *CategoryText `json:"texts,omitempty"` // a text's latest answers
}

// CategoryText holds a text question's latest answers per category, newest first.
type CategoryText struct {
	Promoters  []storage.AnswerText `json:"promoters"`
	Passives   []storage.AnswerText `json:"passives"`
	Detractors []storage.AnswerText `json:"detractors"`
}

// QuestionsReport summarises the answers to the extra questions of the surveys of the
// filter's stores: each question asked where the filter looks (its channel and
// touchpoint, when it names them), in survey order.
type QuestionsReport struct {
	Questions []QuestionSummary `json:"questions"`
}

// QuestionsReport counts, for the filter, each extra question's answers split by NPS
// category: options (single and multi), ratings with their means, and the latest
// textsPerCategory texts of each category (0 to MaxTextsPerCategory). Stores may have
// different surveys: a question is known by its key, labelled as the first survey that
// asks it (in store order) does. Questions no store's survey asks any more are left
// out; their answers stay in the export.
func (s *Service) QuestionsReport(ctx context.Context, f storage.Filter, textsPerCategory int) (QuestionsReport, error) {
	if textsPerCategory < 0 || textsPerCategory > MaxTextsPerCategory {
		return QuestionsReport{}, fmt.Errorf("questions report: %w: texts per category must be 0 to %d", storage.ErrInvalid, MaxTextsPerCategory)
	}
	surveys, err := s.SurveysWithQuestions(ctx, f)
	if err != nil {
		return QuestionsReport{}, fmt.Errorf("questions report: %w", err)
	}
	rep := QuestionsReport{Questions: []QuestionSummary{}}
	var counted, texted []string
	byKey, seen := map[string]*QuestionSummary{}, map[string]bool{}
	for _, sv := range surveys {
		for _, q := range sv.Questions {
			if seen[q.Key] || !askedWhere(q, f) {
				continue
			}
			seen[q.Key] = true
			fallback := ReportLanguage
			if len(sv.Languages) > 0 {
				fallback = sv.Languages[0]
			}
			sum := QuestionSummary{Key: q.Key, Kind: q.Kind, Label: q.Label(ReportLanguage, fallback),
				Labels: q.Labels, Channels: q.Channels, Touchpoints: q.Touchpoints}
			switch q.Kind {
			case response.QuestionSingle, response.QuestionMulti:
				for _, o := range q.Options {
					sum.Values = append(sum.Values, ValueCount{Key: o.Key, Label: o.Label(ReportLanguage, fallback)})
				}
			case response.QuestionRating:
				for n := 1; n <= 5; n++ {
					sum.Values = append(sum.Values, ValueCount{Key: strconv.Itoa(n), Label: strconv.Itoa(n)})
				}
			case response.QuestionText:
				sum.Texts = &CategoryText{Promoters: []storage.AnswerText{}, Passives: []storage.AnswerText{}, Detractors: []storage.AnswerText{}}
			}
			rep.Questions = append(rep.Questions, sum)
			if q.Kind == response.QuestionText {
				texted = append(texted, q.Key)
			}
			counted = append(counted, q.Key)
		}
	}
	for i := range rep.Questions { // once the slice has stopped growing
		byKey[rep.Questions[i].Key] = &rep.Questions[i]
	}

	tallies, err := s.AnswerTallies(ctx, f, counted)
	if err != nil {
		return QuestionsReport{}, fmt.Errorf("questions report: %w", err)
	}
	for _, t := range tallies {
		q := byKey[t.Question]
		if t.Value == "" {
			q.Answered = countsOf(t)
			continue
		}
		if q.Kind == response.QuestionText {
			continue // texts are listed, not counted
		}
		i := slices.IndexFunc(q.Values, func(v ValueCount) bool { return v.Key == t.Value })
		if i < 0 { // an option the survey no longer has
			q.Values = append(q.Values, ValueCount{Key: t.Value, Label: t.Value})
			i = len(q.Values) - 1
		}
		q.Values[i].CategoryCounts = countsOf(t)
	}
	for i := range rep.Questions {
		if q := &rep.Questions[i]; q.Kind == response.QuestionRating {
			q.Means = ratingMeans(q.Values)
		}
	}

	texts, err := s.AnswerTexts(ctx, f, texted, textsPerCategory)
	if err != nil {
		return QuestionsReport{}, fmt.Errorf("questions report: %w", err)
	}
	for _, t := range texts {
		q := byKey[t.Question]
		switch t.Category {
		case nps.Promoter.String():
			q.Texts.Promoters = append(q.Texts.Promoters, t)
		case nps.Passive.String():
			q.Texts.Passives = append(q.Texts.Passives, t)
		default:
			q.Texts.Detractors = append(q.Texts.Detractors, t)
		}
	}
	return rep, nil
}

// askedWhere reports whether a question is asked where the filter looks: any channel
// and touchpoint, or those it names.
func askedWhere(q response.Question, f storage.Filter) bool {
	return (f.Channel == "" || len(q.Channels) == 0 || slices.Contains(q.Channels, f.Channel)) &&
		(f.Touchpoint == "" || len(q.Touchpoints) == 0 || slices.Contains(q.Touchpoints, f.Touchpoint))
}

// ratingMeans are the means of ratings counted per value ("1" to "5").
func ratingMeans(values []ValueCount) *RatingMeans {
	var sum, n [4]int64 // all, promoters, passives, detractors
	for _, v := range values {
		r, err := strconv.Atoi(v.Key)
		if err != nil {
			continue
		}
		for i, c := range []int64{v.Total, v.Promoters, v.Passives, v.Detractors} {
			sum[i] += int64(r) * c
			n[i] += c
		}
	}
	mean := func(i int) *float64 {
		if n[i] == 0 {
			return nil
		}
		m := float64(sum[i]) / float64(n[i])
		return &m
	}
	return &RatingMeans{All: mean(0), Promoters: mean(1), Passives: mean(2), Detractors: mean(3)}
}
