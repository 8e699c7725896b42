package insight

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// token is one word of a comment after folding, or one emoji.
type token struct {
	text string
	// clause counts sentence punctuation and contrast words ("but") before the token;
	// negation does not reach across a clause, and a theme's polarity is its clauses'.
	clause int
	emoji  bool
}

// foldRune appends r lowercased and without accents: é→e, ñ→n, ß→ss, æ→ae, œ→oe. German
// umlauts become their base letter, or with umlautE the e spelling (ä→ae) that German
// keyboards without umlauts write.
func foldRune(b []byte, r rune, umlautE bool) []byte {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(b, byte(r))
	}
	r = unicode.ToLower(r)
	if umlautE {
		switch r {
		case 'ä':
			return append(b, "ae"...)
		case 'ö':
			return append(b, "oe"...)
		case 'ü':
			return append(b, "ue"...)
		}
	}
	switch r {
	case 'ß':
		return append(b, "ss"...)
	case 'æ':
		return append(b, "ae"...)
	case 'œ':
		return append(b, "oe"...)
	case 'ø':
		return append(b, 'o')
	case 'ł':
		return append(b, 'l')
	case 'ı':
		return append(b, 'i')
	}
	var enc [utf8.UTFMax]byte
	n := utf8.EncodeRune(enc[:], r)
	// The canonical decomposition puts the base letter first and the accents after it
	// (é = e + U+0301); keeping the base letter alone drops the accents.
	if d := norm.NFD.Properties(enc[:n]).Decomposition(); len(d) > 0 {
		base, _ := utf8.DecodeRune(d)
		return utf8.AppendRune(b, base)
	}
	return append(b, enc[:n]...)
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// isEmoji: the pictographs shoppers type (faces, hands, hearts, stars). Skin tone
// modifiers and joiners are not tokens of their own.
func isEmoji(r rune) bool {
	switch {
	case r >= 0x1F3FB && r <= 0x1F3FF:
		return false
	case r >= 0x1F000 && r <= 0x1FAFF, r >= 0x2600 && r <= 0x27BF, r == 0x2B50, r == 0x2B55:
		return true
	}
	return false
}

func isClauseBreak(r rune) bool {
	switch r {
	case '.', ',', ';', ':', '!', '?', '(', ')', '¡', '¿', '\n', '…':
		return true
	}
	return false
}

// contrast words start a new clause: what follows "but" is its own statement.
var contrast = map[string]bool{"but": true, "pero": true, "mais": true, "aber": true, "sino": true, "sondern": true, "however": true, "though": true}

// fold returns s folded, with every run of characters that are not letters or digits
// turned into one space: how a term of the taxonomy or a lexicon is compared.
func fold(s string) string { return foldWith(s, false) }

func foldWith(s string, umlautE bool) string {
	b := make([]byte, 0, len(s))
	space := true
	for _, r := range s {
		switch {
		case isWordRune(r):
			b = foldRune(b, r, umlautE)
			space = false
		case unicode.Is(unicode.Mn, r):
		default:
			if !space {
				b = append(b, ' ')
				space = true
			}
		}
	}
	if n := len(b); n > 0 && b[n-1] == ' ' {
		b = b[:n-1]
	}
	return string(b)
}

// tokenize appends the comment's tokens to toks, folding into buf (reused between calls
// by the caller). The tokens' text points into one string built from buf.
func tokenize(s string, buf []byte, toks []token) ([]byte, []token) {
	type span struct {
		start, end, clause int
		emoji              bool
	}
	var spans [64]span
	sp := spans[:0]
	buf = buf[:0]
	clause := 0
	start := -1 // start of the word being read in buf, -1 between words
	endWord := func() {
		if start >= 0 {
			sp = append(sp, span{start: start, end: len(buf), clause: clause})
			start = -1
		}
	}
	for _, r := range s {
		switch {
		case isWordRune(r):
			if start < 0 {
				start = len(buf)
			}
			buf = foldRune(buf, r, false)
		case unicode.Is(unicode.Mn, r):
			// a combining accent typed separately, or an emoji variation selector
		case isEmoji(r):
			endWord()
			at := len(buf)
			buf = utf8.AppendRune(buf, r)
			sp = append(sp, span{start: at, end: len(buf), clause: clause, emoji: true})
		case isClauseBreak(r):
			endWord()
			if len(sp) > 0 && sp[len(sp)-1].clause == clause {
				clause++
			}
		default:
			endWord()
		}
	}
	endWord()
	text := string(buf)
	clauseShift := 0
	for i, x := range sp {
		t := token{text: text[x.start:x.end], clause: x.clause + clauseShift, emoji: x.emoji}
		switch {
		case t.text == "t" && i > 0 && len(toks) > 0 && endsWithN(toks[len(toks)-1].text):
			// "didn't" arrives as "didn" and "t": the t is the negation.
			t.text = "not"
		case contrast[t.text] && i > 0:
			clauseShift++
			t.clause++
		}
		toks = append(toks, t)
	}
	return buf, toks
}

func endsWithN(s string) bool { return len(s) > 0 && s[len(s)-1] == 'n' }
