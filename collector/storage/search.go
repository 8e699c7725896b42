package storage

import (
	"strings"
	"unicode"
)

// SearchTerms splits a comment search as a person types it into its terms: words, all
// of which must appear, and "quoted phrases", whose words must appear in that order. It
// is the only syntax there is: every other character a search engine would read as an
// operator (*, -, :, ^, parentheses, NEAR, OR, NOT) is a plain character here, so
// nothing a person types can break the query. Terms without a letter or digit are
// dropped; an unclosed quote runs to the end.
func SearchTerms(q string) []string {
	var terms []string
	add := func(t string) {
		t = strings.Join(strings.Fields(t), " ")
		if strings.IndexFunc(t, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			terms = append(terms, t)
		}
	}
	for i, part := range strings.Split(q, `"`) {
		if i%2 == 1 { // inside quotes
			add(part)
			continue
		}
		for _, w := range strings.Fields(part) {
			add(w)
		}
	}
	return terms
}

// quotedTerms writes each term as a double-quoted string, quotes inside doubled: in
// both FTS5's query syntax and PostgreSQL's websearch_to_tsquery a quoted string is a
// phrase of the words the index's tokenizer finds in it, and nothing in it an operator.
// Terms side by side must all match.
func quotedTerms(terms []string) string {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	return strings.Join(quoted, " ")
}
