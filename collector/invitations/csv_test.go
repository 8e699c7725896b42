package invitations

import (
	"errors"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/response"
)

// A list is read whatever its column order, case, separator or byte-order mark; a row
// that cannot be read carries its problem and line, and the rows after it are read; a
// file without the required columns is refused whole.
func TestParseCSV(t *testing.T) {
	tests := []struct {
		name, file string
		want       []Invitee // Problem set: the row's problem must contain it
		bad        string    // the file is refused with an error containing this
	}{
		{name: "the four columns",
			file: "email,language,order_id,segment\nana@example.com,de,A-1,vip\nbo@example.com,en,,\n",
			want: []Invitee{{Email: "ana@example.com", Language: "de", OrderID: "A-1", Segment: "vip", Line: 2},
				{Email: "bo@example.com", Language: "en", Line: 3}}},
		{name: "other order, capitals, spaces, no optional columns",
			file: "Language , E-Mail\r\nfr, cy@example.com\r\n",
			want: []Invitee{{Email: "cy@example.com", Language: "fr", Line: 2}}},
		{name: "semicolons and a byte-order mark (a spreadsheet in a European locale)",
			file: "\uFEFFemail;language;order_id\ndee@example.com;es;\"B;2\"\n",
			want: []Invitee{{Email: "dee@example.com", Language: "es", OrderID: "B;2", Line: 2}}},
		{name: "blank lines are skipped, lines still counted",
			file: "email,language\n\nana@example.com,de\n",
			want: []Invitee{{Email: "ana@example.com", Language: "de", Line: 3}}},
		{name: "a short row and a long row do not stop the others",
			file: "email,language\nana@example.com\nbo@example.com,en,extra\ncy@example.com,fr\n",
			want: []Invitee{{Line: 2, Problem: "1 fields, but the header row has 2"}, {Line: 3, Problem: "3 fields"},
				{Email: "cy@example.com", Language: "fr", Line: 4}}},
		{name: "a broken quote", file: "email,language\n\"ana@example.com,de\n",
			want: []Invitee{{Line: 2, Problem: "not valid CSV"}}},
		{name: "no language column", file: "email,order_id\nana@example.com,1\n", bad: "no language column"},
		{name: "no email column", file: "mail,language\nana@example.com,de\n", bad: "no email column"},
		{name: "a column twice", file: "email,language,email\n", bad: "appears twice"},
		{name: "an empty file", file: "", bad: "empty"},
		{name: "only a header", file: "email,language\n", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tt.file))
			if tt.bad != "" {
				if !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), tt.bad) {
					t.Fatalf("error %v, want ErrBadFile saying %q", err, tt.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i, w := range tt.want {
				g := got[i]
				if w.Problem != "" {
					if g.Line != w.Line || !strings.Contains(g.Problem, w.Problem) {
						t.Errorf("row %d: %+v, want line %d with a problem saying %q", i, g, w.Line, w.Problem)
					}
					continue
				}
				if g != w {
					t.Errorf("row %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// Check refuses what cannot be invited and tidies the rest.
func TestInviteeCheck(t *testing.T) {
	tests := []struct {
		in      Invitee
		want    Invitee // when ok
		problem string  // else
	}{
		{in: Invitee{Email: " ana@example.com ", Language: "DE-at", OrderID: " A-1 "},
			want: Invitee{Email: "ana@example.com", Language: "de", OrderID: "A-1"}},
		{in: Invitee{Email: "bo@example.com", Language: "en_GB"}, want: Invitee{Email: "bo@example.com", Language: "en"}},
		{in: Invitee{Email: "", Language: "en"}, problem: "empty"},
		{in: Invitee{Email: "ana@", Language: "en"}, problem: "not an e-mail address"},
		{in: Invitee{Email: "ana@localhost", Language: "en"}, problem: "not an e-mail address"},
		{in: Invitee{Email: "Ana <ana@example.com>", Language: "en"}, problem: "not an e-mail address"},
		{in: Invitee{Email: "ana@example.com, bo@example.com", Language: "en"}, problem: "not an e-mail address"},
		{in: Invitee{Email: strings.Repeat("a", 250) + "@example.com", Language: "en"}, problem: "over 254"},
		{in: Invitee{Email: "ana@example.com", Language: "it"}, problem: `language "it"`},
		{in: Invitee{Email: "ana@example.com", Language: ""}, problem: `language ""`},
		{in: Invitee{Email: "ana@example.com", Language: "english"}, problem: "language"},
		{in: Invitee{Email: "ana@example.com", Language: "en", OrderID: strings.Repeat("9", 65)}, problem: "order id"},
		{in: Invitee{Email: "ana@example.com", Language: "en", Segment: "a\x00b"}, problem: "segment"},
		// The answers carry the segment and reports filter by it: a label, capitals folded.
		{in: Invitee{Email: "ana@example.com", Language: "en", Segment: " VIP "}, want: Invitee{Email: "ana@example.com", Language: "en", Segment: "vip"}},
		{in: Invitee{Email: "ana@example.com", Language: "en", Segment: "vip guests"}, problem: `segment "vip guests"`},
		{in: Invitee{Problem: "3 fields"}, problem: "3 fields"},
	}
	for _, tt := range tests {
		got, err := tt.in.Check()
		if tt.problem != "" {
			if !errors.Is(err, response.ErrInvalid) || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("Check(%+v) = %v, want ErrInvalid saying %q", tt.in, err, tt.problem)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Check(%+v) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// A list read from CSV is screened before anything is sent: invalid rows fail with why,
// an address already in the list (whatever its case or spaces) is skipped as a
// duplicate of its first line, and the rest go on to be invited.
func TestScreenList(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string // per row: status/reason, or "invite"
		detail     map[int]string
	}{
		{name: "duplicates by case and spaces",
			file:   "email,language\nana@example.com,en\nANA@Example.com,de\n ana@example.com ,fr\nbo@example.com,en\n",
			want:   []string{"invite", "skipped/duplicate", "skipped/duplicate", "invite"},
			detail: map[int]string{1: "the same address as line 2", 2: "the same address as line 2"}},
		{name: "a bad first row does not make the next a duplicate",
			file: "email,language\nana@example.com,it\nana@example.com,es\n",
			want: []string{"failed/invalid", "invite"}, detail: map[int]string{0: `language "it"`}},
		{name: "bad e-mail, unknown language, short row",
			file:   "email;language;order_id\nana(at)example.com;en;1\nbo@example.com;klingon;2\ncy@example.com;en\ndee@example.com;EN-us;3\n",
			want:   []string{"failed/invalid", "failed/invalid", "failed/invalid", "invite"},
			detail: map[int]string{0: "not an e-mail address", 1: "klingon", 2: "2 fields"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := ParseCSV(strings.NewReader(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := screen(list)
			if len(got) != len(tt.want) {
				t.Fatalf("%d rows screened, want %d", len(got), len(tt.want))
			}
			for i, sc := range got {
				status := "invite"
				if sc.Status != "" {
					status = sc.Status + "/" + sc.Reason
				}
				if status != tt.want[i] || !strings.Contains(sc.Detail, tt.detail[i]) || sc.Index != i || sc.Line != list[i].Line {
					t.Errorf("row %d: %s %+v, want %s with %q", i, status, sc.Result, tt.want[i], tt.detail[i])
				}
				if status == "invite" {
					if _, err := sc.in.Check(); err != nil || sc.in.Language == "" || sc.in.Email != strings.TrimSpace(sc.in.Email) {
						t.Errorf("row %d to invite: %+v, %v", i, sc.in, err)
					}
				}
			}
		})
	}
}
