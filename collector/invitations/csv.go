package invitations

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/response"
)

// Limits on an invitation list.
const (
	// MaxFieldRunes bounds an order id and a segment.
	MaxFieldRunes = 64
	// MaxRows bounds one CSV file; split a longer list.
	MaxRows = 100_000
)

// Invitee is one person to invite.
type Invitee struct {
	Email    string `json:"email"`
	Language string `json:"language"`           // en, es, fr or de; de-AT and the like are read as de
	OrderID  string `json:"order_id,omitempty"` // optional: named in the e-mail, kept with the invitation
	Segment  string `json:"segment,omitempty"`  // optional: kept with the invitation, for reports
	// Line is the line of the CSV file it was read from; zero from the API.
	Line int `json:"-"`
	// Problem says why a CSV row could not be read into an invitee.
	Problem string `json:"-"`
}

// Check returns the invitee tidied (the address trimmed, the language reduced to one
// of the four), or why it cannot be invited, wrapping response.ErrInvalid.
func (in Invitee) Check() (Invitee, error) {
	if in.Problem != "" {
		return in, fmt.Errorf("%w: %s", response.ErrInvalid, in.Problem)
	}
	in.Email = strings.TrimSpace(in.Email)
	a, err := mail.ParseAddress(in.Email)
	switch {
	case in.Email == "":
		return in, fmt.Errorf("%w: the e-mail address is empty", response.ErrInvalid)
	case err != nil || a.Address != in.Email || !strings.Contains(in.Email[strings.LastIndexByte(in.Email, '@')+1:], "."):
		return in, fmt.Errorf("%w: %q is not an e-mail address", response.ErrInvalid, in.Email)
	case len(in.Email) > response.MaxContactRunes:
		return in, fmt.Errorf("%w: the e-mail address is over %d characters", response.ErrInvalid, response.MaxContactRunes)
	}
	lang, ok := collector.InvitationLanguage(strings.TrimSpace(in.Language))
	if !ok {
		return in, fmt.Errorf("%w: language %q: invitations are written in en, es, fr and de", response.ErrInvalid, in.Language)
	}
	in.Language = lang
	in.OrderID, in.Segment = strings.TrimSpace(in.OrderID), strings.TrimSpace(in.Segment)
	for what, v := range map[string]string{"order id": in.OrderID, "segment": in.Segment} {
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > MaxFieldRunes || strings.ContainsFunc(v, isControl) {
			return in, fmt.Errorf("%w: the %s must be text of at most %d characters", response.ErrInvalid, what, MaxFieldRunes)
		}
	}
	if in.Segment != "" {
		// The answers carry the segment, and reports filter by it: a label, as a
		// channel's. Capitals are a spreadsheet's habit, not a different segment.
		in.Segment = strings.ToLower(in.Segment)
		if err := response.CheckLabel("segment", in.Segment); err != nil {
			return in, err
		}
	}
	return in, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// The columns of an invitation list; the first two are required.
var columns = []string{"email", "language", "order_id", "segment"}

// ErrBadFile is wrapped when a CSV file cannot be read as an invitation list at all.
var ErrBadFile = errors.New("not an invitation list")

// ParseCSV reads an invitation list: a header row naming the columns email and
// language, and optionally order_id and segment, in any order and case; then one
// invitee a row. Commas or semicolons separate the fields (a spreadsheet saved in a
// European locale uses semicolons). A row that cannot be read is returned with its
// Problem and does not stop the others; a file without the required columns is an
// error wrapping ErrBadFile. Rows are not checked here: see Invitee.Check.
func ParseCSV(r io.Reader) ([]Invitee, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read the invitation list: %w", err)
	}
	head = bytes.TrimPrefix(head, []byte("\uFEFF"))
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\uFEFF")) {
		br.Discard(3)
	}
	first, _, _ := bytes.Cut(head, []byte("\n"))
	cr := csv.NewReader(br)
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1 // a short or long row is that row's problem, not the file's
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: the file is empty; its first row must name the columns email and language", ErrBadFile)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: header row: %w", ErrBadFile, err)
	}
	index := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		name = strings.NewReplacer(" ", "_", "-", "_").Replace(name)
		if name == "e_mail" {
			name = "email"
		}
		if _, dup := index[name]; dup && name != "" {
			return nil, fmt.Errorf("%w: column %q appears twice in the header row", ErrBadFile, name)
		}
		index[name] = i
	}
	for _, required := range columns[:2] {
		if _, ok := index[required]; !ok {
			return nil, fmt.Errorf("%w: the header row %q has no %s column (the columns are %s; order_id and segment may be left out)",
				ErrBadFile, strings.Join(header, string(cr.Comma)), required, strings.Join(columns, ", "))
		}
	}
	var out []Invitee
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if len(out) >= MaxRows {
			return nil, fmt.Errorf("%w: over %d rows: split the list", ErrBadFile, MaxRows)
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			out = append(out, Invitee{Line: pe.StartLine, Problem: "the row is not valid CSV: " + pe.Err.Error()})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read the invitation list: %w", err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		line, _ := cr.FieldPos(0)
		in := Invitee{Line: line}
		if len(rec) != len(header) {
			in.Problem = fmt.Sprintf("%d fields, but the header row has %d", len(rec), len(header))
			out = append(out, in)
			continue
		}
		field := func(name string) string {
			if i, ok := index[name]; ok {
				return rec[i]
			}
			return ""
		}
		in.Email, in.Language, in.OrderID, in.Segment = field("email"), field("language"), field("order_id"), field("segment")
		out = append(out, in)
	}
	return out, nil
}
