package insight

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

func newDefault(t testing.TB) *Analyzer {
	t.Helper()
	a, err := NewAnalyzer(DefaultTaxonomy())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestFold(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Café CRÈME", "cafe creme"},
		{"Größe", "grosse"},
		{"Œufs, Æble", "oeufs aeble"},
		{"niño  —  ¡Sí!", "nino si"},
		{"e\u0301te\u0301", "ete"}, // accents typed as combining marks
		{"self-checkout", "self checkout"},
		{"  ", ""},
	} {
		if got := fold(c.in); got != c.want {
			t.Errorf("fold(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := foldWith("Übersicht Größe", true); got != "uebersicht groesse" {
		t.Errorf("umlauts as e: %q", got)
	}
}

func TestTokenize(t *testing.T) {
	texts := func(toks []token) (out []string) {
		for _, t := range toks {
			out = append(out, t.text)
		}
		return out
	}
	for _, c := range []struct {
		in      string
		want    []string
		clauses int
	}{
		{"Didn't like it", []string{"didn", "not", "like", "it"}, 1},
		{"n'était pas", []string{"n", "etait", "pas"}, 1},
		{"Great 👍👍", []string{"great", "👍", "👍"}, 1},
		{"❤️", []string{"❤"}, 1},
		{"👍🏽", []string{"👍"}, 1},
		{"Nice staff, but slow. Sad", []string{"nice", "staff", "but", "slow", "sad"}, 4},
		{"10/10", []string{"10", "10"}, 1},
		{"", nil, 0},
		{"...", nil, 0},
	} {
		_, toks := tokenize(c.in, nil, nil)
		if got := texts(toks); !slices.Equal(got, c.want) {
			t.Errorf("tokenize(%q) = %q, want %q", c.in, got, c.want)
		}
		if n := 0; len(toks) > 0 {
			n = toks[len(toks)-1].clause + 1
			if n != c.clauses {
				t.Errorf("tokenize(%q): %d clauses, want %d", c.in, n, c.clauses)
			}
		}
	}
}

func TestLanguage(t *testing.T) {
	for in, want := range map[string]string{"de-AT": "de", "es_MX": "es", "FR": "fr", "en": "en", "pt-BR": "", "": ""} {
		if got := Language(in); got != want {
			t.Errorf("Language(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSentiment(t *testing.T) {
	a := newDefault(t)
	for _, c := range []struct {
		text, locale string
		want         Sentiment
	}{
		{"The staff were friendly", "en", Positive},
		{"The staff were not friendly", "en", Negative},
		{"Staff weren't helpful", "en-GB", Negative},
		{"Not bad at all", "en", Positive},
		{"nicht freundlich", "de", Negative},
		{"sehr freundlich", "de-AT", Positive},
		{"pas aimable", "fr", Negative},
		{"personnel aimable", "fr-CA", Positive},
		{"no amable", "es", Negative},
		{"muy amable", "es-MX", Positive},
		{"pas terrible", "fr", Negative}, // a phrase, not "terrible" negated
		{"No queue at all", "en", Positive},
		{"Too early", "en", Negative},
		{"😡👎", "en", Negative},
		{"😀👍❤️", "de", Positive},
		{"🤷", "fr", Neutral},
		{"", "en", Neutral},
		{"   ", "en", Neutral},
		{"n/a", "en", Neutral},
		{"10/10", "es", Positive},
		{"Staff was lovely, gracias", "en", Positive},
		{"Das Personal war super, the staff was great", "de", Positive},
		{"Good. But the queue, the prices, the mess: terrible, awful.", "en", Negative},
	} {
		got := a.Analyze(c.text, c.locale)
		if got.Sentiment != c.want {
			t.Errorf("%q (%s): %v (%.2f), want %v", c.text, c.locale, got.Sentiment, got.Score, c.want)
		}
		if got.Score < -1 || got.Score > 1 {
			t.Errorf("%q: score %v outside [-1, 1]", c.text, got.Score)
		}
	}
}

func TestThemes(t *testing.T) {
	a := newDefault(t)
	for _, c := range []struct {
		text, locale string
		want         []string
	}{
		{"The staff were not friendly", "en", []string{"staff"}},
		{"freindly staff", "en", []string{"staff"}},       // transposition
		{"Personel très gentil", "fr", []string{"staff"}}, // a letter dropped
		{"everything was overpriced", "en", []string{"price"}},
		{"Out of stock again", "en", []string{"out_of_stock"}},
		{"Die Öffnungszeiten", "de", []string{"opening_hours"}},
		{"Die Oeffnungszeiten", "de", []string{"opening_hours"}}, // umlaut typed as oe
		{"Kein Behindertenparkplatz", "de", []string{"parking"}}, // suffix of a compound
		{"Queue was long and the checkout slow", "en", []string{"checkout_speed", "wait_time"}},
		{"La cola, the queue, die Schlange", "en", []string{"wait_time"}}, // each theme once
		{"la cola era larga", "en", []string{"wait_time"}},                // another language's term
		{"Nice day", "en", nil},
		{"🙂", "en", nil},
		{"", "en", nil},
	} {
		got := a.Analyze(c.text, c.locale)
		if !slices.Equal(got.Themes, c.want) {
			t.Errorf("%q (%s): themes %q, want %q", c.text, c.locale, got.Themes, c.want)
		}
		if len(got.Mentions) != len(got.Themes) {
			t.Errorf("%q: %d mentions for %d themes", c.text, len(got.Mentions), len(got.Themes))
		}
	}
}

func TestMentionPolarity(t *testing.T) {
	a := newDefault(t)
	got := a.Analyze("Friendly staff, but the toilets were filthy.", "en")
	want := map[string]Sentiment{"staff": Positive, "cleanliness": Negative}
	for _, m := range got.Mentions {
		if w, ok := want[m.Theme]; !ok || m.Sentiment != w {
			t.Errorf("mention %+v, want %v", m, want[m.Theme])
		}
	}
	if len(got.Mentions) != 2 {
		t.Errorf("mentions %+v", got.Mentions)
	}
}

func TestTyposCanBeOff(t *testing.T) {
	a, err := newAnalyzer(DefaultTaxonomy(), config{typos: false, crossLang: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Analyze("freindly", "en").Themes; got != nil {
		t.Errorf("typo matched with typos off: %q", got)
	}
}

func TestWithinOneEdit(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"friendly", "friendly", true},
		{"freindly", "friendly", true},
		{"friendy", "friendly", true},
		{"friendlly", "friendly", true},
		{"frienfly", "friendly", true},
		{"fiendlly", "friendly", false},
		{"abc", "abcde", false},
		{"", "a", true},
	} {
		if got := withinOneEdit(c.a, c.b); got != c.want {
			t.Errorf("withinOneEdit(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestWorthALook(t *testing.T) {
	a := newDefault(t)
	angry := a.Analyze("Rude staff and a filthy store, terrible", "en")
	happy := a.Analyze("Wonderful staff, great prices, thank you!", "en")
	meh := a.Analyze("ok", "en")
	for _, c := range []struct {
		score int
		a     Analysis
		want  bool
	}{
		{10, angry, true}, {9, angry, true}, {8, angry, false}, {0, angry, false},
		{0, happy, true}, {6, happy, true}, {7, happy, false}, {10, happy, false},
		{10, meh, false}, {0, meh, false},
	} {
		if got := WorthALook(c.score, c.a); got != c.want {
			t.Errorf("WorthALook(%d, score %.2f) = %v", c.score, c.a.Score, got)
		}
	}
}

func TestThemesWithReasons(t *testing.T) {
	tax := DefaultTaxonomy()
	got := ThemesWithReasons(Analysis{Themes: []string{"staff", "wait_time"}}, []string{"price", "staff", "not_a_theme"}, tax)
	if want := []string{"price", "staff", "wait_time"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// The default survey's reasons are themes under the same keys, so a picked reason
// counts as its theme.
func TestDefaultsCoverSurveyReasons(t *testing.T) {
	b, err := os.ReadFile("../assets/survey.toml")
	if err != nil {
		t.Fatal(err)
	}
	var survey struct {
		Reasons []struct{ Key string } `toml:"reasons"`
	}
	if err := toml.Unmarshal(b, &survey); err != nil {
		t.Fatal(err)
	}
	tax := DefaultTaxonomy()
	if len(survey.Reasons) == 0 {
		t.Fatal("no reasons in the default survey")
	}
	for _, r := range survey.Reasons {
		if _, ok := tax.Lookup(r.Key); !ok {
			t.Errorf("reason %q is not a default theme", r.Key)
		}
	}
	for _, th := range tax.Themes {
		for _, lang := range languages {
			if th.Labels[lang] == "" || th.Terms[lang].count() == 0 {
				t.Errorf("default theme %q has no %s label or terms", th.Key, lang)
			}
		}
	}
}

func TestTaxonomyRoundTrip(t *testing.T) {
	tax := DefaultTaxonomy()
	b, err := toml.Marshal(tax)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseTaxonomy(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, tax) {
		t.Error("TOML round trip changed the default taxonomy")
	}
	j, err := json.Marshal(tax)
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON Taxonomy
	if err := json.Unmarshal(j, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, tax) {
		t.Error("JSON round trip changed the default taxonomy")
	}
	if !strings.Contains(string(j), `"keywords"`) || !strings.Contains(string(b), "[[themes]]") {
		t.Errorf("unexpected field names: %.200s", j)
	}
}

func TestValidate(t *testing.T) {
	ok := Terms{Keywords: []string{"queue"}}
	for _, c := range []struct {
		name  string
		theme Theme
		want  string // in the error; "" for valid
	}{
		{"valid", Theme{Key: "wait_time", Terms: map[string]Terms{"en": ok}}, ""},
		{"empty key", Theme{Terms: map[string]Terms{"en": ok}}, "key must be"},
		{"upper case", Theme{Key: "Wait", Terms: map[string]Terms{"en": ok}}, "key must be"},
		{"digit first", Theme{Key: "1st", Terms: map[string]Terms{"en": ok}}, "key must be"},
		{"hyphen", Theme{Key: "wait-time", Terms: map[string]Terms{"en": ok}}, "key must be"},
		{"too long", Theme{Key: strings.Repeat("a", 65), Terms: map[string]Terms{"en": ok}}, "key must be"},
		{"no terms", Theme{Key: "x", Terms: map[string]Terms{"en": {}}}, "no terms"},
		{"nil terms", Theme{Key: "x"}, "no terms"},
		{"unknown language", Theme{Key: "x", Terms: map[string]Terms{"it": ok}}, `unknown language "it"`},
		{"unknown label language", Theme{Key: "x", Labels: map[string]string{"pt": "Fila"}, Terms: map[string]Terms{"en": ok}}, `unknown language "pt"`},
		{"empty label", Theme{Key: "x", Labels: map[string]string{"en": " "}, Terms: map[string]Terms{"en": ok}}, "empty en label"},
		{"empty keyword", Theme{Key: "x", Terms: map[string]Terms{"en": {Keywords: []string{" "}}}}, "empty keyword"},
		{"two-word keyword", Theme{Key: "x", Terms: map[string]Terms{"en": {Keywords: []string{"car park"}}}}, "must be one word"},
		{"one-word phrase", Theme{Key: "x", Terms: map[string]Terms{"en": {Phrases: []string{"park"}}}}, "at least two words"},
		{"short stem", Theme{Key: "x", Terms: map[string]Terms{"en": {Stems: []string{"pa"}}}}, "at least 3 letters"},
		{"short suffix", Theme{Key: "x", Terms: map[string]Terms{"de": {Suffixes: []string{"tz"}}}}, "at least 4 letters"},
		{"punctuation only", Theme{Key: "x", Terms: map[string]Terms{"en": {Keywords: []string{"!!"}}}}, "must be one word"},
	} {
		err := Taxonomy{Themes: []Theme{c.theme}}.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one with %q", c.name, err, c.want)
		}
	}
	dup := Taxonomy{Themes: []Theme{{Key: "x", Terms: map[string]Terms{"en": ok}}, {Key: "x", Terms: map[string]Terms{"en": ok}}}}
	if err := dup.Validate(); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Errorf("duplicate key: %v", err)
	}
	if _, err := NewAnalyzer(dup); err == nil {
		t.Error("NewAnalyzer accepted an invalid taxonomy")
	}
}

func TestParseTaxonomyStrict(t *testing.T) {
	_, err := ParseTaxonomy([]byte("[[themes]]\nkey = \"x\"\n[themes.terms.en]\nkeyword = [\"a\"]\n"))
	if err == nil || !strings.Contains(err.Error(), "keyword") {
		t.Errorf("misspelt setting: %v", err)
	}
}

func TestSentimentText(t *testing.T) {
	for _, s := range []Sentiment{Negative, Neutral, Positive} {
		b, _ := s.MarshalText()
		var back Sentiment
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%v: %v %v", s, back, err)
		}
	}
	var s Sentiment
	if err := s.UnmarshalText([]byte("angry")); err == nil {
		t.Error("accepted angry")
	}
}

// One Analyzer serves every goroutine of the collector's ingest (go test -race).
func TestConcurrentAnalyze(t *testing.T) {
	a := newDefault(t)
	want := a.Analyze("Rude staff, long queue 😡", "en")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got := a.Analyze("Rude staff, long queue 😡", "en"); !reflect.DeepEqual(got, want) {
					t.Errorf("got %+v", got)
					return
				}
				a.Analyze("Das Personal war sehr freundlich und die Kasse schnell.", "de")
			}
		})
	}
	wg.Wait()
}

func BenchmarkAnalyze(b *testing.B) {
	a := newDefault(b)
	var comments []labelled
	for _, lang := range languages {
		comments = append(comments, loadCorpus(b, lang)...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c := comments[i%len(comments)]
		a.Analyze(c.Text, c.Lang)
	}
}
