package assets

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/response"
)

func TestDefaultSurveyIsValid(t *testing.T) {
	s, err := DefaultSurvey()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Reasons {
		for _, lang := range s.Languages {
			if r.Labels[lang] == "" {
				t.Errorf("reason %s has no %s label", r.Key, lang)
			}
		}
	}
	msgs, err := Translations()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range s.Languages {
		if _, ok := msgs[lang]; !ok {
			t.Errorf("survey offers %s but there is no translation file", lang)
		}
	}
	if len(Icon()) == 0 {
		t.Error("icon missing")
	}
}

func TestParseSurveyRejectsUnknownKeys(t *testing.T) {
	_, err := ParseSurvey([]byte("version = 1\nlanguages = [\"en\"]\nidle_timeout_seconds = 30\nthank_you_seconds = 4\nidle_timout = 5\n"))
	if err == nil || !strings.Contains(err.Error(), "idle_timout") {
		t.Fatalf("ParseSurvey with a misspelt key: %v", err)
	}
}

// The extra questions commented out at the end of the default survey are the example
// the operations guide points to: uncommented, they parse strictly ([[questions]] with
// [[questions.options]]) and pass the survey's rules.
func TestSurveyQuestionsExampleParses(t *testing.T) {
	b, err := files.ReadFile("survey.toml")
	if err != nil {
		t.Fatal(err)
	}
	head, example, ok := strings.Cut(string(b), "\n# [[questions]]\n")
	if !ok {
		t.Fatal("survey.toml has no commented-out [[questions]] example")
	}
	var lines []string
	for _, line := range strings.Split("# [[questions]]\n"+example, "\n") {
		if line != "" && line != "#" && !strings.HasPrefix(line, "# ") {
			t.Fatalf("the example has a line that is not commented out: %q", line)
		}
		lines = append(lines, strings.TrimPrefix(strings.TrimPrefix(line, "#"), " "))
	}
	s, err := ParseSurvey([]byte(head + "\n" + strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, q := range s.Questions {
		kinds[q.Key] = q.Kind
		for _, lang := range s.Languages {
			if q.Labels[lang] == "" {
				t.Errorf("question %s has no %s label", q.Key, lang)
			}
			for _, o := range q.Options {
				if o.Labels[lang] == "" {
					t.Errorf("question %s, option %s has no %s label", q.Key, o.Key, lang)
				}
			}
		}
	}
	want := map[string]string{"found": "single", "delivery_speed": "rating", "shopped_for": "multi", "improve": "text"}
	if len(kinds) != len(want) {
		t.Fatalf("questions %v, want %v", kinds, want)
	}
	for k, v := range want {
		if kinds[k] != v {
			t.Errorf("question %s is %q, want %q", k, kinds[k], v)
		}
	}
	if got := s.QuestionsFor("kiosk", ""); len(got) != 2 || got[0].Key != "found" || len(got[0].Options) != 3 {
		t.Errorf("a kiosk is asked %+v", got)
	}
	if got := s.QuestionsFor("web", "delivery"); len(got) != 3 {
		t.Errorf("the web's delivery touchpoint is asked %d questions, want 3", len(got))
	}
	// Strict: a misspelt setting inside a question's option is an error, with its line.
	bad := strings.Replace(strings.Join(lines, "\n"), `key = "partly"`, `kee = "partly"`, 1)
	if _, err := ParseSurvey([]byte(head + "\n" + bad)); err == nil || !strings.Contains(err.Error(), "questions.options.kee") {
		t.Errorf("a misspelt option key: %v", err)
	}
}

// A chain's own [[themes]] in its survey replace the default themes; a broken one is
// refused with the theme named, and a survey without any uses the defaults.
func TestSurveyThemes(t *testing.T) {
	base := "version = 1\nlanguages = [\"en\", \"de\"]\nidle_timeout_seconds = 30\nthank_you_seconds = 4\n"
	s, err := ParseSurvey([]byte(base + `
[[themes]]
key = "bakery"
labels = { en = "Bakery", de = "Bäckerei" }
terms.en = { keywords = ["bread", "croissant"], stems = ["bake"] }
terms.de = { keywords = ["brot", "brötchen"] }
`))
	if err != nil {
		t.Fatal(err)
	}
	if tax := s.Taxonomy(); len(tax.Themes) != 1 || tax.Themes[0].Key != "bakery" {
		t.Fatalf("taxonomy %+v, want the chain's one theme", tax)
	}
	plain, err := ParseSurvey([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plain.Taxonomy().Lookup("wait_time"); !ok {
		t.Error("a survey without themes does not fall back to the defaults")
	}
	_, err = ParseSurvey([]byte(base + "[[themes]]\nkey = \"Bad Key\"\nterms.en = { keywords = [\"x\"] }\n"))
	if err == nil || !strings.Contains(err.Error(), "themes") || !strings.Contains(err.Error(), "Bad Key") {
		t.Fatalf("a theme with a bad key: %v", err)
	}
}

// Every text of the kiosk is in every language it speaks, with the same placeholders:
// a missing one would show English to a Spanish-speaking manager, a lost {n} a wrong
// sentence.
func TestTranslationsAreComplete(t *testing.T) {
	all, err := Translations()
	if err != nil {
		t.Fatal(err)
	}
	placeholders := regexp.MustCompile(`\{[a-z_]+\}`)
	en := all["en"]
	for lang, texts := range all {
		for key, want := range en {
			got, ok := texts[key]
			if !ok {
				t.Errorf("%s has no %q", lang, key)
				continue
			}
			w, g := placeholders.FindAllString(want, -1), placeholders.FindAllString(got, -1)
			slices.Sort(w)
			slices.Sort(g)
			if !slices.Equal(w, g) {
				t.Errorf("%s %q has the placeholders %v, English %v", lang, key, g, w)
			}
		}
		for key := range texts {
			if _, ok := en[key]; !ok {
				t.Errorf("%s has %q, which English does not", lang, key)
			}
		}
	}
}

func TestParseSurveyPrivacy(t *testing.T) {
	base, err := files.ReadFile("survey.toml")
	if err != nil {
		t.Fatal(err)
	}
	good := string(base) + "\n[[privacy.mask]]\nname = \"loyalty\"\npattern = '\\bLC\\d{10}\\b'\n"
	s, err := ParseSurvey([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Privacy.Mask) != 1 || s.Privacy.Mask[0].Name != "loyalty" || s.Privacy.Mask[0].Pattern != `\bLC\d{10}\b` {
		t.Fatalf("privacy = %+v", s.Privacy)
	}
	m, err := s.Masking()
	if err != nil {
		t.Fatal(err)
	}
	f := response.FollowUp{Comment: "points missing on LC1234567890"}
	m.FollowUp(&f)
	if f.Comment != "points missing on [loyalty]" {
		t.Errorf("masked comment %q", f.Comment)
	}
	bad := string(base) + "\n[[privacy.mask]]\nname = \"loyalty\"\npattern = 'LC(\\d{10}'\n"
	_, err = ParseSurvey([]byte(bad))
	if err == nil || !strings.Contains(err.Error(), `invalid survey: privacy.mask: pattern "loyalty": error parsing regexp: missing closing )`) {
		t.Errorf("a bad pattern: %v", err)
	}
}
