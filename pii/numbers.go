package pii

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The number detectors scan bytes rather than run one large regular expression: each
// needs a check a regular expression cannot make (Luhn, mod 97, a plausible date), and
// a scan that skips text without digits keeps a plain comment nearly free.

// prevRune is the rune before byte i, or 0 at the start.
func prevRune(s string, i int) rune {
	if i == 0 {
		return 0
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

// nextRune is the rune at byte i and the one after it, or 0 past the end.
func nextRunes(s string, i int) (rune, rune) {
	if i >= len(s) {
		return 0, 0
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if i+n >= len(s) {
		return r, 0
	}
	r2, _ := utf8.DecodeRuneInString(s[i+n:])
	return r, r2
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// startsNumber says whether a number may start at byte i: not inside a word, a URL
// path, a decimal, a reference (#123, AB-123) or an address.
func startsNumber(s string, i int) bool {
	r := prevRune(s, i)
	return !isWordRune(r) && !strings.ContainsRune("/.,#-_=&?@:%+\\", r)
}

// endsNumber says whether a number may end at byte j: not followed by more of a word, a
// decimal part (12.99), a time (14:30), a percentage or a path.
func endsNumber(s string, j int) bool {
	r, r2 := nextRunes(s, j)
	switch {
	case isWordRune(r), strings.ContainsRune("@%_/\\", r):
		return false
	case strings.ContainsRune(".,:-", r) && unicode.IsDigit(r2):
		return false
	}
	return true
}

// group is a run of digits in a number: the bytes s[start:end], and the separator
// before it.
type group struct {
	start, end int
	sep        string
}

func (g group) len() int { return g.end - g.start }

// ----- IBAN -----

// ibanLengths is the length of the IBAN of each country that has one (SWIFT registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
	"BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
	"EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
	"GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
	"JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
	"MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
	"NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
	"SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// findIBANs claims IBANs, printed in groups of four or not: a known country's length
// and a valid mod-97 check, which a mistyped or made-up one fails 96 times in 97.
func findIBANs(s string, found []Match) []Match {
	for i := 0; i+15 <= len(s); i++ {
		if !isASCIILetter(s[i]) || !isASCIILetter(s[i+1]) || !isDigit(s[i+2]) || !isDigit(s[i+3]) || !startsNumber(s, i) {
			continue
		}
		want, ok := ibanLengths[strings.ToUpper(s[i:i+2])]
		if !ok {
			continue
		}
		var b [34]byte
		n, j := 0, i
		for j < len(s) && n < want {
			c := s[j]
			switch {
			case isDigit(c) || isASCIILetter(c):
				b[n] = c
				n++
				j++
			case c == ' ' && n >= 4 && j+1 < len(s) && (isDigit(s[j+1]) || isASCIILetter(s[j+1])):
				j++
			default:
				j = len(s) + 1 // not an IBAN: stop
			}
		}
		if n != want || j > len(s) || !endsNumber(s, j) || !mod97(b[:n]) || !free(found, i, j) {
			continue
		}
		found = append(found, Match{i, j, IBAN})
		i = j - 1
	}
	return found
}

// mod97 is the IBAN check: the country and check digits moved to the end, letters
// read as 10 to 35, the number modulo 97 is 1.
func mod97(iban []byte) bool {
	rem := 0
	add := func(c byte) {
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		default:
			v := int(c|0x20-'a') + 10
			rem = (rem*100 + v) % 97
		}
	}
	for _, c := range iban[4:] {
		add(c)
	}
	for _, c := range iban[:4] {
		add(c)
	}
	return rem == 1
}

// ----- payment cards -----

// digitRun reads the digits from byte i in groups split by one separator from seps,
// the same one throughout, and returns the groups.
func digitRun(s string, i int, seps string) []group {
	var groups []group
	sep := byte(0)
	j := i
	for {
		start := j
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == start {
			break
		}
		g := group{start: start, end: j}
		if len(groups) > 0 {
			g.sep = string(sep)
		}
		groups = append(groups, g)
		if j+1 >= len(s) || strings.IndexByte(seps, s[j]) < 0 || !isDigit(s[j+1]) || sep != 0 && s[j] != sep {
			break
		}
		sep = s[j]
		j++
	}
	return groups
}

// findCards claims payment card numbers: 13 to 19 digits starting with 2 to 6 (the
// networks' ranges), written whole or grouped as printed on cards, and passing the
// Luhn check, which a mistyped number fails nine times in ten.
func findCards(s string, found []Match) []Match {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			continue
		}
		groups := digitRun(s, i, " -")
		end := groups[len(groups)-1].end
		if !startsNumber(s, i) || s[i] < '2' || s[i] > '6' {
			i = end - 1
			continue
		}
		// The longest prefix of whole groups that is a card: "4111 1111 1111 1111 12/27"
		// is a card and an expiry date.
		for k := len(groups); k > 0; k-- {
			gs := groups[:k]
			e := gs[k-1].end
			digits := digitsOf(s, gs)
			if len(digits) < 13 || len(digits) > 19 || !cardGrouping(gs) || !luhn(digits) {
				continue
			}
			if k == len(groups) && !endsNumber(s, e) {
				continue
			}
			if context(s, i, cardWords) < 0 {
				break // a barcode, serial or order number that happens to pass Luhn
			}
			if free(found, i, e) {
				found = append(found, Match{i, e, Card})
			}
			break
		}
		i = end - 1
	}
	return found
}

func digitsOf(s string, gs []group) []byte {
	var b []byte
	for _, g := range gs {
		b = append(b, s[g.start:g.end]...)
	}
	return b
}

// cardGrouping accepts the ways card numbers are written: whole, in fours (the last
// group shorter), or 4-6-5 and 4-6-4 (American Express, Diners).
func cardGrouping(gs []group) bool {
	if len(gs) == 1 {
		return true
	}
	if len(gs) == 3 && gs[0].len() == 4 && gs[1].len() == 6 && (gs[2].len() == 5 || gs[2].len() == 4) {
		return true
	}
	if len(gs) < 4 {
		return false
	}
	for _, g := range gs[:len(gs)-1] {
		if g.len() != 4 {
			return false
		}
	}
	return gs[len(gs)-1].len() <= 4
}

func luhn(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ----- phone numbers -----

// Words just before a number that say what it is, in the kiosk's languages, lower
// case. An order or receipt number looks like a phone number written without spaces; a
// phone number written without spaces and without a trunk 0 (Spanish mobiles) looks like
// an order number; one barcode in ten passes Luhn.
var (
	otherNumberWords = []string{"order", "bestell", "auftrag", "commande", "pedido", "receipt", "beleg", "bon ",
		"kassenbon", "ticket", "invoice", "rechnung", "factur", "recibo", "ref ", "ref.", "ref:", "réf",
		"reference", "referenz", "référence", "referencia", "tracking", "sendung", "suivi", "seguimiento", "sku",
		"artikel", "article", "artículo", "ean", "barcode", "code", "código", "serial", "serie", "série",
		"version", "kassenzettel", "quittung", "reçu", "transac", "colis", "paket", "package", "parcel", "envío",
		"part ", "teil"}
	phoneWords = []string{"call", "phone", "tel", "mobile", "cell", "ring", "text me", "whatsapp", "reach me",
		"contact", "anruf", "rückruf", "zurückruf", "ruf ", "handy", "appel", "rappel", "portable", "joindre",
		"llam", "llám", "móvil", "movil", "teléfono", "telefono", "kontakt", "contacto"}

	cardWords = []string{"card", "karte", "carte", "tarjeta", "visa", "amex", "mastercard", "paid", "charged",
		"bezahlt", "payé", "débit", "pagué", "cobr"}
)

// lastWord is where the last occurrence of w in s starts that starts a word too, or -1.
func lastWord(s, w string) int {
	for end := len(s); ; {
		i := strings.LastIndex(s[:end], w)
		if i < 0 || !unicode.IsLetter(prevRune(s, i)) {
			return i
		}
		end = i
	}
}

// context says whether the words just before byte i name the kind of number the
// detector looks for (1: one of words), another kind (-1), or neither (0); the nearest
// word wins.
func context(s string, i int, words []string) int {
	from := max(0, i-32)
	for from > 0 && from < i && !utf8.RuneStart(s[from]) {
		from--
	}
	window := strings.ToLower(s[from:i])
	neg, pos := -1, -1
	for _, w := range otherNumberWords {
		neg = max(neg, lastWord(window, w))
	}
	for _, w := range words {
		pos = max(pos, lastWord(window, w))
	}
	switch {
	case pos > neg:
		return 1
	case neg > pos:
		return -1
	}
	if strings.HasSuffix(strings.TrimRight(window, " "), "#") {
		return -1
	}
	return 0
}

// findPhones claims phone numbers in international and national formats: +44 20 7946
// 0958, 0049 30 1234567, (212) 555-0100, 06 12 34 56 78. Dates, prices, times,
// postcodes, versions and order numbers have digits too; the checks below are what
// tells them apart, and the corpus in testdata measures how well.
func findPhones(s string, found []Match) []Match {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || c == '+' || c == '(') || i > 0 && (isDigit(s[i-1]) || s[i-1] == '+' || s[i-1] == '(') {
			continue
		}
		if !startsNumber(s, i) {
			continue
		}
		end, groups := phoneRun(s, i)
		if len(groups) == 0 {
			continue
		}
		start := i
		if s[i] == '(' && !strings.Contains(s[i:end], ")") {
			start++ // "(0612 345678 is mine)": the bracket is the sentence's
		}
		if free(found, start, end) && isPhone(s, start, end, groups) {
			found = append(found, Match{start, end, Phone})
		}
		i = end - 1
	}
	return found
}

