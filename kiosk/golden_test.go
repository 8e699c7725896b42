package kiosk

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/simulate"
)

// TestScreensMatchGoldenMarkup renders every screen, in both orientations, and compares
// it with the markup under testdata/. After a deliberate change, review the files Fyne
// writes to testdata/failed/ and copy them over.
func TestScreensMatchGoldenMarkup(t *testing.T) {
	screens := []struct {
		name string
		do   func(h *harness)
	}{
		{"rating", func(h *harness) {}},
		{"rating_es", func(h *harness) { test.Tap(h.button("Español")) }},
		{"followup", func(h *harness) {
			test.Tap(h.button("4"))
			test.Tap(h.button("Waiting time"))
		}},
		{"change_score", func(h *harness) {
			test.Tap(h.button("4"))
			test.Tap(h.button("Change score"))
		}},
		{"keyboard", func(h *harness) {
			test.Tap(h.button("4"))
			h.tapField("Add a comment (optional)")
			h.typeOnKeyboard("too slow")
		}},
		{"still_there", func(h *harness) {
			test.Tap(h.button("4"))
			h.clock.Advance(26e9)
		}},
		{"thanks", func(h *harness) {
			test.Tap(h.button("9"))
			test.Tap(h.button("Submit"))
		}},
		{"thanks_qr", func(h *harness) {
			h.app.survey.ThankYouLink = "https://nps.example.com/s/abcd2345"
			test.Tap(h.button("9"))
			test.Tap(h.button("Submit"))
		}},
		{"extra_questions", func(h *harness) {
			withKioskQuestions(&h.app.survey)
			test.Tap(h.button("4"))
			test.Tap(h.button("Next"))
			test.Tap(h.button("Partly"))
			test.Tap(h.button("3"))
			h.tapField("Type your answer (optional)")
			h.typeOnKeyboard("more tills")
			test.Tap(h.button("Done"))
		}},
		{"extra_question_inline", func(h *harness) {
			withOneKioskQuestion(&h.app.survey)
			test.Tap(h.button("9"))
			if h.showing("Next") { // landscape: the form, with Next to the question
				return
			}
			test.Tap(h.button("Gifts"))
		}},
		{"out_of_service", func(h *harness) { h.fillable(true) }},
		{"pin", func(h *harness) { openPIN(h) }},
		{"exit_confirm", func(h *harness) {
			openPIN(h)
			enterPIN(h, "2468")
			test.Tap(h.button("Exit kiosk"))
		}},
		{"manager", func(h *harness) {
			survey, _ := assets.DefaultSurvey()
			for _, r := range simulate.Responses(rand.New(rand.NewPCG(7, 7)), 300, 30, testNow, survey) {
				if err := h.db.Insert(context.Background(), r); err != nil {
					t.Fatal(err)
				}
			}
			openPIN(h)
			enterPIN(h, "2468")
		}},
	}
	for _, size := range []fyne.Size{landscape, fyne.NewSize(800, 1280)} {
		for _, sc := range screens {
			name := sc.name + "_" + strings.ReplaceAll(sizeString(size), " ", "")
			t.Run(name, func(t *testing.T) {
				h := newHarness(t, size)
				sc.do(h)
				test.AssertRendersToMarkup(t, name+".xml", h.win.Canvas())
			})
		}
	}
}

func sizeString(s fyne.Size) string {
	return itoa(int64(s.Width)) + "x" + itoa(int64(s.Height))
}

func TestEveryTextIsTranslated(t *testing.T) {
	msgs, err := assets.Translations()
	if err != nil {
		t.Fatal(err)
	}
	c := NewCatalog(msgs, "en")
	for _, lang := range []string{"es", "fr", "de"} {
		for _, key := range c.Keys("en") {
			if !c.Has(lang, key) {
				t.Errorf("%s has no translation of %q", lang, key)
			}
		}
		for _, key := range c.Keys(lang) {
			if !c.Has("en", key) {
				t.Errorf("%s has %q, which English does not", lang, key)
			}
		}
	}
	if got := c.T("fr", "rating.question", "store", "Rue"); got != "Quelle est la probabilité que vous recommandiez Rue à un ami ou un proche ?" {
		t.Errorf("T = %q", got)
	}
	partial := NewCatalog(map[string]map[string]string{"en": {"manager.title": "Store dashboard"}, "de": {}}, "en")
	if got := partial.T("de", "manager.title"); got != "Store dashboard" {
		t.Errorf("fallback to English: %q", got)
	}
}
