package websurvey_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/websurvey"
	"github.com/npskiosk/npskiosk/response"
)

// setQuestions gives store S042 a survey with these extra questions.
func (e *env) setQuestions(qs ...response.Question) {
	e.t.Helper()
	ctx := context.Background()
	s, err := e.c.DB.Survey(ctx, "S042")
	if err != nil {
		e.t.Fatal(err)
	}
	s.Questions = qs
	if _, err := e.c.DB.SetSurvey(ctx, s, []string{"S042"}); err != nil {
		e.t.Fatal(err)
	}
}

// answers reads a response's answers column back.
func (e *env) answers(id string) string {
	e.t.Helper()
	var a string
	if err := e.c.DB.RawQueryRow(context.Background(), `SELECT answers FROM responses WHERE id = ?`, id).Scan(&a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func four(en, es, fr, de string) map[string]string {
	return map[string]string{"en": en, "es": es, "fr": fr, "de": de}
}

// questionSet asks a QR code at the checkout three questions (a single choice for qr,
// a rating for the checkout touchpoint, a text everywhere) and the web a multiple choice.
var questionSet = []response.Question{
	{Key: "found", Kind: response.QuestionSingle, Channels: []string{"qr"},
		Labels: four("Did you find everything you came for?", "¿Encontró todo lo que buscaba?", "Avez-vous trouvé tout ce que vous cherchiez ?", "Haben Sie alles gefunden?"),
		Options: []response.Option{
			{Key: "yes", Labels: four("Yes", "Sí", "Oui", "Ja")},
			{Key: "partly", Labels: four("Partly", "En parte", "En partie", "Teilweise")},
			{Key: "no", Labels: four("No", "No", "Non", "Nein")},
		}},
	{Key: "speed", Kind: response.QuestionRating, Touchpoints: []string{"checkout"},
		Labels: four("How quick was checkout?", "¿Qué tan rápido fue pagar?", "Le passage en caisse a-t-il été rapide ?", "Wie schnell ging es an der Kasse?")},
	{Key: "improve", Kind: response.QuestionText,
		Labels: four("One thing we could do better?", "¿Qué podríamos mejorar?", "Que pourrions-nous améliorer ?", "Was könnten wir besser machen?")},
	{Key: "topics", Kind: response.QuestionMulti, Channels: []string{"web"},
		Labels: four("What did you shop for? <all>", "¿Qué compró?", "Qu'avez-vous acheté ?", "Was haben Sie gekauft?"),
		Options: []response.Option{
			{Key: "food", Labels: four("Food & drink", "Comida", "Alimentation", "Lebensmittel")},
			{Key: "home", Labels: four("Home", "Hogar", "Maison", "Haushalt")},
		}},
}

// The follow-up page asks the questions of the link's channel and touchpoint, each a
// fieldset with its legend (radios for a single choice and a rating, checkboxes for a
// multiple choice) or a labelled field (a text), and the answers posted without any
// script are stored with the response and revised with it.
func TestFollowUpAsksTheLinksQuestions(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := start(t, b, websurvey.Config{})
		e.setQuestions(questionSet...)
		c := e.client(true)
		followUp := c.score(e.link, 9, "en")
		id := answerID(t, followUp)
		page := c.get(followUp)
		for _, want := range []string{
			`<fieldset class="question" id="q_found">`, `<legend>Did you find everything you came for?</legend>`,
			`<input type="radio" name="q_found" value="partly">`,
			`<fieldset class="question scores rating" id="q_speed" aria-describedby="q_speed-hint">`,
			`<p class="hint" id="q_speed-hint">1 = lowest, 5 = highest</p>`,
			`<input type="radio" name="q_speed" value="5">`,
			`<label for="q_improve">One thing we could do better?</label>`,
			`<input type="text" id="q_improve" name="q_improve" value="" maxlength="200">`,
		} {
			if !strings.Contains(page.body, want) {
				t.Errorf("the follow-up page lacks %s", want)
			}
		}
		if page.status != 200 || strings.Contains(page.body, "q_topics") {
			t.Fatalf("the QR code's follow-up page: %d, or it asks the web's question\n%s", page.status, page.body)
		}
		// Posted with Submit, then changed: the answers are the last post's.
		form := url.Values{"r": {token(t, followUp)}, "lang": {"en"}, "action": {"submit"},
			"q_found": {"partly"}, "q_speed": {"4"}, "q_improve": {"  More tills  "}, "q_topics": {"food"}}
		if r := c.post("/s/"+e.link.Code+"/more", form); r.status != http.StatusSeeOther {
			t.Fatalf("follow-up: %d\n%s", r.status, r.body)
		}
		if got := e.answers(id); got != `{"found":["partly"],"improve":["More tills"],"speed":["4"]}` {
			t.Errorf("stored answers %s", got)
		}
		form.Set("q_found", "yes")
		form.Del("q_improve")
		if r := c.post("/s/"+e.link.Code+"/more", form); r.status != http.StatusSeeOther {
			t.Fatalf("second follow-up: %d\n%s", r.status, r.body)
		}
		if got := e.answers(id); got != `{"found":["yes"],"speed":["4"]}` {
			t.Errorf("revised answers %s", got)
		}
		if n := e.count(); n != 1 {
			t.Errorf("%d rows, want the one answer", n)
		}

		// A web link at no touchpoint asks the text and the multiple choice only, in the
		// shopper's language, its labels escaped.
		web := e.addLink(storage.NewLink{StoreID: "S042", Channel: "web"})
		wc := e.client(true)
		followUp = wc.score(web, 3, "en")
		page = wc.get(followUp)
		for _, want := range []string{`<legend>What did you shop for? &lt;all&gt;</legend>`, `<p class="hint" id="q_topics-hint">Choose any that apply</p>`,
			`<input type="checkbox" name="q_topics" value="food"><span>Food &amp; drink</span>`, `name="q_improve"`} {
			if !strings.Contains(page.body, want) {
				t.Errorf("the web link's page lacks %s", want)
			}
		}
		if strings.Contains(page.body, "q_found") || strings.Contains(page.body, "q_speed") {
			t.Error("the web link's page asks the QR code's questions")
		}
		form = url.Values{"r": {token(t, followUp)}, "lang": {"en"}, "action": {"submit"}, "q_topics": {"home", "food"}}
		if r := wc.post("/s/"+web.Code+"/more", form); r.status != http.StatusSeeOther {
			t.Fatalf("web follow-up: %d\n%s", r.status, r.body)
		}
		if got := e.answers(answerID(t, followUp)); got != `{"topics":["home","food"]}` {
			t.Errorf("web answers %s", got)
		}
		es := e.client(true)
		page = es.get(es.score(e.link, 5, "es"))
		for _, want := range []string{"¿Encontró todo lo que buscaba?", ">En parte<", "¿Qué podríamos mejorar?"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("the Spanish page lacks %s", want)
			}
		}
	})
}

