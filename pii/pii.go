// Package pii masks personal data in free text: e-mail addresses, phone numbers,
// payment card numbers (Luhn-checked), IBANs (mod-97-checked) and the chain's own named
// patterns, each replaced by a placeholder such as "[phone]" so that the text keeps its
// meaning. The kiosk masks a comment before it stores it, the collector again at ingest
// for every channel. It is pure Go with no I/O and imports nothing of the project's.
package pii

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
)

// The built-in categories; a configured pattern's category is its name.
const (
	Email = "email"
	Phone = "phone"
	Card  = "card"
	IBAN  = "iban"
)

// Builtin lists the built-in categories, in the order the masker looks for them after
// the configured patterns.
var Builtin = []string{Email, IBAN, Card, Phone}

// Placeholder is what a match of category replaces: "[email]", "[loyalty]".
func Placeholder(category string) string { return "[" + category + "]" }

// Pattern is a chain's own kind of personal data, such as loyalty card numbers:
// matches of the regular expression (RE2 syntax) become "[Name]".
type Pattern struct {
	Name    string `json:"name" toml:"name"`
	Pattern string `json:"pattern" toml:"pattern"`
}

// Limits on configured patterns: each one runs over every comment.
const (
	MaxPatterns      = 20
	MaxPatternLength = 200
)

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Match is one piece of personal data found in a text: the bytes s[Start:End].
type Match struct {
	Start, End int
	Category   string
}

// Counts is how many matches of each category a text had; nil when none.
type Counts map[string]int

// Add adds other's counts to c, making c if it is nil, and returns c.
func (c Counts) Add(other Counts) Counts {
	if len(other) == 0 {
		return c
	}
	if c == nil {
		c = Counts{}
	}
	for k, v := range other {
		c[k] += v
	}
	return c
}

// Total is the number of matches of every category.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Masker finds and masks personal data. It is safe for concurrent use; its zero value
// masks the built-in categories only.
type Masker struct {
	patterns []compiled
}

type compiled struct {
	name string
	re   *regexp.Regexp
	// literal is text every match starts with, when the pattern has one ("LC" of
	// \bLC\d{10}\b): a comment without it is skipped without running the expression,
	// which costs more than every built-in detector together.
	literal string
}

// New returns a masker of the built-in categories and the given patterns. It reports
// every bad pattern at once: a bad name, a duplicate, a regular expression that does not
// compile or that matches empty text (it would put a placeholder between every two
// characters).
func New(patterns []Pattern) (*Masker, error) {
	if err := Check(patterns); err != nil {
		return nil, err
	}
	m := &Masker{}
	for _, p := range patterns {
		m.patterns = append(m.patterns, compiled{name: p.Name, re: regexp.MustCompile(p.Pattern), literal: leadingLiteral(p.Pattern)})
	}
	return m, nil
}

// Check reports every problem with patterns at once, as New would.
func Check(patterns []Pattern) error {
	var errs []error
	if len(patterns) > MaxPatterns {
		errs = append(errs, fmt.Errorf("%d patterns, at most %d", len(patterns), MaxPatterns))
	}
	seen := map[string]bool{}
	for _, p := range patterns {
		switch {
		case !namePattern.MatchString(p.Name):
			errs = append(errs, fmt.Errorf("pattern name %q must be 1 to 32 of a-z, 0-9, _, starting with a letter", p.Name))
		case slices.Contains(Builtin, p.Name):
			errs = append(errs, fmt.Errorf("pattern name %q is a built-in category", p.Name))
		case seen[p.Name]:
			errs = append(errs, fmt.Errorf("pattern name %q appears twice", p.Name))
		}
		seen[p.Name] = true
		if len(p.Pattern) > MaxPatternLength {
			errs = append(errs, fmt.Errorf("pattern %q is %d bytes long, at most %d", p.Name, len(p.Pattern), MaxPatternLength))
			continue
		}
		re, err := regexp.Compile(p.Pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("pattern %q: %w", p.Name, err))
			continue
		}
		if re.MatchString("") {
			errs = append(errs, fmt.Errorf("pattern %q: %q matches empty text", p.Name, p.Pattern))
		}
	}
	return errors.Join(errs...)
}

// Find returns the personal data in s, in text order, never overlapping. Where two
// detectors claim the same bytes the first wins: configured patterns (the chain knows
// its own numbers best), then e-mail, IBAN, card and phone.
func (m *Masker) Find(s string) []Match {
	var out []Match
	if m != nil {
		for _, p := range m.patterns {
			if p.literal != "" && !strings.Contains(s, p.literal) {
				continue
			}
			for _, loc := range p.re.FindAllStringIndex(s, -1) {
				if loc[1] > loc[0] {
					out = claim(out, Match{loc[0], loc[1], p.name})
				}
			}
		}
	}
	hasAt := strings.IndexByte(s, '@') >= 0
	if !hasAt && !hasDigit(s) {
		return sortMatches(out)
	}
	if hasAt {
		for _, loc := range emailRE.FindAllStringIndex(s, -1) {
			out = claim(out, Match{loc[0], loc[1], Email})
		}
	}
	out = findIBANs(s, out)
	out = findCards(s, out)
	out = findPhones(s, out)
	return sortMatches(out)
}

// Mask returns s with each match replaced by its placeholder, and the counts by
// category. A text without personal data comes back as it was, with nil counts.
func (m *Masker) Mask(s string) (string, Counts) {
	found := m.Find(s)
	if len(found) == 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	counts := Counts{}
	last := 0
	for _, f := range found {
		b.WriteString(s[last:f.Start])
		b.WriteString(Placeholder(f.Category))
		last = f.End
		counts[f.Category]++
	}
	b.WriteString(s[last:])
	return b.String(), counts
}

// leadingLiteral is the case-sensitive text every match of pattern starts with, after
// any empty-width assertions (\b, ^), or "" when it has none.
func leadingLiteral(pattern string) string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	for {
		switch re.Op {
		case syntax.OpCapture:
			re = re.Sub[0]
			continue
		case syntax.OpLiteral:
			if re.Flags&syntax.FoldCase != 0 {
				return ""
			}
			return string(re.Rune)
		case syntax.OpConcat:
			i := 0
			for i < len(re.Sub) && emptyWidth(re.Sub[i].Op) {
				i++
			}
			if i == len(re.Sub) {
				return ""
			}
			re = re.Sub[i]
			continue
		}
		return ""
	}
}

func emptyWidth(op syntax.Op) bool {
	switch op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpEmptyMatch:
		return true
	}
	return false
}

// claim adds m to found unless it overlaps a match already there.
func claim(found []Match, m Match) []Match {
	for _, f := range found {
		if m.Start < f.End && f.Start < m.End {
			return found
		}
	}
	return append(found, m)
}

func free(found []Match, start, end int) bool {
	for _, f := range found {
		if start < f.End && f.Start < end {
			return false
		}
	}
	return true
}

func sortMatches(ms []Match) []Match {
	slices.SortFunc(ms, func(a, b Match) int { return a.Start - b.Start })
	return ms
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// emailRE is an address as people type it: a dot-atom local part, a domain of labels
// and a top-level domain of letters. Letters beyond ASCII are allowed on both sides.
var emailRE = regexp.MustCompile(`[\p{L}\p{N}_%+-]+(?:\.[\p{L}\p{N}_%+-]+)*@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+\p{L}{2,}`)
