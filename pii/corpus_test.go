package pii

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// corpusLine is one line of testdata/corpus.txt: the comment, the personal data marked
// in it, and what masking must make of it.
type corpusLine struct {
	lineNo int
	input  string
	gold   []Match
	want   string
}

// corpusPatterns are the configured patterns the corpus is written for.
var corpusPatterns = []Pattern{{Name: "loyalty", Pattern: `\bLC\d{10}\b`}}

func readCorpus(t testing.TB, name string) []corpusLine {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		l := corpusLine{lineNo: n}
		var in, want strings.Builder
		for rest := line; rest != ""; {
			open := strings.IndexByte(rest, '{')
			if open < 0 {
				in.WriteString(rest)
				want.WriteString(rest)
				break
			}
			in.WriteString(rest[:open])
			want.WriteString(rest[:open])
			end := strings.IndexByte(rest[open:], '}')
			colon := strings.IndexByte(rest[open:], ':')
			if end < 0 || colon < 0 || colon > end {
				t.Fatalf("corpus line %d: a { without {category:text}", n)
			}
			cat, text := rest[open+1:open+colon], rest[open+colon+1:open+end]
			l.gold = append(l.gold, Match{Start: in.Len(), End: in.Len() + len(text), Category: cat})
			in.WriteString(text)
			want.WriteString(Placeholder(cat))
			rest = rest[open+end+1:]
		}
		l.input, l.want = in.String(), want.String()
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// score is a category's span-level result: a hit is a found span with exactly the
// marked start, end and category.
type score struct{ tp, fp, fn int }

func (s score) precision() float64 { return ratio(s.tp, s.tp+s.fp) }
func (s score) recall() float64    { return ratio(s.tp, s.tp+s.fn) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// The figures docs/benchmarks.md reports; the test fails when masking falls below them.
var (
	minPrecision = map[string]float64{Email: 1, Phone: 0.984, Card: 1, IBAN: 1, "loyalty": 1}
	minRecall    = map[string]float64{Email: 0.978, Phone: 0.955, Card: 1, IBAN: 1, "loyalty": 1}
	minExact     = 0.987

	freshPrecision = map[string]float64{Email: 1, Phone: 1, Card: 1, IBAN: 1, "loyalty": 1}
	freshRecall    = map[string]float64{Email: 1, Phone: 1, Card: 1, IBAN: 1, "loyalty": 1}
	freshExact     = 1.0
)

func TestCorpus(t *testing.T) {
	lines := readCorpus(t, "testdata/corpus.txt")
	if len(lines) < 300 {
		t.Fatalf("the corpus has %d lines, want at least 300", len(lines))
	}
	evaluate(t, lines, minPrecision, minRecall, minExact)
}

// The fresh set was written after the detectors and is not tuned on: its figures are
// the fairer estimate, held like the corpus's.
func TestFresh(t *testing.T) {
	evaluate(t, readCorpus(t, "testdata/fresh.txt"), freshPrecision, freshRecall, freshExact)
}

func evaluate(t *testing.T, lines []corpusLine, minPrecision, minRecall map[string]float64, minExact float64) {
	t.Helper()
	m, err := New(corpusPatterns)
	if err != nil {
		t.Fatal(err)
	}
	scores := map[string]*score{}
	for _, c := range append(slices.Clone(Builtin), "loyalty") {
		scores[c] = &score{}
	}
	exact, negatives, cleanNegatives, spans := 0, 0, 0, 0
	for _, l := range lines {
		got := m.Find(l.input)
		spans += len(l.gold)
		for _, g := range got {
			if slices.Contains(l.gold, g) {
				scores[g.Category].tp++
			} else {
				scores[g.Category].fp++
				t.Logf("line %d: false %s %q in %q", l.lineNo, g.Category, l.input[g.Start:g.End], l.input)
			}
		}
		for _, g := range l.gold {
			if !slices.Contains(got, g) {
				scores[g.Category].fn++
				t.Logf("line %d: missed %s %q in %q", l.lineNo, g.Category, l.input[g.Start:g.End], l.input)
			}
		}
		masked, counts := m.Mask(l.input)
		if masked == l.want {
			exact++
		}
		if counts.Total() != len(got) {
			t.Errorf("line %d: counts %v, found %d", l.lineNo, counts, len(got))
		}
		if len(l.gold) == 0 {
			negatives++
			if len(got) == 0 {
				cleanNegatives++
			}
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "corpus: %d lines, %d with personal data (%d spans), %d negatives (%d left untouched)\n",
		len(lines), len(lines)-negatives, spans, negatives, cleanNegatives)
	fmt.Fprintf(&table, "%-8s %5s %4s %4s %4s %9s %7s\n", "category", "spans", "tp", "fp", "fn", "precision", "recall")
	for _, c := range append(slices.Clone(Builtin), "loyalty") {
		s := scores[c]
		fmt.Fprintf(&table, "%-8s %5d %4d %4d %4d %9.3f %7.3f\n", c, s.tp+s.fn, s.tp, s.fp, s.fn, s.precision(), s.recall())
		if s.precision() < minPrecision[c] {
			t.Errorf("%s precision %.3f, below %.3f", c, s.precision(), minPrecision[c])
		}
		if s.recall() < minRecall[c] {
			t.Errorf("%s recall %.3f, below %.3f", c, s.recall(), minRecall[c])
		}
	}
	acc := ratio(exact, len(lines))
	fmt.Fprintf(&table, "exact output: %d of %d lines (%.3f)\n", exact, len(lines), acc)
	t.Log("\n" + table.String())
	if acc < minExact {
		t.Errorf("exact output %.3f, below %.3f", acc, minExact)
	}
}
