package pii

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMask(t *testing.T) {
	m, err := New([]Pattern{{Name: "loyalty", Pattern: `\bLC\d{10}\b`}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, want string
		counts   Counts
	}{
		{"great staff", "great staff", nil},
		{"call me on +44 20 7946 0958", "call me on [phone]", Counts{Phone: 1}},
		{"mail jo@example.com or jo2@example.com", "mail [email] or [email]", Counts{Email: 2}},
		{"card 4111 1111 1111 1111 charged", "card [card] charged", Counts{Card: 1}},
		{"card 4111 1111 1111 1112 charged", "card 4111 1111 1111 1112 charged", nil},
		{"IBAN DE89 3704 0044 0532 0130 00.", "IBAN [iban].", Counts{IBAN: 1}},
		{"IBAN DE89 3704 0044 0532 0130 01.", "IBAN DE89 3704 0044 0532 0130 01.", nil},
		{"points on LC1234567890, call 06 12 34 56 78", "points on [loyalty], call [phone]", Counts{"loyalty": 1, Phone: 1}},
		{"order 123456789 on 2026-11-30 at 14:30, €12.99", "order 123456789 on 2026-11-30 at 14:30, €12.99", nil},
		{"[phone] and [email] stay as they are", "[phone] and [email] stay as they are", nil},
	}
	for _, tt := range tests {
		got, counts := m.Mask(tt.in)
		if got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(counts) != len(tt.counts) {
			t.Errorf("Mask(%q) counts %v, want %v", tt.in, counts, tt.counts)
		}
		for k, v := range tt.counts {
			if counts[k] != v {
				t.Errorf("Mask(%q) counts %v, want %v", tt.in, counts, tt.counts)
			}
		}
		// Masking is idempotent: the collector masks what a kiosk masked already.
		if again, c := m.Mask(got); again != got || c != nil {
			t.Errorf("Mask(Mask(%q)) = %q, %v", tt.in, again, c)
		}
	}
}

func TestZeroMasker(t *testing.T) {
	var m *Masker
	if got, _ := m.Mask("jo@example.com"); got != "[email]" {
		t.Errorf("nil masker: %q", got)
	}
}

func TestNewRefusesBadPatterns(t *testing.T) {
	tests := []struct {
		patterns []Pattern
		want     string
	}{
		{[]Pattern{{Name: "loyalty", Pattern: `LC(\d{10}`}}, `pattern "loyalty": error parsing regexp`},
		{[]Pattern{{Name: "loyalty", Pattern: `\d*`}}, `matches empty text`},
		{[]Pattern{{Name: "Loyalty", Pattern: `LC\d+`}}, `pattern name "Loyalty" must be`},
		{[]Pattern{{Name: "email", Pattern: `x\d+`}}, `is a built-in category`},
		{[]Pattern{{Name: "a", Pattern: `x\d+`}, {Name: "a", Pattern: `y\d+`}}, `appears twice`},
		{[]Pattern{{Name: "a", Pattern: strings.Repeat("x", MaxPatternLength+1)}}, `at most 200`},
	}
	for _, tt := range tests {
		_, err := New(tt.patterns)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%v) = %v, want an error with %q", tt.patterns, err, tt.want)
		}
	}
}

func TestChecks(t *testing.T) {
	for _, tt := range []struct {
		digits string
		ok     bool
	}{{"4111111111111111", true}, {"4111111111111112", false}, {"378282246310005", true}, {"0", true}} {
		if got := luhn([]byte(tt.digits)); got != tt.ok {
			t.Errorf("luhn(%s) = %v", tt.digits, got)
		}
	}
	for _, tt := range []struct {
		iban string
		ok   bool
	}{{"DE89370400440532013000", true}, {"de89370400440532013000", true}, {"GB82WEST12345698765432", true}, {"GB82WEST12345698765433", false}} {
		if got := mod97([]byte(tt.iban)); got != tt.ok {
			t.Errorf("mod97(%s) = %v", tt.iban, got)
		}
	}
}

// typicalComments are what most comments look like: no personal data, a few numbers.
var typicalComments = []string{
	"Great staff, very helpful at the checkout.",
	"Waited 20 minutes at till 3, only 2 of 8 tills open on 30/11/2026.",
	"Die Auswahl ist gut, aber die Preise sind zu hoch: 12,99 € für Kaffee!",
	"Personnel très aimable, mais attente trop longue à la caisse 14h30.",
	"Muy buena atención, volveré. La tienda estaba limpia.",
	"call me on 07700 900123 about my order 123456789 please",
	"my card 4111 1111 1111 1111 was charged twice, mail me at jo@example.com",
	"",
}

func BenchmarkMask(b *testing.B) {
	m, err := New([]Pattern{{Name: "loyalty", Pattern: `\bLC\d{10}\b`}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Mask(typicalComments[i%len(typicalComments)])
	}
}

func BenchmarkMaskBuiltinOnly(b *testing.B) {
	m, _ := New(nil)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Mask(typicalComments[i%len(typicalComments)])
	}
}

// FuzzFind: any text, found spans are in bounds, in order, apart, on rune boundaries, and
// masking keeps valid UTF-8 valid.
func FuzzFind(f *testing.F) {
	for _, s := range typicalComments {
		f.Add(s)
	}
	f.Add("(+34) 612 345 678 DE89 3704 0044 0532 0130 00 €12.99 30.11.26 jo@x.fr")
	m, err := New([]Pattern{{Name: "loyalty", Pattern: `\bLC\d{10}\b`}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		last := 0
		for _, x := range m.Find(s) {
			if x.Start < last || x.End <= x.Start || x.End > len(s) {
				t.Fatalf("span %+v after %d in %q", x, last, s)
			}
			if utf8.ValidString(s) && (!utf8.ValidString(s[x.Start:x.End]) || !utf8.ValidString(s[:x.Start])) {
				t.Fatalf("span %+v splits a character of %q", x, s)
			}
			last = x.End
		}
		if out, _ := m.Mask(s); utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("Mask(%q) = %q, not UTF-8", s, out)
		}
	})
}

func TestLeadingLiteral(t *testing.T) {
	for _, tt := range []struct{ pattern, want string }{
		{`\bLC\d{10}\b`, "LC"},
		{`^(MEM-)\d+`, "MEM-"},
		{`(?i)lc\d{10}`, ""},
		{`[A-Z]{2}\d+`, ""},
		{`LC\d+|MB\d+`, ""},
		{`\b\d{8}\b`, ""},
	} {
		if got := leadingLiteral(tt.pattern); got != tt.want {
			t.Errorf("leadingLiteral(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}
