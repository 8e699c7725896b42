package kiosk

import (
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"

	"github.com/npskiosk/npskiosk/response"
)

// The survey's extra questions asked of kiosks (response.Survey.QuestionsFor): shown
// under the reasons when they fit the screen with the whole form, else on a step of
// their own after it, so that nothing a shopper must see is ever below the fold. Every
// answer is optional.

// questionsOverflow reports whether the form, with the extra questions under the
// reasons and the contact field open, would be taller than the screen leaves it. It is
// decided once per follow-up (and again after a new score, whose reasons may be more),
// so the questions never jump between steps while the shopper answers.
func (s *followUpScreen) questionsOverflow() bool {
	if len(s.questions) == 0 {
		return false
	}
	size := s.app.win.Canvas().Size()
	width := size.Width - 64 // the form's side padding
	room := size.Height - 48 - s.formButtons().MinSize().Height - theme.Padding()
	body := s.body(true, true)
	// Measure at the width it will get: wrapped texts are as tall as that makes them.
	h := body.MinSize().Height
	for range 2 {
		body.Resize(fyne.NewSize(width, h))
		h = body.MinSize().Height
	}
	return h > room
}

func (s *followUpScreen) showQuestions() {
	s.touched()
	s.onQuestions = true
	s.setView(s.view())
}

// questionsView is the step of the extra questions: each under the other, Back to the
// form on the left, Skip and Submit on the right as on the form.
func (s *followUpScreen) questionsView() fyne.CanvasObject {
	a := s.app
	back := secondaryButton(a.t("followup.back"), func() {
		s.touched()
		s.onQuestions = false
		s.setView(s.view())
	})
	buttons := container.NewBorder(nil, nil, back,
		container.NewHBox(
			secondaryButton(a.t("followup.skip"), func() { s.finish(response.OutcomeSkipped) }),
			primaryButton(a.t("followup.submit"), func() { s.finish(response.OutcomeSubmitted) })))
	parts := []fyne.CanvasObject{text(a.t("followup.more_questions"), textTitle, true, fyne.TextAlignLeading, theme.ColorNameForeground)}
	for _, q := range s.questions {
		parts = append(parts, s.questionBlock(q))
	}
	return container.New(layout.NewCustomPaddedLayout(24, 24, 32, 32),
		container.NewBorder(nil, buttons, nil, nil, container.NewVScroll(container.NewVBox(parts...))))
}

// questionBlock is one extra question: its label in the shopper's language and what
// answers it. A single choice is a row of chips like the reasons, one at most; a
// multiple choice a row of boxes to tick; a rating five big buttons, 1 to 5; a text a
// field that opens the keyboard.
func (s *followUpScreen) questionBlock(q response.Question) fyne.CanvasObject {
	a := s.app
	fallback := a.survey.Languages[0]
	label := q.Label(a.lang, fallback)
	parts := []fyne.CanvasObject{text(label, textLarge, true, fyne.TextAlignLeading, theme.ColorNameForeground)}
	switch q.Kind {
	case response.QuestionSingle, response.QuestionMulti:
		if q.Kind == response.QuestionMulti {
			parts = append(parts, text(a.t("followup.choose_any"), textBody, false, fyne.TextAlignLeading, theme.ColorNamePlaceHolder))
		}
		keys := make([]string, len(q.Options))
		labels := make([]string, len(q.Options))
		for i, o := range q.Options {
			keys[i], labels[i] = o.Key, o.Label(a.lang, fallback)
		}
		parts = append(parts, container.NewGridWithColumns(s.chipColumns(),
			s.choiceChips(q, keys, labels, q.Kind == response.QuestionMulti, touchMin*3)...))
	case response.QuestionRating:
		keys := []string{"1", "2", "3", "4", "5"}
		parts = append(parts,
			container.NewGridWithColumns(len(keys), s.choiceChips(q, keys, keys, false, touchMin*2)...),
			text(a.t("followup.rating_scale"), textBody, false, fyne.TextAlignLeading, theme.ColorNamePlaceHolder))
	case response.QuestionText:
		value := s.texts[q.Key]
		parts = append(parts, s.textBox(*value, a.t("followup.answer"), func() {
			s.editText(label, response.MaxAnswerTextRunes, value)
		}))
	}
	return container.NewVBox(parts...)
}

// choiceChips are the options of a question as chips: a tap on another replaces a
// single choice (and on the chosen one clears it); a multiple choice's chips tick and
// untick on their own. Answers keep the options' order.
func (s *followUpScreen) choiceChips(q response.Question, keys, labels []string, multi bool, minWidth float32) []fyne.CanvasObject {
	var chips []*toggle
	out := make([]fyne.CanvasObject, len(keys))
	for i, key := range keys {
		var chip *toggle
		onChange := func(on bool) {
			s.touched()
			var chosen []string
			for j, c := range chips {
				if c != chip && c.on && !multi {
					c.set(false)
				}
				if c.on {
					chosen = append(chosen, keys[j])
				}
			}
			if len(chosen) == 0 {
				delete(s.choices, q.Key)
				return
			}
			s.choices[q.Key] = chosen
		}
		if multi {
			chip = newToggle(labels[i], onChange)
		} else {
			chip = newChoice(labels[i], onChange)
		}
		chip.minSize.Width = minWidth
		chip.set(slices.Contains(s.choices[q.Key], key))
		chips = append(chips, chip)
		out[i] = chip
	}
	return out
}

// answers are the follow-up's answers to the extra questions, by question key; nil
// when none was answered. A text of spaces is no answer.
func (s *followUpScreen) answers() map[string][]string {
	out := map[string][]string{}
	for _, q := range s.questions {
		if v, ok := s.texts[q.Key]; ok {
			if t := strings.TrimSpace(*v); t != "" {
				out[q.Key] = []string{t}
			}
			continue
		}
		if c := s.choices[q.Key]; len(c) > 0 {
			out[q.Key] = slices.Clone(c)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