// phoneRun reads a candidate from byte i: an optional +, digits and the separators
// people put between them (space, -, ., /, brackets), at most two in a row.
func phoneRun(s string, i int) (int, []group) {
	j := i
	if s[j] == '+' {
		j++
	} else if strings.HasPrefix(s[j:], "(+") {
		j += 2
	}
	var groups []group
	sep := ""
	end := i
	for j < len(s) {
		c := s[j]
		switch {
		case isDigit(c):
			start := j
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			groups = append(groups, group{start: start, end: j, sep: sep})
			sep, end = "", j
			continue
		case strings.IndexByte(" -./()", c) >= 0 && len(sep) < 3:
			sep += string(c)
			j++
			continue
		case c == 0xc2 && j+1 < len(s) && s[j+1] == 0xa0 && len(sep) < 3: // no-break space
			sep += " "
			j += 2
			continue
		}
		break
	}
	return end, groups
}

func isPhone(s string, start, end int, groups []group) bool {
	text := s[start:end]
	if !endsNumber(s, end) {
		return false
	}
	digits := 0
	for _, g := range groups {
		digits += g.len()
	}
	plus := text[0] == '+' || strings.HasPrefix(text, "(+")
	first := s[groups[0].start:groups[0].end]
	intl := !plus && strings.HasPrefix(first, "00")
	switch {
	case plus && (digits < 8 || digits > 15):
		return false
	case intl && (digits < 10 || digits > 17):
		return false
	case !plus && !intl && (digits < 8 || digits > 12):
		return false
	}
	if money(s, start, end) {
		return false
	}
	if plus {
		return true
	}
	french := len(groups) >= 5
	for _, g := range groups[1:] {
		french = french && g.len() == 2
	}
	if french && groups[0].len() == 2 && first[0] != '0' {
		return false // sizes, aisles, scores: "36 38 40 42 44"; a phone number in pairs starts 0
	}
	for k := 0; k+2 < len(groups) && !french; k++ {
		a, b := groups[k+1].sep, groups[k+2].sep
		if a == b && (a == "." || a == "/" || a == "-") && date(s, groups[k], groups[k+1], groups[k+2]) {
			return false
		}
	}
	if strings.Contains(text, ".") && !french && !(len(groups) == 3 && groups[0].len() == 3 && groups[1].len() == 3 && groups[2].len() == 4) {
		return false // versions, IP addresses, prices with thousands separators
	}
	if len(groups) == 2 && groups[0].len() == 5 && groups[1].len() == 4 && groups[1].sep == "-" {
		return false // a ZIP+4 postcode
	}
	if len(groups) >= 3 {
		fours := true
		for _, g := range groups {
			fours = fours && g.len() == 4
		}
		if fours {
			return false // a card number that fails Luhn, a voucher or serial number
		}
	}
	ctx := context(s, start, phoneWords)
	if ctx < 0 {
		return false
	}
	if len(groups) == 1 && first[0] != '0' && ctx == 0 {
		return false // an order or receipt number, unless the words say it is a phone
	}
	return true
}

