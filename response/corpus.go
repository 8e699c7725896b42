package response

import (
	"strings"
	"time"
)

// InvalidCase is a response that breaks one rule, and the error every part that checks
// responses must give for it.
type InvalidCase struct {
	Name     string
	Response Response
	Error    string
}

// InvalidCorpus returns responses that each break one rule, with the error Validate
// gives. The store's and the collector's tests feed the same corpus to their own entry
// points, so no part can drift from these rules.
// wellFormedSealed has the form of a sealed contact (it opens with no key).
var wellFormedSealed = "hpke1:0123456789abcdef:" + strings.Repeat("A", 150)

func InvalidCorpus() []InvalidCase {
	base := func(edit func(*Response)) Response {
		created := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		r := Response{ID: "0195a3c4-7f00-7abc-8def-0123456789ab", Score: 6, Reasons: []string{"staff"},
			Locale: "en", SurveyVersion: 1, CreatedAt: created, CompletedAt: created.Add(5 * time.Second),
			Outcome: OutcomeSubmitted}
		edit(&r)
		return r
	}
	return []InvalidCase{
		{"score below range", base(func(r *Response) { r.Score = -1 }), "invalid input: score must be an integer from 0 to 10: got -1"},
		{"score above range", base(func(r *Response) { r.Score = 11 }), "invalid input: score must be an integer from 0 to 10: got 11"},
		{"no locale", base(func(r *Response) { r.Locale = "" }), `invalid input: locale "" must be a language tag of 1 to 35 characters`},
		{"locale not UTF-8", base(func(r *Response) { r.Locale = "\xff" }), `invalid input: locale "\xff" must be a language tag of 1 to 35 characters`},
		{"negative survey version", base(func(r *Response) { r.SurveyVersion = -1 }), "invalid input: survey version -1 is negative"},
		{"unknown outcome", base(func(r *Response) { r.Outcome = "abandoned" }), `invalid input: outcome "abandoned" is not one of submitted, skipped, timed_out, recovered`},
		{"too many reasons", base(func(r *Response) { r.Reasons = strings.Fields("a b c d e f g h i") }), "invalid input: 9 reasons given, at most 8 allowed"},
		{"empty reason", base(func(r *Response) { r.Reasons = []string{""} }), `invalid input: reason key "" must be valid text of 1 to 64 characters`},
		{"reason twice", base(func(r *Response) { r.Reasons = []string{"staff", "staff"} }), `invalid input: reason "staff" given twice`},
		{"comment not UTF-8", base(func(r *Response) { r.Comment = "bad \xff" }), "invalid input: comment is not valid UTF-8"},
		{"comment too long", base(func(r *Response) { r.Comment = strings.Repeat("é", MaxCommentRunes+1) }), "invalid input: comment has 1001 characters, at most 1000 allowed"},
		{"contact too long", base(func(r *Response) {
			r.Contact, r.ContactConsent = strings.Repeat("a", MaxContactRunes+1), true
		}), "invalid input: contact has 255 characters, at most 254 allowed"},
		{"contact without consent", base(func(r *Response) { r.Contact = "ana@example.com" }), "invalid input: contact details given without consent to be contacted"},
		{"sealed contact without consent", base(func(r *Response) { r.SealedContact = wellFormedSealed }), "invalid input: contact details given without consent to be contacted"},
		{"sealed contact not sealed", base(func(r *Response) {
			r.SealedContact, r.ContactConsent = "ana@example.com", true
		}), `invalid input: sealed contact: not a sealed contact: it does not start with "hpke1:"`},
		{"contact in clear and sealed", base(func(r *Response) {
			r.Contact, r.SealedContact, r.ContactConsent = "ana@example.com", wellFormedSealed, true
		}), "invalid input: contact given both in clear and sealed"},
		{"channel in capitals", base(func(r *Response) { r.Channel = "QR" }), `invalid input: channel "QR" must be 1 to 32 characters of a-z, 0-9, - and _, starting with a letter`},
		{"touchpoint with a space", base(func(r *Response) { r.Touchpoint = "check out" }), `invalid input: touchpoint "check out" must be 1 to 32 characters of a-z, 0-9, - and _, starting with a letter`},
		{"an answer too long", base(func(r *Response) {
			r.Answers = map[string][]string{"improve": {strings.Repeat("x", MaxAnswerTextRunes+1)}}
		}),
			`invalid input: question "improve": an answer must be valid text of 1 to 200 characters`},
		{"an answer not UTF-8", base(func(r *Response) { r.Answers = map[string][]string{"improve": {"bad \xff"}} }),
			`invalid input: question "improve": an answer must be valid text of 1 to 200 characters`},
		{"a question with no answer", base(func(r *Response) { r.Answers = map[string][]string{"found": {}} }),
			`invalid input: question "found": 1 to 10 values, got 0`},
		{"an order id too long", base(func(r *Response) { r.OrderID = strings.Repeat("9", MaxOrderIDRunes+1) }),
			"invalid input: order id must be 1 to 64 printable characters without spaces at either end"},
		{"an order id with a line break", base(func(r *Response) { r.OrderID = "A-1001\nX" }),
			"invalid input: order id must be 1 to 64 printable characters without spaces at either end"},
		{"a segment in capitals", base(func(r *Response) { r.Segment = "VIP" }),
			`invalid input: segment "VIP" must be 1 to 32 characters of a-z, 0-9, - and _, starting with a letter`},
	}
}