// Answers are optional, Skip keeps none, and answers no page of ours sends are
// refused, leaving the stored answer as it was; a text over the limit comes back as the
// form, with what was given and why.
func TestFollowUpAnswersRefused(t *testing.T) {
	e := start(t, collectortest.SQLite, websurvey.Config{ClientBurst: 1000, LinkBurst: 1000})
	e.setQuestions(questionSet...)
	c := e.client(true)
	followUp := c.score(e.link, 8, "en")
	tok, id := token(t, followUp), answerID(t, followUp)
	post := func(form url.Values) reply {
		form.Set("r", tok)
		form.Set("lang", "en")
		if form.Get("action") == "" {
			form.Set("action", "submit")
		}
		return c.post("/s/"+e.link.Code+"/more", form)
	}
	tests := []struct {
		name string
		form url.Values
		want string
	}{
		{"two options of a single choice", url.Values{"q_found": {"yes", "no"}}, "could not be read"},
		{"an option the question does not have", url.Values{"q_found": {"maybe"}}, "could not be read"},
		{"a rating of 6", url.Values{"q_speed": {"6"}}, "could not be read"},
		{"two ratings", url.Values{"q_speed": {"2", "3"}}, "could not be read"},
		{"a text not UTF-8", url.Values{"q_improve": {"bad \xff"}}, "could not be read"},
		{"a text too long", url.Values{"q_improve": {strings.Repeat("é", response.MaxAnswerTextRunes+1)}, "q_found": {"no"}},
			"An answer is too long: at most 200 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(tt.form)
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, tt.want) {
				t.Errorf("%d, want 400 with %q\n%s", r.status, tt.want, r.body)
			}
			if got := e.answers(id); got != "" {
				t.Errorf("the refused follow-up stored answers %s", got)
			}
		})
	}
	// The long text's form keeps what was given.
	r := post(url.Values{"q_improve": {strings.Repeat("é", response.MaxAnswerTextRunes+1)}, "q_found": {"no"}, "q_speed": {"2"}})
	if !strings.Contains(r.body, `value="no" checked>`) || !strings.Contains(r.body, `name="q_speed" value="2" checked>`) ||
		!strings.Contains(r.body, `value="`+strings.Repeat("é", response.MaxAnswerTextRunes+1)+`"`) {
		t.Errorf("the refused form lost the answers given:\n%s", r.body)
	}
	// Unanswered questions and a text of spaces are no answers; Skip keeps none.
	if r := post(url.Values{"q_improve": {"   "}}); r.status != http.StatusSeeOther || e.answers(id) != "" {
		t.Errorf("nothing answered: %d, stored %q", r.status, e.answers(id))
	}
	if r := post(url.Values{"action": {"skip"}, "q_found": {"yes"}}); r.status != http.StatusSeeOther || e.answers(id) != "" {
		t.Errorf("skip: %d, stored %q", r.status, e.answers(id))
	}
}
