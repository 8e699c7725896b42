package response

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// DecodeResponses must give every item of an array what DecodeResponse gives the item's
// bytes alone: the same response and the same error, whatever else the array holds.
func TestDecodeResponsesDecodesEachItemAsDecodeResponse(t *testing.T) {
	const good = `{"id":"g","score":9,"reasons":["staff"],"comment":"fine \u0026 dandy ☺","locale":"en","survey_version":1,"created_at":"2026-03-01T10:00:00Z","completed_at":"2026-03-01T10:00:05Z","outcome":"submitted"}`
	items := []string{
		good,
		`{"id":"z","score":0,"locale":"en"}`,
		`{"id":"zs","SCORE":0}`,  // the decoder takes the key, the required check does not
		`{"id":"zs7","SCORE":7}`, // a score all the same
		`{"id":"dup","score":5,"score":null}`,
		`{"id":"dup0","score":0,"Score":0}`,
		`{"id":"esc","\u0073core":0}`,
		`{"id":"ws" , "score" : 3 }`,
		`{"id":"nested","score":4,"answers":{"q":["a","b"]}}`,
		`7`,
		`null`,
		`"text"`,
		`[1,2]`,
	}
	// Text that may not be UTF-8 anywhere in the body sends every item the slow way; the
	// plain items alone are read once.
	all, plain := slices.Clone(items), slices.Clone(items)
	for _, c := range InvalidJSONCorpus() {
		all = append(all, c.JSON)
		if checkText([]byte(c.JSON)) == nil && !strings.Contains(c.JSON, `\ud`) {
			plain = append(plain, c.JSON)
		}
	}
	for _, tc := range []struct {
		items []string
		sep   string
	}{{plain, ","}, {all, ","}, {plain, " ,\n\t"}, {all, "\r\n,  "}} {
		items := tc.items
		t.Run(fmt.Sprintf("%d items separated by %q", len(items), tc.sep), func(t *testing.T) {
			body := []byte(`{"responses": [` + strings.Join(items, tc.sep) + "] }")
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if _, err := dec.Token(); err != nil { // {
				t.Fatal(err)
			}
			if _, err := dec.Token(); err != nil { // "responses"
				t.Fatal(err)
			}
			rs, errs, ok := DecodeResponses(dec, body, len(items))
			if !ok {
				t.Fatal("DecodeResponses could not read the array")
			}
			if len(rs) != len(items) || len(errs) != len(items) {
				t.Fatalf("%d responses and %d errors for %d items", len(rs), len(errs), len(items))
			}
			for i, item := range items {
				want, wantErr := DecodeResponse([]byte(item))
				if fmt.Sprint(errs[i]) != fmt.Sprint(wantErr) {
					t.Errorf("item %s: error %v, want %v", item, errs[i], wantErr)
				}
				if fmt.Sprintf("%+v", rs[i]) != fmt.Sprintf("%+v", want) {
					t.Errorf("item %s:\n got %+v\nwant %+v", item, rs[i], want)
				}
			}
		})
	}
}

// An array that cannot be read through, or holds more items than asked for, is left to the caller, who decodes the body the
// slow way and says what is wrong.
func TestDecodeResponsesGivesUpOnBrokenArrays(t *testing.T) {
	for _, body := range []string{
		`{"id":"a","score":1}`,
		`null`,
		`[{"id":"a","score":1},{"id":"b","score":`,
		`[{"id":"a","score":1} {"id":"b","score":2}]`,
		`[{"id":"a","score":1},}]`,
		`[{"id":"a","score":1}`,
		`[{"id":"a","score":1,]`,
		`[{"id":"a","score":1},{"id":"b","score":2},{"id":"c","score":3}]`, // more than 2
	} {
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if rs, _, ok := DecodeResponses(dec, []byte(body), 2); ok {
			t.Errorf("DecodeResponses(%s) = %d responses, ok; want not ok", body, len(rs))
		}
	}
}
