package kiosk

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"

	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
)

// followUpScreen amends the recorded tap with reasons, a comment and optional contact
// details. Submit, Skip or the idle timeout complete it (capture rule 2).
type followUpScreen struct {
	app   *App
	rec   store.Recorded
	score int

	reason  string // one reason key, or none: the question asks for the main reason
	comment string
	contact string
	consent bool
	done    bool
	// key seals the contact before it is stored; askContact is false when there is no
	// key, and then consent and contact are not offered.
	key        contactseal.PublicKey
	askContact bool

	// questions are the survey's extra questions asked of kiosks, with the answers to
	// them so far: option keys (or "1" to "5") by question key, and typed texts.
	questions []response.Question
	choices   map[string][]string
	texts     map[string]*string
	// separate: the questions are a step of their own after the form, as they do not
	// fit under the reasons; onQuestions: that step is showing.
	separate    bool
	onQuestions bool

	root       *fyne.Container // the form or the keyboard, with the idle prompt over it
	stopPrompt func()
	stopReset  func()
}

// The fields the on-screen keyboard can type into.
type field int

const (
	fieldComment field = iota
	fieldContact
)

func newFollowUpScreen(a *App, rec store.Recorded, score int) *followUpScreen {
	s := &followUpScreen{app: a, rec: rec, score: score,
		questions: a.survey.QuestionsFor(response.ChannelKiosk, ""),
		choices:   map[string][]string{}, texts: map[string]*string{}}
	s.key, s.askContact = a.contactKey()
	for _, q := range s.questions {
		if q.Kind == response.QuestionText {
			s.texts[q.Key] = new(string)
		}
	}
	return s
}

func (s *followUpScreen) content() fyne.CanvasObject {
	s.separate = s.questionsOverflow()
	s.root = container.NewStack(s.view())
	s.armIdle()
	return s.root
}

// view is the step showing: the form, or the extra questions after it.
func (s *followUpScreen) view() fyne.CanvasObject {
	if s.onQuestions {
		return s.questionsView()
	}
	return s.form()
}

// armIdle (re)starts the idle countdown: the prompt a few seconds before the reset.
func (s *followUpScreen) armIdle() {
	s.stopIdle()
	idle := time.Duration(s.app.survey.IdleTimeoutSeconds) * time.Second
	if idle > stillThereLead {
		s.stopPrompt = s.app.after(idle-stillThereLead, s.showStillThere)
	}
	s.stopReset = s.app.after(idle, func() { s.finish(response.OutcomeTimedOut) })
}

func (s *followUpScreen) stopIdle() {
	for _, stop := range []func(){s.stopPrompt, s.stopReset} {
		if stop != nil {
			stop()
		}
	}
}

// touched is called on every touch: the shopper is still here.
func (s *followUpScreen) touched() {
	if len(s.root.Objects) > 1 { // the prompt is showing
		s.root.Objects = s.root.Objects[:1]
		s.root.Refresh()
	}
	s.armIdle()
}

func (s *followUpScreen) showStillThere() {
	a := s.app
	card := canvas.NewRectangle(colorBackground)
	card.CornerRadius = cornerRadius
	msg := container.NewVBox(
		label(a.t("followup.still_there"), textTitle, true, fyne.TextAlignCenter, theme.ColorNameForeground),
		label(a.t("followup.tap_to_continue"), textLarge, false, fyne.TextAlignCenter, theme.ColorNameForeground),
	)
	dim := canvas.NewRectangle(colorOverlay)
	prompt := container.NewStack(dim,
		container.NewCenter(container.NewStack(card, container.New(layout.NewCustomPaddedLayout(40, 40, 60, 60), msg))),
		newTapArea(fyne.NewSize(0, 0), s.touched))
	s.root.Objects = append(s.root.Objects[:1], prompt)
	s.root.Refresh()
}

func (s *followUpScreen) setView(o fyne.CanvasObject) {
	s.root.Objects = []fyne.CanvasObject{o}
	s.root.Refresh()
}

func (s *followUpScreen) form() fyne.CanvasObject {
	return container.New(layout.NewCustomPaddedLayout(24, 24, 32, 32),
		container.NewBorder(nil, s.formButtons(), nil, nil, container.NewVScroll(s.body(!s.separate, s.consent))))
}

// chipColumns is how many chips a row holds: four on a landscape screen, two on a
// portrait one.
func (s *followUpScreen) chipColumns() int {
	if s.app.win.Canvas().Size().Width < 1100 {
		return 2
	}
	return 4
}

