package insight

import "strings"

// langAny marks entries that belong to every language (emoji, "10/10").
const langAny = -1

// entry is what a term leads to: a theme (id is its index in the taxonomy) or a
// sentiment weight, in one language.
type entry struct {
	id     int
	weight float64
	lang   int
	// term is the folded term, the evidence shown with a theme.
	term string
}

type phrase struct {
	rest  []string // the words after the first
	entry entry
}

type fuzzyTerm struct {
	term  string
	stem  bool
	entry entry
}

// affix is a stem (or suffix) and every shorter start (end) of one: the walk along a
// word's starts stops at the first that is no stem's, after one or two lookups mostly.
type affix struct {
	entries []entry
	longer  bool // a longer stem (suffix) continues this one
}

// index finds the terms of one kind (themes or sentiment) in a comment's tokens without
// regular expressions: maps from folded words, starts and ends of words, and phrases by
// their first word; one-typo candidates grouped by first letter.
type index struct {
	words    map[string][]entry
	stems    map[string]*affix
	suffixes map[string]*affix
	phrases  map[string][]phrase
	fuzzy    map[byte][]fuzzyTerm
}

func newIndex() *index {
	return &index{
		words:    map[string][]entry{},
		stems:    map[string]*affix{},
		suffixes: map[string]*affix{},
		phrases:  map[string][]phrase{},
		fuzzy:    map[byte][]fuzzyTerm{},
	}
}

func addAffix(m map[string]*affix, t string, e entry, min int, shorter func(t string, n int) string) {
	for n := min; n <= len(t); n++ {
		k := shorter(t, n)
		a := m[k]
		if a == nil {
			a = &affix{}
			m[k] = a
		}
		if n == len(t) {
			a.entries = appendUnique(a.entries, e)
		} else {
			a.longer = true
		}
	}
}

func prefix(t string, n int) string { return t[:n] }
func suffix(t string, n int) string { return t[len(t)-n:] }

// Words of at least fuzzyMin letters match terms of at least fuzzyMin letters with one
// typo (a letter added, dropped, changed or two swapped): "freindly", "personel". Shorter
// words have too many neighbours that are other words (comida, comoda).
const fuzzyMin = 7

type termKind int

const (
	kindKeyword termKind = iota
	kindPhrase
	kindStem
	kindSuffix
)

// add indexes a raw term in its folded spellings (German also with ae, oe, ue).
func (x *index) add(kind termKind, raw string, e entry, lang string) {
	spellings := []string{fold(raw)}
	if lang == "de" {
		if alt := foldWith(raw, true); alt != spellings[0] {
			spellings = append(spellings, alt)
		}
	}
	for _, t := range spellings {
		e := e
		e.term = t
		switch kind {
		case kindKeyword:
			x.words[t] = appendUnique(x.words[t], e)
			if len(t) >= fuzzyMin {
				x.fuzzy[t[0]] = append(x.fuzzy[t[0]], fuzzyTerm{term: t, entry: e})
			}
		case kindStem:
			addAffix(x.stems, t, e, minStem, prefix)
			if len(t) >= fuzzyMin {
				x.fuzzy[t[0]] = append(x.fuzzy[t[0]], fuzzyTerm{term: t, stem: true, entry: e})
			}
		case kindSuffix:
			addAffix(x.suffixes, t, e, minSuffix, suffix)
		case kindPhrase:
			w := strings.Fields(t)
			x.phrases[w[0]] = append(x.phrases[w[0]], phrase{rest: w[1:], entry: e})
		}
	}
}

func appendUnique(list []entry, e entry) []entry {
	for _, o := range list {
		if o.id == e.id && o.lang == e.lang && o.weight == e.weight {
			return list
		}
	}
	return append(list, e)
}

// match appends the entries the words at toks[i:] match and returns how many words the
// match spans (a phrase spans several; 0 when nothing matched). Phrases win over single
// words. When the word matches a term of the comment's language (primary), terms of
// other languages are left out: in French "range" (tidied) is not the English range.
func (x *index) match(toks []token, i, primary int, typos bool, out []entry) ([]entry, int) {
	w := toks[i].text
	start := len(out)
	span := 0
	for _, p := range x.phrases[w] {
		if i+len(p.rest) >= len(toks) {
			continue
		}
		ok := true
		for j, r := range p.rest {
			if toks[i+1+j].text != r {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, p.entry)
			span = max(span, 1+len(p.rest))
		}
	}
	if span > 0 {
		return preferLanguage(out, start, primary), span
	}
	out = append(out, x.words[w]...)
	for n := minStem; n <= len(w); n++ {
		a := x.stems[w[:n]]
		if a == nil {
			break
		}
		out = append(out, a.entries...)
		if !a.longer {
			break
		}
	}
	// A suffix is the end of a longer word: "parkplatz" alone is a keyword's business.
	for n := minSuffix; n < len(w); n++ {
		a := x.suffixes[w[len(w)-n:]]
		if a == nil {
			break
		}
		out = append(out, a.entries...)
		if !a.longer {
			break
		}
	}
	if len(out) == start && typos && len(w) >= fuzzyMin {
		for _, f := range x.fuzzy[w[0]] {
			if f.stem {
				if len(w) >= len(f.term) && (withinOneEdit(w[:len(f.term)], f.term) ||
					len(w) > len(f.term) && withinOneEdit(w[:len(f.term)+1], f.term) ||
					withinOneEdit(w[:len(f.term)-1], f.term)) {
					out = append(out, f.entry)
				}
			} else if d := len(w) - len(f.term); d >= -1 && d <= 1 && w[len(w)-1] == f.term[len(f.term)-1] && withinOneEdit(w, f.term) {
				// The last letters must agree: a different ending is more often another
				// form of a word (personnes, personnel) than a typo.
				out = append(out, f.entry)
			}
		}
	}
	if len(out) == start {
		return out, 0
	}
	return preferLanguage(out, start, primary), 1
}

func preferLanguage(out []entry, start, primary int) []entry {
	if primary == langAny {
		return out
	}
	found := false
	for _, e := range out[start:] {
		if e.lang == primary {
			found = true
			break
		}
	}
	if !found {
		return out
	}
	n := start
	for _, e := range out[start:] {
		if e.lang == primary || e.lang == langAny {
			out[n] = e
			n++
		}
	}
	return out[:n]
}

// withinOneEdit reports whether a and b differ by at most one insertion, deletion,
// substitution or swap of neighbouring letters (optimal string alignment distance ≤ 1),
// in linear time and without allocating. Bytes, not runes: folded words are ASCII but for
// the rare letter without a decomposition, and there a miss costs only a typo match.
func withinOneEdit(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	switch len(a) - len(b) {
	case 0:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		if i == len(a) {
			return true
		}
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		i := 0
		for i < len(b) && a[i] == b[i] {
			i++
		}
		return a[i+1:] == b[i:]
	}
	return false
}