// InvalidJSONCase is a JSON form of a response that breaks one rule only its JSON can
// break, and the error ParseJSON gives for it.
type InvalidJSONCase struct {
	Name  string
	JSON  string
	Error string
}

// InvalidJSONCorpus returns JSON forms of responses that the standard decoder would
// take as something else (a missing score as a 0, broken text as U+FFFD), with the
// error every JSON ingest path must give. Each is an otherwise valid response whose id
// is the one of InvalidCorpus.
func InvalidJSONCorpus() []InvalidJSONCase {
	const head = `{"id":"0195a3c4-7f00-7abc-8def-0123456789ab",`
	const tail = `"reasons":["staff"],"locale":"en","survey_version":1,"created_at":"2026-03-01T10:00:00Z","completed_at":"2026-03-01T10:00:05Z","outcome":"submitted"}`
	return []InvalidJSONCase{
		{"score missing", head + tail, "invalid input: score is missing"},
		{"score null", head + `"score":null,` + tail, "invalid input: score is null"},
		{"score a string", head + `"score":"9",` + tail, "invalid input: score must be a JSON number, not string"},
		{"score a fraction", head + `"score":9.5,` + tail, "invalid input: score must be a JSON number, not number 9.5"},
		{"comment not UTF-8", head + `"score":6,"comment":"bad ` + "\xff" + `",` + tail, "invalid input: comment is not valid UTF-8"},
		{"comment half a surrogate pair", head + `"score":6,"comment":"bad \ud800",` + tail, "invalid input: comment is not valid UTF-8"},
		{"reason not UTF-8", head + `"score":6,"reasons":["staff","` + "\xc3" + `"],"locale":"en","survey_version":1,"created_at":"2026-03-01T10:00:00Z","completed_at":"2026-03-01T10:00:05Z","outcome":"submitted"}`,
			"invalid input: reasons[1] is not valid UTF-8"},
		{"answer not UTF-8", head + `"score":6,"answers":{"improve":["\udfff"]},` + tail, "invalid input: answers.improve[0] is not valid UTF-8"},
		{"field name not UTF-8", head + `"score":6,"` + "\xfe" + `":1,` + tail, "invalid input: a field name in the body is not valid UTF-8"},
		{"unknown field", head + `"score":6,"scor":9,` + tail, `invalid input: unknown field "scor"`},
		{"reason twice", head + `"score":6,"reasons":["staff","staff","staff"],"locale":"en","survey_version":1,"created_at":"2026-03-01T10:00:00Z","completed_at":"2026-03-01T10:00:05Z","outcome":"submitted"}`,
			`invalid input: reason "staff" given twice`},
		{"created_at before 1970", head + `"score":6,"reasons":["staff"],"locale":"en","survey_version":1,"created_at":"1969-12-31T23:59:59Z","completed_at":"2026-03-01T10:00:05Z","outcome":"submitted"}`,
			"invalid input: created_at 1969-12-31T23:59:59Z is out of range (1970 to 9999)"},
		{"completed_at past 9999", head + `"score":6,"reasons":["staff"],"locale":"en","survey_version":1,"created_at":"2026-03-01T10:00:00Z","completed_at":"9999-12-31T23:00:00-05:00","outcome":"submitted"}`,
			"invalid input: completed_at 10000-01-01T04:00:00Z is out of range (1970 to 9999)"},
		{"not an object", `[6]`, "invalid input: the body must be a JSON object, not array"},
	}
}