// formButtons are the form's: back to the score on the left, the two ways to finish on
// the right, Submit last (Next, when the extra questions follow on a step of their own).
func (s *followUpScreen) formButtons() fyne.CanvasObject {
	a := s.app
	change := secondaryButton(a.t("followup.change_score"), s.changeScore)
	change.minSize.Width = 260 // the longest of the two words in every language, unshrunk
	next := primaryButton(a.t("followup.submit"), func() { s.finish(response.OutcomeSubmitted) })
	if s.separate {
		next = primaryButton(a.t("followup.next"), s.showQuestions)
	}
	return container.NewBorder(nil, nil, change,
		container.NewHBox(secondaryButton(a.t("followup.skip"), func() { s.finish(response.OutcomeSkipped) }), next))
}

// body is the form's content: the question and the score, the reasons, the extra
// questions when inline, the comment, the consent and, with it, the contact.
func (s *followUpScreen) body(inline, withContact bool) fyne.CanvasObject {
	a := s.app
	category := nps.Score(s.score).Category()
	width := a.win.Canvas().Size().Width
	cols := s.chipColumns()
	// Single choice: tapping another chip replaces the reason, tapping the chosen one
	// clears it.
	var chips []*toggle
	for _, r := range a.survey.ReasonsFor(category) {
		key := r.Key
		var chip *toggle
		chip = newChoice(r.Label(a.lang, a.survey.Languages[0]), func(on bool) {
			s.touched()
			s.reason = ""
			if on {
				s.reason = key
			}
			for _, other := range chips {
				if other != chip && other.on {
					other.set(false)
				}
			}
		})
		chip.set(s.reason == key)
		chips = append(chips, chip)
	}
	objs := make([]fyne.CanvasObject, len(chips))
	for i, c := range chips {
		objs[i] = c
	}
	chipGrid := container.NewGridWithColumns(cols, objs...)

	comment := s.fieldBox(fieldComment, s.comment, a.t("followup.comment"))
	// Without a key to seal it to, a contact could not be kept safely: it is not asked.
	contactRow := container.NewVBox()
	if s.askContact {
		consent := newToggle(a.t("followup.consent"), func(on bool) {
			s.touched()
			s.consent = on
			if !on {
				s.contact = ""
			}
			s.setView(s.form())
		})
		consent.set(s.consent)
		contactRow.Add(consent)
		if withContact {
			contactRow.Add(s.fieldBox(fieldContact, s.contact, a.t("followup.contact")))
		}
	}

	question := text(a.t("followup.question"), textTitle, true, fyne.TextAlignLeading, theme.ColorNameForeground)
	var top fyne.CanvasObject
	if width >= 1100 {
		// Beside the question, so the chips stay where they were for a shopper who has
		// learnt the screen.
		top = container.NewBorder(nil, nil, nil, s.scoreBadge(), question)
	} else {
		top = container.NewVBox(container.NewHBox(s.scoreBadge()), question)
	}

	parts := []fyne.CanvasObject{top, chipGrid}
	if inline {
		for _, q := range s.questions {
			parts = append(parts, spacer(8), s.questionBlock(q))
		}
	}
	parts = append(parts, spacer(8), comment, contactRow)
	return container.NewVBox(parts...)
}

// scoreBadge shows the score the shopper chose, as the tile they tapped, with a caption.
func (s *followUpScreen) scoreBadge() fyne.CanvasObject {
	tile := canvas.NewRectangle(colorPrimary)
	tile.CornerRadius = cornerRadius
	digit := canvas.NewText(strconv.Itoa(s.score), colorOnPrimary)
	digit.TextSize = textScore
	digit.TextStyle.Bold = true
	digit.Alignment = fyne.TextAlignCenter
	box := container.New(layout.NewGridWrapLayout(fyne.NewSquareSize(80)),
		container.NewStack(tile, container.NewCenter(digit)))
	caption := label(s.app.t("followup.your_score"), textLarge, false, fyne.TextAlignTrailing, theme.ColorNameForeground)
	return container.NewHBox(container.NewCenter(caption), box)
}

// changeScore goes back to the rating screen; the follow-up's state waits there.
func (s *followUpScreen) changeScore() {
	s.touched()
	s.stopIdle()
	s.app.showRescore(s)
}

// rescored takes the new score; a reason the new score's category is not offered is
// dropped, since the shopper can no longer see or clear it.
func (s *followUpScreen) rescored(score int) {
	s.score = score
	offered := s.app.survey.ReasonsFor(nps.Score(score).Category())
	if !slices.ContainsFunc(offered, func(r response.Reason) bool { return r.Key == s.reason }) {
		s.reason = ""
	}
}

// fieldBox shows a field's text (or its placeholder) in a box; a tap opens the keyboard.
func (s *followUpScreen) fieldBox(f field, value, placeholder string) fyne.CanvasObject {
	return s.textBox(value, placeholder, func() { s.edit(f) })
}

