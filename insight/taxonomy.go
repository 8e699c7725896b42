package insight

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

var languages = []string{"en", "es", "fr", "de"}

// Languages are the languages the kiosk speaks, and so the languages of a taxonomy's
// labels and terms and of the sentiment lexicons: a copy, the package's own list is not
// to be changed.
func Languages() []string { return slices.Clone(languages) }

// Terms are the words that tag a theme in one language. All of them are matched after
// folding (lowercase, accents dropped), whole words only.
type Terms struct {
	// Keywords match a word as it stands: "queue".
	Keywords []string `toml:"keywords,omitempty" json:"keywords,omitempty"`
	// Phrases match consecutive words: "out of stock".
	Phrases []string `toml:"phrases,omitempty" json:"phrases,omitempty"`
	// Stems match the start of a word, at least three letters: "friendl" matches friendly
	// and friendliness.
	Stems []string `toml:"stems,omitempty" json:"stems,omitempty"`
	// Suffixes match the end of a word, at least four letters, for compounds: "parkplatz"
	// matches Behindertenparkplatz.
	Suffixes []string `toml:"suffixes,omitempty" json:"suffixes,omitempty"`
}

func (t Terms) count() int {
	return len(t.Keywords) + len(t.Phrases) + len(t.Stems) + len(t.Suffixes)
}

// Theme is one topic shoppers write about.
type Theme struct {
	// Key is what reports count; a theme whose topic is a survey reason has the reason's
	// key, so the reason a shopper picked counts as the theme.
	Key string `toml:"key" json:"key"`
	// Labels name the theme per language.
	Labels map[string]string `toml:"labels,omitempty" json:"labels,omitempty"`
	// Terms tag the theme, per language.
	Terms map[string]Terms `toml:"terms" json:"terms"`
}

// Taxonomy is a chain's set of themes: the [[themes]] tables of its survey config.
type Taxonomy struct {
	Themes []Theme `toml:"themes" json:"themes"`
}

//go:embed default_themes.toml
var defaultThemes []byte

// DefaultTaxonomy returns the themes every chain starts with, a fresh copy each call.
func DefaultTaxonomy() Taxonomy {
	t, err := ParseTaxonomy(defaultThemes)
	if err != nil {
		// The file is embedded and tested; reaching this is a build defect.
		panic("insight: default_themes.toml: " + err.Error())
	}
	return t
}

// ParseTaxonomy reads a taxonomy from TOML ([[themes]] tables), refusing unknown keys so
// that a misspelt setting is reported rather than ignored, and validates it.
func ParseTaxonomy(b []byte) (Taxonomy, error) {
	var t Taxonomy
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		var missing *toml.StrictMissingError
		if errors.As(err, &missing) {
			return Taxonomy{}, errors.New(missing.String())
		}
		return Taxonomy{}, err
	}
	return t, t.Validate()
}

// Lookup returns the theme with the key.
func (t Taxonomy) Lookup(key string) (Theme, bool) {
	for _, th := range t.Themes {
		if th.Key == key {
			return th, true
		}
	}
	return Theme{}, false
}

// MaxKeyLen is the longest theme key; it is the longest survey reason key too, so every
// theme key could also be a reason's.
const MaxKeyLen = 64

// validKey: a lowercase letter, then lowercase letters, digits and underscores. This is
// the reason key format (response.Survey) with a letter first, so a reason key and a
// theme key compare as they are.
func validKey(k string) bool {
	if k == "" || len(k) > MaxKeyLen || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func knownLanguage(l string) bool {
	for _, k := range languages {
		if k == l {
			return true
		}
	}
	return false
}

// Validate reports every problem in the taxonomy at once, each naming the theme and the
// term, so that a chain editing its config can fix them in one go.
func (t Taxonomy) Validate() error {
	var errs []error
	seen := make(map[string]bool, len(t.Themes))
	for i, th := range t.Themes {
		where := fmt.Sprintf("theme %d (%q)", i+1, th.Key)
		switch {
		case !validKey(th.Key):
			errs = append(errs, fmt.Errorf("%s: key must be 1 to %d of a-z, 0-9 and _, starting with a letter", where, MaxKeyLen))
		case seen[th.Key]:
			errs = append(errs, fmt.Errorf("%s: key used twice", where))
		}
		seen[th.Key] = true
		for lang, label := range th.Labels {
			if !knownLanguage(lang) {
				errs = append(errs, fmt.Errorf("%s: label in unknown language %q (known: %s)", where, lang, strings.Join(languages, ", ")))
			}
			if strings.TrimSpace(label) == "" {
				errs = append(errs, fmt.Errorf("%s: empty %s label", where, lang))
			}
		}
		n := 0
		for lang, terms := range th.Terms {
			if !knownLanguage(lang) {
				errs = append(errs, fmt.Errorf("%s: terms in unknown language %q (known: %s)", where, lang, strings.Join(languages, ", ")))
			}
			n += terms.count()
			errs = append(errs, checkTerms(where+" "+lang, terms)...)
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("%s: no terms: give at least one keyword, phrase, stem or suffix", where))
		}
	}
	return errors.Join(errs...)
}

func checkTerms(where string, t Terms) []error {
	var errs []error
	check := func(kind string, list []string, minWords, maxWords, minLetters int) {
		for _, term := range list {
			words := strings.Fields(fold(term))
			switch {
			case strings.TrimSpace(term) == "":
				errs = append(errs, fmt.Errorf("%s: empty %s", where, kind))
			case len(words) < minWords || len(words) > maxWords:
				if maxWords == 1 {
					errs = append(errs, fmt.Errorf("%s: %s %q must be one word (use phrases for several)", where, kind, term))
				} else {
					errs = append(errs, fmt.Errorf("%s: %s %q must be at least two words (use keywords for one)", where, kind, term))
				}
			case maxWords == 1 && len([]rune(words[0])) < minLetters:
				errs = append(errs, fmt.Errorf("%s: %s %q must have at least %d letters", where, kind, term, minLetters))
			}
		}
	}
	check("keyword", t.Keywords, 1, 1, 1)
	check("phrase", t.Phrases, 2, 1<<30, 1)
	check("stem", t.Stems, 1, 1, minStem)
	check("suffix", t.Suffixes, 1, 1, minSuffix)
	return errs
}

const (
	minStem   = 3
	minSuffix = 4
)
