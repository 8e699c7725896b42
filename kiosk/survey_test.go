package kiosk

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"fyne.io/fyne/v2/test"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/nps"
)

// defaultReasonSets are the reason keys each sentiment is offered by the default survey,
// in the order shown.
var defaultReasonSets = map[nps.Category][]string{
	nps.Detractor: {"staff", "product_quality", "price", "choice", "wait_time", "out_of_stock", "cleanliness"},
	nps.Passive:   {"staff", "product_quality", "price", "choice", "checkout_speed", "wait_time", "out_of_stock", "cleanliness"},
	nps.Promoter:  {"staff", "product_quality", "price", "choice", "checkout_speed", "cleanliness"},
}

// Words that pass a verdict. A reason label is a topic; the score gives the sentiment,
// so none of these may appear in a label a shopper of any category sees. Stems match
// the start of a word, words match whole words.
var (
	verdictStems = []string{
		"friendl", "unfriendl", "rude", "helpful", "great", "excellent", "fast", "quick", "slow", "cheap",
		"expensive", "dirty", "missing", "poor",
		"amable", "rápid", "lent", "agotad", "caro", "barat", "sucio", "buen", "mal",
		"aimable", "rapid", "rupture", "cher", "mauvais", "sale",
		"freundlich", "schnell", "langsam", "teuer", "günstig", "schlecht", "schmutzig", "vergriffen",
	}
	verdictWords = []string{
		"good", "bad", "long", "short", "high", "low", "clean", "out", "nice",
		"limpio", "largo", "bon", "bonne", "long", "propre",
		"gut", "nicht", "sauber", "lang",
	}
)

func passesVerdict(label string) (string, bool) {
	words := strings.FieldsFunc(strings.ToLower(label), func(r rune) bool { return !unicode.IsLetter(r) })
	for _, w := range words {
		if slices.Contains(verdictWords, w) {
			return w, true
		}
		for _, stem := range verdictStems {
			if strings.HasPrefix(w, stem) {
				return w, true
			}
		}
	}
	return "", false
}

func TestDefaultSurveyReasonSets(t *testing.T) {
	survey, err := assets.DefaultSurvey()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []nps.Category{nps.Detractor, nps.Passive, nps.Promoter} {
		t.Run(c.String(), func(t *testing.T) {
			var keys []string
			for _, r := range survey.ReasonsFor(c) {
				keys = append(keys, r.Key)
				for _, lang := range survey.Languages {
					if w, ok := passesVerdict(r.Labels[lang]); ok {
						t.Errorf("reason %s in %s is %q: %q passes a verdict; name the topic only", r.Key, lang, r.Labels[lang], w)
					}
				}
			}
			if want := defaultReasonSets[c]; !slices.Equal(keys, want) {
				t.Errorf("ReasonsFor(%s) = %v, want %v", c, keys, want)
			}
		})
	}
}

// The follow-up offers exactly the reason set of the score's category.
func TestFollowUpOffersTheCategorysReasons(t *testing.T) {
	survey, err := assets.DefaultSurvey()
	if err != nil {
		t.Fatal(err)
	}
	for _, score := range []string{"0", "3", "6", "7", "8", "9", "10"} {
		t.Run(score, func(t *testing.T) {
			h := newHarness(t, landscape)
			test.Tap(h.button(score))
			var shown []string
			for _, o := range objects(h.win.Content()) {
				if chip, ok := o.(*toggle); ok && chip.text != h.app.t("followup.consent") {
					shown = append(shown, chip.text)
				}
			}
			var want []string
			for _, key := range defaultReasonSets[nps.Score(atoi(score)).Category()] {
				for _, r := range survey.Reasons {
					if r.Key == key {
						want = append(want, r.Labels["en"])
					}
				}
			}
			if !slices.Equal(shown, want) {
				t.Errorf("after a %s the chips are %q, want %q", score, shown, want)
			}
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}