// textBox shows a text (or its placeholder) in a box; a tap calls edit.
func (s *followUpScreen) textBox(value, placeholder string, edit func()) fyne.CanvasObject {
	frame := canvas.NewRectangle(colorBackground)
	frame.StrokeColor = colorBorder
	frame.StrokeWidth = 2
	frame.CornerRadius = cornerRadius
	frame.SetMinSize(fyne.NewSize(0, 88))
	shown, color := value, theme.ColorNameForeground
	if value == "" {
		shown, color = placeholder, theme.ColorNamePlaceHolder
	}
	return container.NewStack(frame,
		container.New(layout.NewCustomPaddedLayout(8, 8, 12, 12),
			text(shown, textBody, false, fyne.TextAlignLeading, color)),
		newTapArea(fyne.NewSize(0, 0), func() { s.touched(); edit() }))
}

// edit shows the on-screen keyboard for one field.
func (s *followUpScreen) edit(f field) {
	a := s.app
	value, limit, label := &s.comment, response.MaxCommentRunes, a.t("followup.comment")
	if f == fieldContact {
		value, limit, label = &s.contact, response.MaxContactRunes, a.t("followup.contact")
	}
	s.editText(label, limit, value)
}

// editText shows the on-screen keyboard for a text of at most limit characters; Done
// goes back to the step it came from.
func (s *followUpScreen) editText(label string, limit int, value *string) {
	a := s.app
	shown := text("", textLarge, false, fyne.TextAlignLeading, theme.ColorNameForeground)
	counter := text("", textBody, false, fyne.TextAlignTrailing, theme.ColorNamePlaceHolder)
	counter.Wrapping = fyne.TextWrapOff
	render := func() {
		setText(shown, *value+"|")
		setText(counter, fmt.Sprintf("%d / %d", utf8.RuneCountInString(*value), limit))
	}
	render()
	frame := canvas.NewRectangle(colorBackground)
	frame.StrokeColor = colorPrimary
	frame.StrokeWidth = 3
	frame.CornerRadius = cornerRadius
	frame.SetMinSize(fyne.NewSize(0, 120))

	kb := newKeyboard(a, keyboardHandler{
		typed: func(r string) {
			s.touched()
			if utf8.RuneCountInString(*value)+utf8.RuneCountInString(r) <= limit {
				*value += r
				render()
			}
		},
		backspace: func() {
			s.touched()
			if _, size := utf8.DecodeLastRuneInString(*value); size > 0 {
				*value = (*value)[:len(*value)-size]
				render()
			}
		},
		done: func() {
			s.touched()
			s.setView(s.view())
		},
	})
	top := container.NewVBox(
		container.NewBorder(nil, nil, nil, counter,
			text(label, textLarge, true, fyne.TextAlignLeading, theme.ColorNameForeground)),
		container.NewStack(frame, container.New(layout.NewCustomPaddedLayout(8, 8, 12, 12), shown)),
	)
	s.setView(container.New(layout.NewCustomPaddedLayout(24, 24, 12, 12),
		container.NewBorder(top, kb, nil, nil, layout.NewSpacer())))
}

// finish completes the response once. A Submit racing the timeout is harmless: the
// store refuses the second completion.
func (s *followUpScreen) finish(outcome response.Outcome) {
	if s.done {
		return
	}
	s.done = true
	s.stopIdle()
	a := s.app
	ctx, cancel := a.ctx()
	defer cancel()
	f := response.FollowUp{Outcome: outcome, Comment: s.comment}
	if s.reason != "" {
		f.Reasons = []string{s.reason}
	}
	if s.askContact && s.consent && s.contact != "" {
		// Sealed before it reaches the store: only the collector can open it.
		sealed, err := contactseal.Seal(s.key, s.rec.ID, s.contact)
		if err != nil {
			a.log.Error("could not seal the contact; the follow-up is kept without it", "id", s.rec.ID, "err", err)
		} else {
			f.SealedContact, f.ContactConsent = sealed, true
		}
	}
	s.contact = ""
	f.Answers = s.answers()
	if err := (response.Response{Answers: f.Answers}).CheckAnswers(a.survey); err != nil {
		// The screen offers only what the survey asks; should that ever differ, the
		// answers are dropped rather than the follow-up.
		a.log.Error("extra answers do not fit the survey", "id", s.rec.ID, "err", err)
		f.Answers = nil
	}
	if err := a.cfg.Capture.Complete(ctx, s.rec.ID, f); err != nil && !errors.Is(err, store.ErrCompleted) {
		// The score is already safe; the follow-up is lost only if the disk failed, and
		// start-up will complete the row. The shopper is not troubled with it.
		a.log.Error("could not complete a response", "id", s.rec.ID, "outcome", outcome, "err", err)
	}
	if a.cfg.Sync != nil {
		a.cfg.Sync.SyncNow() // upload within seconds while online
	}
	if outcome == response.OutcomeTimedOut {
		a.showRating()
		return
	}
	a.showThanks()
}
