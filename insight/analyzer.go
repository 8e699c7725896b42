// Package insight turns a shopper's comment into the themes it talks about and its
// sentiment, locally: a per-chain taxonomy of themes in the kiosk's four languages and a
// sentiment lexicon per language, no network and no I/O.
package insight

import (
	"encoding"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Sentiment is the polarity of a comment or of a theme's mention in it.
type Sentiment int8

const (
	Negative Sentiment = -1
	Neutral  Sentiment = 0
	Positive Sentiment = 1
)

func (s Sentiment) String() string {
	switch s {
	case Negative:
		return "negative"
	case Positive:
		return "positive"
	}
	return "neutral"
}

// MarshalText writes negative, neutral or positive.
func (s Sentiment) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads negative, neutral or positive.
func (s *Sentiment) UnmarshalText(b []byte) error {
	switch string(b) {
	case "negative":
		*s = Negative
	case "neutral":
		*s = Neutral
	case "positive":
		*s = Positive
	default:
		return fmt.Errorf("insight: sentiment %q is not negative, neutral or positive", b)
	}
	return nil
}

var _ encoding.TextUnmarshaler = (*Sentiment)(nil)

// PolarThreshold is how far from 0 a score must be to count as negative or positive.
const PolarThreshold = 0.2

// Mention is the evidence for one theme: the first term that tagged it and how the
// comment speaks of it (the sentiment of the clauses it is mentioned in).
type Mention struct {
	Theme     string    `json:"theme"`
	Term      string    `json:"term"`
	Sentiment Sentiment `json:"sentiment"`
}

// Analysis is what a comment says.
type Analysis struct {
	// Themes are the keys of the themes mentioned, sorted, each once.
	Themes []string `json:"themes"`
	// Mentions are in the order of Themes.
	Mentions  []Mention `json:"mentions,omitempty"`
	Sentiment Sentiment `json:"sentiment"`
	// Score is in [-1, 1]: the sum of the sentiment words' weights s, squashed as
	// s/√(s²+4), so one "good" (2) is 0.71 and a string of praise nears 1.
	Score float64 `json:"score"`
	// Lang is the language the comment was read in first ("" when its locale is not one
	// of Languages: then all count the same).
	Lang string `json:"lang"`
}

// Analyzer tags comments with a taxonomy's themes and scores their sentiment. It is
// immutable once built and safe for concurrent use.
type Analyzer struct {
	themes    []string
	themeIdx  *index
	sentiment *index
	cfg       config
	scratch   sync.Pool
}

// config holds the switches the evaluation measures; NewAnalyzer turns all of them on.
type config struct {
	typos     bool // one-edit matches of long words
	crossLang bool // terms of the other languages too
}

type scratch struct {
	buf     []byte
	toks    []token
	hits    []entry
	clauses []float64
}

// NewAnalyzer builds the lookups for a taxonomy (validated first) and the package's
// sentiment lexicons.
func NewAnalyzer(t Taxonomy) (*Analyzer, error) {
	return newAnalyzer(t, config{typos: true, crossLang: true})
}

func newAnalyzer(t Taxonomy, cfg config) (*Analyzer, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	a := &Analyzer{themeIdx: newIndex(), sentiment: newIndex(), cfg: cfg}
	a.scratch.New = func() any { return new(scratch) }
	for id, th := range t.Themes {
		a.themes = append(a.themes, th.Key)
		for lang, terms := range th.Terms {
			e := entry{id: id, lang: langID(lang)}
			for _, k := range terms.Keywords {
				a.themeIdx.add(kindKeyword, k, e, lang)
			}
			for _, k := range terms.Phrases {
				a.themeIdx.add(kindPhrase, k, e, lang)
			}
			for _, k := range terms.Stems {
				a.themeIdx.add(kindStem, k, e, lang)
			}
			for _, k := range terms.Suffixes {
				a.themeIdx.add(kindSuffix, k, e, lang)
			}
		}
	}
	for lang, words := range lexicon {
		for w, weight := range words {
			e := entry{weight: weight, lang: langID(lang)}
			switch {
			case strings.HasSuffix(w, "*"):
				a.sentiment.add(kindStem, strings.TrimSuffix(w, "*"), e, lang)
			case strings.Contains(w, " "):
				a.sentiment.add(kindPhrase, w, e, lang)
			default:
				a.sentiment.add(kindKeyword, w, e, lang)
			}
		}
	}
	for w, weight := range anyLanguage {
		a.sentiment.add(kindPhrase, w, entry{weight: weight, lang: langAny}, "")
	}
	for w, weight := range emojiWeights {
		e := entry{weight: weight, lang: langAny, term: w}
		a.sentiment.words[w] = append(a.sentiment.words[w], e)
	}
	return a, nil
}

func langID(lang string) int {
	for i, l := range languages {
		if l == lang {
			return i
		}
	}
	return langAny
}

// Language is the language of a BCP 47 locale among Languages ("de-AT" is de), or "".
func Language(locale string) string {
	base, _, _ := strings.Cut(locale, "-")
	base, _, _ = strings.Cut(base, "_")
	base = strings.ToLower(strings.TrimSpace(base))
	if langID(base) == langAny {
		return ""
	}
	return base
}

// Analyze reads a comment written in locale (a BCP 47 tag such as "de-AT"): its own
// language's terms first, the other languages' too, as shoppers mix them.
func (a *Analyzer) Analyze(comment, locale string) Analysis {
	s := a.scratch.Get().(*scratch)
	defer a.scratch.Put(s)
	lang := Language(locale)
	primary := langID(lang)
	res := Analysis{Lang: lang}
	s.buf, s.toks = tokenize(comment, s.buf, s.toks[:0])
	toks := s.toks
	if len(toks) == 0 {
		return res
	}

	// Sentiment, clause by clause so that a theme can take its clauses' polarity.
	nClauses := toks[len(toks)-1].clause + 1
	s.clauses = slices.Grow(s.clauses[:0], nClauses)[:nClauses]
	clear(s.clauses)
	total := 0.0
	for i := 0; i < len(toks); {
		hits, span := a.sentiment.match(toks, i, primary, a.cfg.typos, s.hits[:0])
		s.hits = hits
		if span == 0 {
			if tooWords[toks[i].text] && i+1 < len(toks) && toks[i+1].clause == toks[i].clause &&
				!toks[i+1].emoji && !a.hasSentiment(toks, i+1, primary) {
				w := tooWeight
				if negated(toks, i) {
					w *= negationFactor
				}
				s.clauses[toks[i].clause] += w
				total += w
			}
			i++
			continue
		}
		// An intensifier that is also a word of praise ("super") only intensifies when
		// the next word carries sentiment.
		if intensifiers[toks[i].text] && i+1 < len(toks) && a.hasSentiment(toks, i+1, primary) {
			i++
			continue
		}
		w := 0.0
		for _, h := range hits {
			f := 1.0
			if h.lang != primary && h.lang != langAny {
				if !a.cfg.crossLang {
					continue
				}
				f = otherLanguageFactor
			}
			if math.Abs(h.weight*f) > math.Abs(w) {
				w = h.weight * f
			}
		}
		if i > 0 && intensifiers[toks[i-1].text] && toks[i-1].clause == toks[i].clause {
			w *= intensify
		}
		// "nobody" is negative and a negator; after another negator it stays negative.
		if !negators[toks[i].text] && negated(toks, i) {
			w *= negationFactor
		}
		s.clauses[toks[i].clause] += w
		total += w
		i += span
	}
	res.Score = squash(total)
	res.Sentiment = polarity(res.Score)

	// Themes: every token (or phrase) against the taxonomy.
	type found struct {
		id      int
		term    string
		clauses float64
		seen    []bool
	}
	var themes []found
	for i := 0; i < len(toks); {
		if toks[i].emoji {
			i++
			continue
		}
		hits, span := a.themeIdx.match(toks, i, primary, a.cfg.typos, s.hits[:0])
		s.hits = hits
		if span == 0 {
			i++
			continue
		}
		for _, h := range hits {
			if h.lang != primary && !a.cfg.crossLang {
				continue
			}
			k := slices.IndexFunc(themes, func(f found) bool { return f.id == h.id })
			if k < 0 {
				themes = append(themes, found{id: h.id, term: h.term})
				k = len(themes) - 1
			}
			c := toks[i].clause
			if themes[k].seen == nil {
				themes[k].seen = make([]bool, nClauses)
			}
			if !themes[k].seen[c] {
				themes[k].seen[c] = true
				themes[k].clauses += s.clauses[c]
			}
		}
		i += span
	}
	if len(themes) == 0 {
		return res
	}
	slices.SortFunc(themes, func(x, y found) int { return strings.Compare(a.themes[x.id], a.themes[y.id]) })
	res.Themes = make([]string, len(themes))
	res.Mentions = make([]Mention, len(themes))
	for i, f := range themes {
		res.Themes[i] = a.themes[f.id]
		res.Mentions[i] = Mention{Theme: a.themes[f.id], Term: f.term, Sentiment: polarity(squash(f.clauses))}
	}
	return res
}

func (a *Analyzer) hasSentiment(toks []token, i, primary int) bool {
	var buf [8]entry
	_, span := a.sentiment.match(toks, i, primary, false, buf[:0])
	return span > 0
}

// negated: a negator within negationWindow words before toks[i], in its clause.
func negated(toks []token, i int) bool {
	for j := i - 1; j >= 0 && j >= i-negationWindow; j-- {
		if toks[j].clause != toks[i].clause {
			return false
		}
		if negators[toks[j].text] {
			return true
		}
	}
	return false
}

func squash(s float64) float64 { return s / math.Sqrt(s*s+4) }

func polarity(score float64) Sentiment {
	switch {
	case score <= -PolarThreshold:
		return Negative
	case score >= PolarThreshold:
		return Positive
	}
	return Neutral
}
