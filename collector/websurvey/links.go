package websurvey

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/qr"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// ParseBaseURL checks the collector's public address, the start of every survey link
// (https://nps.example.com, or with a path prefix if a proxy publishes it under one),
// and returns it without a trailing slash.
func ParseBaseURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("public URL %q: give the collector's address as shoppers' phones reach it, such as https://nps.example.com", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// LinkURL is the address of a link's survey under the public base URL.
func LinkURL(base, code string) string { return strings.TrimRight(base, "/") + "/s/" + code }

// LinkRequest is a link to make, as the CLI and the dashboard ask for it.
type LinkRequest struct {
	StoreID, Channel, Touchpoint, Label string
	// Expires is the last day (YYYY-MM-DD) the link takes answers, to midnight at its
	// end in the store's time zone; TTL, instead, how long from now. Neither: never.
	Expires string
	TTL     time.Duration
}

// AddLink makes a link from a request; see storage.DB.AddLink for what it checks.
func AddLink(ctx context.Context, svc *collector.Service, req LinkRequest) (storage.Link, error) {
	nl := storage.NewLink{StoreID: req.StoreID, Channel: strings.TrimSpace(req.Channel),
		Touchpoint: strings.TrimSpace(req.Touchpoint), Label: req.Label}
	switch {
	case req.Expires != "" && req.TTL != 0:
		return storage.Link{}, fmt.Errorf("add link: %w: give an expiry date or a time to live, not both", storage.ErrInvalid)
	case req.TTL < 0:
		return storage.Link{}, fmt.Errorf("add link: %w: the time to live %s is negative", storage.ErrInvalid, req.TTL)
	case req.TTL > 0:
		nl.ExpiresAt = svc.Now().Add(req.TTL)
	case req.Expires != "":
		st, err := svc.Store(ctx, req.StoreID)
		if err != nil {
			return storage.Link{}, fmt.Errorf("add link: %w", err)
		}
		loc, err := time.LoadLocation(st.Timezone)
		if err != nil {
			return storage.Link{}, fmt.Errorf("add link: store %s time zone: %w", st.ID, err)
		}
		day, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(req.Expires), loc)
		if err != nil {
			return storage.Link{}, fmt.Errorf("add link: %w: expiry %q is not a date, YYYY-MM-DD", storage.ErrInvalid, req.Expires)
		}
		nl.ExpiresAt = day.AddDate(0, 0, 1)
	}
	return svc.AddLink(ctx, nl)
}

// Printable is a file to print for a link: its QR code or a poster.
type Printable struct {
	Kind        string // one of PrintableKinds
	Name        string // a file name: the link's code and the kind
	ContentType string
	Body        []byte
}

// PrintableKinds are the files a link can be printed as: the QR code as PNG (for
// documents and screens) and SVG (for print shops), and the A4 and Letter posters.
var PrintableKinds = []string{"qr.png", "qr.svg", "poster-a4.pdf", "poster-letter.pdf"}

// ErrUnknownPrintable is a kind not in PrintableKinds.
var ErrUnknownPrintable = errors.New("no such printable")

// Print makes one printable of a link whose survey page is under base. The poster
// asks the store's question in the survey's first language.
func Print(ctx context.Context, svc *collector.Service, l storage.Link, base, kind string) (Printable, error) {
	code, err := qr.Encode(LinkURL(base, l.Code))
	if err != nil {
		return Printable{}, err
	}
	var buf bytes.Buffer
	p := Printable{Kind: kind, Name: l.Code + "-" + kind}
	switch kind {
	case "qr.png":
		p.ContentType = "image/png"
		err = code.PNG(&buf, 16)
	case "qr.svg":
		p.ContentType = "image/svg+xml"
		err = code.SVG(&buf, 60)
	case "poster-a4.pdf", "poster-letter.pdf":
		p.ContentType = "application/pdf"
		var poster qr.Poster
		poster, err = posterText(ctx, svc, l, base)
		if err != nil {
			return Printable{}, err
		}
		poster.Paper = qr.A4
		if kind == "poster-letter.pdf" {
			poster.Paper = qr.Letter
		}
		err = qr.WritePoster(&buf, code, poster)
	default:
		return Printable{}, fmt.Errorf("%w: %q (try %s)", ErrUnknownPrintable, kind, strings.Join(PrintableKinds, ", "))
	}
	if err != nil {
		return Printable{}, fmt.Errorf("print link %s as %s: %w", l.Code, kind, err)
	}
	p.Body = buf.Bytes()
	return p, nil
}

// PrintAll makes every printable of a link.
func PrintAll(ctx context.Context, svc *collector.Service, l storage.Link, base string) ([]Printable, error) {
	var out []Printable
	for _, kind := range PrintableKinds {
		p, err := Print(ctx, svc, l, base, kind)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// posterText is what a link's poster says, in the store's first language.
func posterText(ctx context.Context, svc *collector.Service, l storage.Link, base string) (qr.Poster, error) {
	sv, err := svc.Survey(ctx, l.StoreID)
	if err != nil {
		return qr.Poster{}, err
	}
	texts, err := newCatalog()
	if err != nil {
		return qr.Poster{}, err
	}
	lang := offered(sv.Languages)[0]
	title := texts.T(lang, "rating.question", "store", sv.StoreName)
	if q := sv.Question[lang]; q != "" {
		title = strings.ReplaceAll(q, "{store}", sv.StoreName)
	}
	shown := LinkURL(base, l.Code)
	if rest, ok := strings.CutPrefix(shown, "https://"); ok {
		shown = rest // phones' browsers try https first: the short form is the easier to type
	}
	footer := sv.StoreName
	for _, s := range []string{l.Label, l.Touchpoint} {
		if s != "" {
			footer += " · " + s
			break
		}
	}
	return qr.Poster{Title: title, Call: texts.T(lang, "poster.call") + "\n" + texts.T(lang, "poster.or"), URL: shown,
		Footer: footer, Created: l.CreatedAt}, nil
}
