package websurvey

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestNegotiate(t *testing.T) {
	all := Languages
	tests := []struct {
		asked, accept string
		offer         []string
		want          string
	}{
		{"", "", all, "en"},
		{"", "de-CH,de;q=0.9,en;q=0.8", all, "de"},
		{"", "es;q=0.1, fr;q=0.5", all, "fr"},
		{"", "it, fr-CA;q=0.7", all, "fr"},
		{"", "FR", all, "fr"},
		{"", "pt, it", all, "en"},
		{"", "de;q=0, es", all, "es"},
		{"", "de;q=2, es;q=abc", all, "en"}, // garbled q-values are ignored
		{"fr", "de", all, "fr"},
		{"xx", "es", all, "es"},
		{"FR ", "", all, "fr"},
		{"es", "es", []string{"de", "en"}, "de"},                // the store does not offer Spanish: its first language
		{"", strings.Repeat("xx;q=0.9,", 40) + "de", all, "en"}, // only the first 16 entries are read
		{"", "\xff\x00;q=", all, "en"},
	}
	for _, tt := range tests {
		if got := negotiate(tt.asked, tt.accept, tt.offer); got != tt.want {
			t.Errorf("negotiate(%q, %.40q, %v) = %q, want %q", tt.asked, tt.accept, tt.offer, got, tt.want)
		}
	}
	if got := offered([]string{"DE", "it", "de", "en"}); fmt.Sprint(got) != "[de en]" {
		t.Errorf("offered = %v", got)
	}
	if got := offered([]string{"it"}); fmt.Sprint(got) != "[en]" {
		t.Errorf("offered with none spoken = %v", got)
	}
}

// Every message is in every language the survey speaks, with the same placeholders.
func TestTextsAreComplete(t *testing.T) {
	c, err := newCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range Languages {
		for _, k := range kioskKeys {
			if c[lang][k] == "" {
				t.Errorf("%s lacks the kiosk's %q", lang, k)
			}
		}
		for k, en := range webTexts[fallback] {
			msg := webTexts[lang][k]
			if msg == "" {
				t.Errorf("%s lacks %q", lang, k)
			}
			for _, ph := range []string{"{store}", "{max}"} {
				if strings.Contains(en, ph) != strings.Contains(msg, ph) {
					t.Errorf("%s %q: placeholder %s differs from English", lang, k, ph)
				}
			}
		}
		if len(webTexts[lang]) != len(webTexts[fallback]) {
			t.Errorf("%s has %d messages, English %d", lang, len(webTexts[lang]), len(webTexts[fallback]))
		}
	}
	if got := c.T("de", "error.reasons", "max", "8"); got != "Wählen Sie höchstens 8 Gründe." {
		t.Errorf("T = %q", got)
	}
	if got := c.T("de", "no.such.key"); got != "no.such.key" {
		t.Errorf("a missing key = %q", got)
	}
}

func TestTokenSignsOneAnswerOfOneLink(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a := answer{ID: uuid.Must(uuid.NewV7()).String(), Created: time.UnixMilli(1780000000123), Score: 7, Suspect: true}
	tok := sign(key, "link-1", a)
	got, err := verify(key, "link-1", tok)
	if err != nil || got != a {
		t.Fatalf("verify = %+v, %v; want %+v", got, err, a)
	}
	v4 := uuid.NewString()
	bad := []struct{ name, link, token string }{
		{"another link", "link-2", tok},
		{"another key", "link-1", sign([]byte("another key of thirty-two bytes!!"), "link-1", a)},
		{"score changed", "link-1", strings.Replace(tok, ".7.1.", ".9.1.", 1)},
		{"suspect dropped", "link-1", strings.Replace(tok, ".7.1.", ".7.0.", 1)},
		{"signature cut", "link-1", tok[:len(tok)-2]},
		{"not a UUIDv7", "link-1", sign(key, "link-1", answer{ID: v4, Created: a.Created, Score: 7})},
		{"score out of range", "link-1", sign(key, "link-1", answer{ID: a.ID, Created: a.Created, Score: 11})},
		{"empty", "link-1", ""},
		{"dots", "link-1", "...."},
		{"long", "link-1", strings.Repeat("a", 5000)},
	}
	for _, tt := range bad {
		if _, err := verify(key, tt.link, tt.token); err == nil {
			t.Errorf("%s: verified", tt.name)
		}
	}
}

func TestLimitersStayBounded(t *testing.T) {
	l := newLimiters(1, 2, 100)
	now := time.Unix(1_000_000, 0)
	for i := range 2 {
		if ok, _ := l.allow("a", now); !ok {
			t.Fatalf("request %d within the burst refused", i+1)
		}
	}
	if ok, wait := l.allow("a", now); ok || wait != time.Second {
		t.Errorf("over the burst: ok %v, wait %v; want a refusal for 1 s", ok, wait)
	}
	if ok, _ := l.allow("a", now.Add(time.Second)); !ok {
		t.Error("refused after the wait")
	}
	for i := range 10_000 {
		l.allow(fmt.Sprint("client-", i), now)
	}
	if n := l.size(); n > 100 {
		t.Errorf("%d clients tracked, at most 100", n)
	}

	r := newRecentAnswers(time.Minute, 3, 50)
	for i, want := range []int{0, 1, 2, 3, 3} {
		if got := r.note("net", now.Add(time.Duration(i)*time.Second)); got != want {
			t.Errorf("answer %d: %d before it, want %d", i+1, got, want)
		}
	}
	if got := r.note("net", now.Add(2*time.Minute)); got != 0 {
		t.Errorf("after the window: %d before it", got)
	}
	for i := range 10_000 {
		r.note(fmt.Sprint("net-", i), now)
	}
	if n := len(r.m); n > 50 {
		t.Errorf("%d networks tracked, at most 50", n)
	}
}
