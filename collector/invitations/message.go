package invitations

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// mailView is what an invitation e-mail shows.
type mailView struct {
	Lang      string
	Intro     string
	Order     string // empty without an order id
	Question  string
	Low, High string
	Scores    []scoreLink
	Expires   string
	Ignore    string
	UnsubText string
	Unsub     string // the word on the link
	UnsubURL  string
}

type scoreLink struct {
	Score int
	URL   string
}

// The e-mail's two parts. Every link in them is a GET that records nothing: the score
// links open a page with one button, and the unsubscribe link a page with another.
var (
	mailText = texttemplate.Must(texttemplate.New("text").Parse(`{{.Intro}}
{{if .Order}}{{.Order}}
{{end}}
{{.Question}}
0 = {{.Low}}, 10 = {{.High}}
{{range .Scores}}
  {{printf "%2d" .Score}}  {{.URL}}{{end}}

{{.Expires}}
{{.Ignore}}

-- 
{{.UnsubText}} {{.UnsubURL}}
`))
	// Mail clients ignore style sheets: the styles are inline, the layout a table.
	mailHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="margin:0;padding:16px;background:#f4f5f7;font:16px/1.5 Arial,Helvetica,sans-serif;color:#1b1f24">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:600px;margin:0 auto;background:#ffffff;border-radius:8px">
<tr><td style="padding:24px">
<p style="margin:0 0 12px">{{.Intro}}</p>
{{if .Order}}<p style="margin:0 0 12px;color:#4a525c">{{.Order}}</p>{{end}}
<p style="margin:0 0 16px;font-size:18px;font-weight:bold">{{.Question}}</p>
<table role="presentation" width="100%" cellpadding="0" cellspacing="4" style="table-layout:fixed">
<tr>{{range .Scores}}<td align="center" style="padding:0"><a href="{{.URL}}" style="display:block;padding:12px 0;border:1px solid #1a56db;border-radius:6px;color:#1a56db;font-weight:bold;text-decoration:none">{{.Score}}</a></td>{{end}}</tr>
</table>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="margin-top:4px;font-size:13px;color:#4a525c">
<tr><td align="left">0 = {{.Low}}</td><td align="right">10 = {{.High}}</td></tr>
</table>
<p style="margin:20px 0 4px;font-size:14px;color:#4a525c">{{.Expires}}</p>
<p style="margin:0;font-size:14px;color:#4a525c">{{.Ignore}}</p>
</td></tr></table>
<p style="max-width:600px;margin:12px auto 0;font-size:13px;color:#4a525c;text-align:center">{{.UnsubText}} <a href="{{.UnsubURL}}" style="color:#4a525c">{{.Unsub}}</a></p>
</body></html>
`))
)

// question is the survey's question in lang: the store's own wording when its survey
// sets one, else the kiosk's, with the store's name.
func question(w words, survey response.Survey, lang string) string {
	q := survey.Question[lang]
	if q == "" {
		q = w["rating.question"]
	}
	return strings.ReplaceAll(q, "{store}", survey.StoreName)
}

// message writes an invitation's e-mail in its language. base is the collector's
// public URL, without a trailing slash.
func message(all map[string]words, base, to, token string, inv storage.Invitation, survey response.Survey, loc *time.Location) (alerts.Message, error) {
	w, ok := all[inv.Language]
	if !ok {
		return alerts.Message{}, fmt.Errorf("invitation %s: no texts in %q", inv.ID, inv.Language)
	}
	m := mailView{
		Lang:      inv.Language,
		Intro:     w.T("mail.intro", "store", survey.StoreName),
		Question:  question(w, survey, inv.Language),
		Low:       w["rating.low"],
		High:      w["rating.high"],
		Expires:   w.T("mail.expires", "date", date(inv.Language, inv.ExpiresAt.In(loc))),
		Ignore:    w["mail.ignore"],
		UnsubText: w["mail.unsubscribe"],
		Unsub:     w["unsubscribe"],
		UnsubURL:  base + "/u/" + token,
	}
	if inv.OrderID != "" {
		m.Order = w.T("mail.order", "order", inv.OrderID)
	}
	for score := range 11 {
		m.Scores = append(m.Scores, scoreLink{score, base + "/i/" + token + "/" + strconv.Itoa(score)})
	}
	var text, html bytes.Buffer
	if err := mailText.Execute(&text, m); err != nil {
		return alerts.Message{}, fmt.Errorf("invitation %s: %w", inv.ID, err)
	}
	if err := mailHTML.Execute(&html, m); err != nil {
		return alerts.Message{}, fmt.Errorf("invitation %s: %w", inv.ID, err)
	}
	return alerts.Message{
		To:              to,
		Subject:         w.T("mail.subject", "store", survey.StoreName),
		Text:            text.String(),
		HTML:            html.String(),
		MessageID:       "invitation." + inv.ID + "@npscollector",
		ListUnsubscribe: m.UnsubURL,
		Headers:         map[string]string{"X-NPS-Invitation-Id": inv.ID, "Auto-Submitted": "auto-generated"},
	}, nil
}