// date says whether three groups of digits read as a date: year-month-day or
// day-month-year either way round.
func date(s string, a, b, c group) bool {
	n := func(g group) int {
		v := 0
		for _, d := range s[g.start:g.end] {
			v = v*10 + int(d-'0')
		}
		return v
	}
	x, y, z := n(a), n(b), n(c)
	switch {
	case a.len() == 4 && b.len() <= 2 && c.len() <= 2:
		return y >= 1 && y <= 12 && z >= 1 && z <= 31
	case a.len() <= 2 && b.len() <= 2 && (c.len() == 2 || c.len() == 4):
		return x >= 1 && y >= 1 && (x <= 12 && y <= 31 || x <= 31 && y <= 12)
	}
	return false
}

// money says whether a currency sign or word stands right before or after the number.
func money(s string, start, end int) bool {
	before := strings.TrimRight(s[max(0, start-4):start], " \u00a0")
	if strings.HasSuffix(before, "€") || strings.HasSuffix(before, "$") || strings.HasSuffix(before, "£") {
		return true
	}
	after := strings.ToLower(strings.TrimLeft(s[end:min(len(s), end+8)], " \u00a0"))
	for _, w := range []string{"€", "$", "£", "eur", "usd", "gbp", "chf", "dollar", "pesos", "pounds", "francs"} {
		if strings.HasPrefix(after, w) {
			return true
		}
	}
	return false
}
