package kiosk

import (
	"reflect"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"

	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

var portrait = fyne.NewSize(800, 1280)

func labels(en, es, fr, de string) map[string]string {
	return map[string]string{"en": en, "es": es, "fr": fr, "de": de}
}

// withKioskQuestions asks kiosks three extra questions (a single choice, a rating and
// a text) and the web a fourth (a multiple choice) that kiosks must not show.
func withKioskQuestions(s *wire.Survey) {
	s.Questions = []response.Question{
		{Key: "found", Kind: response.QuestionSingle, Channels: []string{"kiosk"},
			Labels: labels("Did you find everything you came for?", "¿Encontró todo lo que buscaba?",
				"Avez-vous trouvé tout ce que vous cherchiez ?", "Haben Sie alles gefunden, was Sie gesucht haben?"),
			Options: []response.Option{
				{Key: "yes", Labels: labels("Yes", "Sí", "Oui", "Ja")},
				{Key: "partly", Labels: labels("Partly", "En parte", "En partie", "Teilweise")},
				{Key: "no", Labels: labels("No", "No", "Non", "Nein")},
			}},
		{Key: "speed", Kind: response.QuestionRating,
			Labels: labels("How quick was checkout?", "¿Qué tan rápido fue pagar?",
				"Le passage en caisse a-t-il été rapide ?", "Wie schnell ging es an der Kasse?")},
		{Key: "improve", Kind: response.QuestionText, Channels: []string{"kiosk"},
			Labels: labels("One thing we could do better?", "¿Qué podríamos mejorar?",
				"Que pourrions-nous améliorer ?", "Was könnten wir besser machen?")},
		{Key: "topics", Kind: response.QuestionMulti, Channels: []string{"web"},
			Labels: labels("What did you shop for?", "¿Qué compró?", "Qu'avez-vous acheté ?", "Was haben Sie gekauft?"),
			Options: []response.Option{
				{Key: "food", Labels: labels("Food", "Comida", "Alimentation", "Lebensmittel")},
				{Key: "home", Labels: labels("Home", "Hogar", "Maison", "Haushalt")},
			}},
	}
}

// withOneKioskQuestion asks kiosks one multiple choice, which fits under the reasons.
func withOneKioskQuestion(s *wire.Survey) {
	s.Questions = []response.Question{
		{Key: "visit", Kind: response.QuestionMulti, Channels: []string{"kiosk"},
			Labels: labels("What brought you in today?", "¿Qué le trajo hoy?", "Qu'est-ce qui vous amène aujourd'hui ?", "Was führt Sie heute zu uns?"),
			Options: []response.Option{
				{Key: "food", Labels: labels("Food", "Comida", "Alimentation", "Lebensmittel")},
				{Key: "home", Labels: labels("Home", "Hogar", "Maison", "Haushalt")},
				{Key: "gifts", Labels: labels("Gifts", "Regalos", "Cadeaux", "Geschenke")},
			}},
	}
}

func newQuestionsHarness(t *testing.T, size fyne.Size, change func(*wire.Survey)) *harness {
	t.Helper()
	return openHarnessWith(t, t.TempDir()+"/kiosk.db", size, change)
}

// The three questions do not fit under the reasons: they follow on a step of their own,
// in both orientations, and what the shopper answers there is stored with the response.
func TestExtraQuestionsAreAnsweredAndStored(t *testing.T) {
	for _, size := range []fyne.Size{landscape, portrait} {
		t.Run(sizeString(size), func(t *testing.T) {
			h := newQuestionsHarness(t, size, withKioskQuestions)
			test.Tap(h.button("8"))
			test.Tap(h.button("Staff"))
			if h.showing("Did you find everything") {
				t.Fatal("the questions show under the reasons, where they do not fit")
			}
			test.Tap(h.button("Next"))
			h.requireShowing("A few more questions (optional)")
			h.requireShowing("Did you find everything you came for?")
			h.requireShowing("How quick was checkout?")
			h.requireShowing("1 = lowest, 5 = highest")
			if h.showing("What did you shop for?") {
				t.Error("a question asked of the web only shows on the kiosk")
			}
			requireFits(t, h)
			test.Tap(h.button("Partly"))
			test.Tap(h.button("Yes")) // a single choice: Yes replaces Partly
			test.Tap(h.button("2"))
			test.Tap(h.button("4")) // as does a rating
			h.tapField("Type your answer (optional)")
			h.requireShowing("One thing we could do better?")
			h.typeOnKeyboard("more tills ")
			test.Tap(h.button("Done"))
			h.requireShowing("more tills")
			test.Tap(h.button("Back")) // the form as it was
			if !h.button("Staff").on() {
				t.Error("Back lost the reason")
			}
			test.Tap(h.button("Next"))
			if !h.button("Yes").on() || h.button("Partly").on() || !h.button("4").on() {
				t.Error("Back and Next lost the answers")
			}
			test.Tap(h.button("Submit"))
			h.requireShowing("Thank you!")
			rows := h.rows()
			if len(rows) != 1 {
				t.Fatalf("%d rows, want 1", len(rows))
			}
			want := map[string][]string{"found": {"yes"}, "speed": {"4"}, "improve": {"more tills"}}
			if r := rows[0]; r.Outcome != response.OutcomeSubmitted || !reflect.DeepEqual(r.Answers, want) ||
				!reflect.DeepEqual(r.Reasons, []string{"staff"}) {
				t.Errorf("row = %+v, want answers %v and reason staff", r, want)
			}
		})
	}
}

// Answers are optional, and what was answered before Skip or the idle timeout is kept
// like the reason is; a chosen option tapped again is unchosen.
func TestExtraQuestionsAreOptional(t *testing.T) {
	tests := []struct {
		name        string
		do          func(h *harness)
		wantOutcome response.Outcome
		want        map[string][]string
	}{
		{"submit on the form without them", func(h *harness) {
			test.Tap(h.button("Skip"))
		}, response.OutcomeSkipped, nil},
		{"a choice unchosen, then submitted", func(h *harness) {
			test.Tap(h.button("Next"))
			test.Tap(h.button("No"))
			test.Tap(h.button("No"))
			h.tapField("Type your answer (optional)")
			h.typeOnKeyboard("   ")
			test.Tap(h.button("Done"))
			test.Tap(h.button("Submit"))
		}, response.OutcomeSubmitted, nil},
		{"skip keeps what was answered", func(h *harness) {
			test.Tap(h.button("Next"))
			test.Tap(h.button("No"))
			test.Tap(h.button("Skip"))
		}, response.OutcomeSkipped, map[string][]string{"found": {"no"}}},
		{"the idle timeout keeps what was answered", func(h *harness) {
			test.Tap(h.button("Next"))
			test.Tap(h.button("1"))
			h.clock.Advance(26 * time.Second)
			h.requireShowing("Are you still there?")
			h.clock.Advance(5 * time.Second)
			h.requireShowing("How likely are you to recommend")
		}, response.OutcomeTimedOut, map[string][]string{"speed": {"1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newQuestionsHarness(t, landscape, withKioskQuestions)
			test.Tap(h.button("3"))
			tt.do(h)
			rows := h.rows()
			if len(rows) != 1 {
				t.Fatalf("%d rows, want 1", len(rows))
			}
			if r := rows[0]; r.Outcome != tt.wantOutcome || !reflect.DeepEqual(r.Answers, tt.want) {
				t.Errorf("row: outcome %s answers %v, want %s %v", r.Outcome, r.Answers, tt.wantOutcome, tt.want)
			}
		})
	}
}

// One question fits under the reasons on a portrait screen: it shows there and the
// form submits at once. A landscape screen has no room left under them (with the
// contact field open): the question follows on a step of its own. A multiple choice
// takes several options, in the options' order.
func TestOneExtraQuestionFitsUnderTheReasonsInPortrait(t *testing.T) {
	for _, size := range []fyne.Size{landscape, portrait} {
		t.Run(sizeString(size), func(t *testing.T) {
			h := newQuestionsHarness(t, size, withOneKioskQuestion)
			test.Tap(h.button("9"))
			if size == landscape {
				if h.showing("What brought you in today?") {
					t.Fatal("the question shows under the reasons, where it does not fit")
				}
				test.Tap(h.button("Next"))
			}
			h.requireShowing("What brought you in today?")
			h.requireShowing("Choose any that apply")
			requireFits(t, h)
			test.Tap(h.button("Gifts"))
			test.Tap(h.button("Home"))
			test.Tap(h.button("Food"))
			test.Tap(h.button("Home")) // untick
			if size == portrait {
				test.Tap(h.button("You may contact me about my feedback"))
				requireFits(t, h) // the contact field opened: still no scrolling
				if !h.button("Gifts").on() {
					t.Error("opening the contact field lost the answer")
				}
			}
			test.Tap(h.button("Submit"))
			rows := h.rows()
			want := map[string][]string{"visit": {"food", "gifts"}}
			if len(rows) != 1 || !reflect.DeepEqual(rows[0].Answers, want) {
				t.Fatalf("rows = %+v, want answers %v", rows, want)
			}
		})
	}
}

// The questions, their options and the screen's words are in the shopper's language.
func TestExtraQuestionsInTheShoppersLanguage(t *testing.T) {
	h := newQuestionsHarness(t, landscape, withKioskQuestions)
	test.Tap(h.button("Español"))
	test.Tap(h.button("6"))
	test.Tap(h.button("Siguiente"))
	for _, s := range []string{"Unas preguntas más (opcional)", "¿Encontró todo lo que buscaba?", "¿Qué tan rápido fue pagar?",
		"1 = la más baja, 5 = la más alta", "Escriba su respuesta (opcional)", "¿Qué podríamos mejorar?"} {
		h.requireShowing(s)
	}
	test.Tap(h.button("En parte"))
	test.Tap(h.button("Enviar"))
	if rows := h.rows(); len(rows) != 1 || !reflect.DeepEqual(rows[0].Answers, map[string][]string{"found": {"partly"}}) ||
		rows[0].Locale != "es" {
		t.Fatalf("rows = %+v", rows)
	}
}

// Every target on the questions' step is a big one: at least touchMin both ways.
func TestExtraQuestionTargetsAreBig(t *testing.T) {
	for _, size := range []fyne.Size{landscape, portrait} {
		h := newQuestionsHarness(t, size, withKioskQuestions)
		test.Tap(h.button("5"))
		test.Tap(h.button("Next"))
		n := 0
		for _, o := range objects(h.win.Content()) {
			var b *button
			switch v := o.(type) {
			case *button:
				b = v
			case *toggle:
				b = v.button
			default:
				continue
			}
			n++
			if s := b.Size(); s.Width < touchMin || s.Height < touchMin {
				t.Errorf("%s: %q is %v, under %d px", sizeString(size), b.text, s, touchMin)
			}
		}
		if n < 3+5+3 {
			t.Errorf("%s: only %d targets found", sizeString(size), n)
		}
	}
}

// requireFits fails when the screen's scrolling content is taller than its view: a
// shopper would have to scroll to see all of it.
func requireFits(t *testing.T, h *harness) {
	t.Helper()
	for _, o := range objects(h.win.Content()) {
		if sc, ok := o.(*container.Scroll); ok {
			if ch, vh := sc.Content.MinSize().Height, sc.Size().Height; ch > vh {
				t.Errorf("the content is %.0f px tall in a view of %.0f: it scrolls", ch, vh)
			}
		}
	}
}

// on reports whether a toggle's button is on: its fill is the primary colour.
func (b *button) on() bool { return b.fill == colorPrimary }
