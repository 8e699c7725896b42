package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	netmail "net/mail"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/wneessen/go-mail"
)

// SMTPConfig says how alert e-mails leave the collector.
type SMTPConfig struct {
	Host string // required to send e-mail; empty disables it
	Port int    // zero: 587 with STARTTLS, 465 with TLS, 25 without
	// Security is "starttls" (the default), "tls", or "none" for a relay on this host.
	Security string
	Username string // with Password: AUTH PLAIN
	Password string
	From     string // required: the sender address, e.g. "NPS alerts <nps@example.com>"
}

// Mailer sends alert e-mails through an SMTP server.
type Mailer struct{ cfg SMTPConfig }

// NewMailer checks the settings.
func NewMailer(cfg SMTPConfig) (*Mailer, error) {
	if cfg.Host == "" {
		return nil, errors.New("SMTP: a host is required")
	}
	if _, err := netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("SMTP: sender %q: %w", cfg.From, err)
	}
	switch cfg.Security {
	case "", "starttls", "tls", "none":
	default:
		return nil, fmt.Errorf("SMTP: security %q must be starttls, tls or none", cfg.Security)
	}
	return &Mailer{cfg: cfg}, nil
}

// EmailTarget is an e-mail subscription's address and language, kept in its URL as
// mailto:ADDRESS?lang=LANG.
type EmailTarget struct {
	Address string
	Lang    string
}

// EmailURL is the subscription URL of an address and language.
func EmailURL(address, lang string) (string, error) {
	a, err := netmail.ParseAddress(address)
	if err != nil {
		return "", fmt.Errorf("%w: e-mail address %q: %w", ErrRefusedURL, address, err)
	}
	if _, ok := mailTexts[lang]; !ok {
		return "", fmt.Errorf("%w: language %q: alerts are written in en, es, fr and de", ErrRefusedURL, lang)
	}
	return "mailto:" + a.Address + "?lang=" + lang, nil
}

// ParseEmailURL reads a mailto: subscription URL.
func ParseEmailURL(raw string) (EmailTarget, bool) {
	rest, ok := strings.CutPrefix(raw, "mailto:")
	if !ok {
		return EmailTarget{}, false
	}
	addr, query, _ := strings.Cut(rest, "?")
	q, _ := url.ParseQuery(query)
	lang := q.Get("lang")
	if _, ok := mailTexts[lang]; !ok {
		lang = "en"
	}
	return EmailTarget{Address: addr, Lang: lang}, true
}

// event is the part of an event's body the e-mails need.
type event struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      struct {
		// a case
		ID       string    `json:"id"`
		StoreID  string    `json:"store_id"`
		Status   string    `json:"status"`
		Owner    string    `json:"owner"`
		DueAt    time.Time `json:"due_at"`
		Response struct {
			Score   int      `json:"score"`
			Reasons []string `json:"reasons"`
			Comment string   `json:"comment"`
			Contact string   `json:"contact"`
		} `json:"response"`
		// an NPS drop
		StoreName   string  `json:"store_name"`
		RecentNPS   float64 `json:"recent_nps"`
		RecentN     int64   `json:"recent_responses"`
		BaselineNPS float64 `json:"baseline_nps"`
		BaselineN   int64   `json:"baseline_responses"`
		Change      float64 `json:"change"`
		CombinedMoE float64 `json:"combined_margin_of_error"`
		// a daily digest
		Day           string  `json:"day"`
		NPS           float64 `json:"nps"`
		MarginOfError float64 `json:"margin_of_error"`
		Responses     int64   `json:"responses"`
		Trend         []struct {
			Day       string  `json:"day"`
			NPS       float64 `json:"nps"`
			Responses int64   `json:"responses"`
		} `json:"trend"`
		NewCases     int64 `json:"new_cases"`
		OverdueCases int64 `json:"overdue_cases"`
		TopReasons   []struct {
			Reason     string `json:"reason"`
			Detractors int64  `json:"detractors"`
		} `json:"top_detractor_reasons"`
		ScopeKind string `json:"scope_kind"`
		Scope     string `json:"scope"`
		Stores    []struct {
			StoreID       string  `json:"store_id"`
			StoreName     string  `json:"store_name"`
			NPS           float64 `json:"nps"`
			MarginOfError float64 `json:"margin_of_error"`
			Responses     int64   `json:"responses"`
			NewCases      int64   `json:"new_cases"`
			OverdueCases  int64   `json:"overdue_cases"`
		} `json:"stores"`
		// Title names what a digest tells of, in the recipient's language; set by render.
		Title string `json:"-"`
	} `json:"data"`
}

// mailText is one language's wording of the alerts.
type mailText struct {
	Subject map[string]string // by event type; {{.Data.StoreID}} and the like
	Lines   map[string]string
}

var mailTexts = map[string]mailText{
	"en": {
		Subject: map[string]string{
			"case.opened":   "Follow-up needed at {{.Data.StoreID}}: a customer scored {{.Data.Response.Score}}",
			"case.updated":  "Follow-up at {{.Data.StoreID}} is now {{.Data.Status}}",
			"nps.dropped":   "NPS dropped at {{.Data.StoreName}}: {{printf \"%+.0f\" .Data.Change}} points",
			"nps.recovered": "NPS at {{.Data.StoreName}} is back within its usual range",
			"digest.daily":  "Daily NPS digest, {{.Data.Title}}, {{.Data.Day}}",
		},
		Lines: map[string]string{"score": "Score", "comment": "Comment", "reasons": "Reasons", "contact": "Contact",
			"due": "Please act by", "status": "Status", "owner": "Owner", "last7": "Last 7 days", "prev28": "The 28 days before",
			"responses": "responses", "margin": "Difference beyond the combined 95% margin of ±", "none": "none", "yesterday": "Yesterday", "trend": "Last 7 days", "newcases": "New follow-up cases", "overdue": "Overdue follow-up cases", "topreasons": "Detractors' top reasons (7 days)", "region": "Region", "chain": "All stores", "bystore": "By store, yesterday", "new": "new", "overduelow": "overdue"},
	},
	"es": {
		Subject: map[string]string{
			"case.opened":   "Seguimiento necesario en {{.Data.StoreID}}: un cliente puntuó {{.Data.Response.Score}}",
			"case.updated":  "El seguimiento en {{.Data.StoreID}} está ahora {{.Data.Status}}",
			"nps.dropped":   "El NPS bajó en {{.Data.StoreName}}: {{printf \"%+.0f\" .Data.Change}} puntos",
			"nps.recovered": "El NPS de {{.Data.StoreName}} vuelve a su rango habitual",
			"digest.daily":  "Resumen diario de NPS, {{.Data.Title}}, {{.Data.Day}}",
		},
		Lines: map[string]string{"score": "Puntuación", "comment": "Comentario", "reasons": "Motivos", "contact": "Contacto",
			"due": "Actúe antes de", "status": "Estado", "owner": "Responsable", "last7": "Últimos 7 días", "prev28": "Los 28 días anteriores",
			"responses": "respuestas", "margin": "Diferencia mayor que el margen combinado del 95 % de ±", "none": "ninguno", "yesterday": "Ayer", "trend": "Últimos 7 días", "newcases": "Nuevos casos de seguimiento", "overdue": "Casos de seguimiento vencidos", "topreasons": "Motivos principales de los detractores (7 días)", "region": "Región", "chain": "Todas las tiendas", "bystore": "Por tienda, ayer", "new": "nuevos", "overduelow": "vencidos"},
	},
	"fr": {
		Subject: map[string]string{
			"case.opened":   "Suivi nécessaire à {{.Data.StoreID}} : un client a noté {{.Data.Response.Score}}",
			"case.updated":  "Le suivi à {{.Data.StoreID}} est maintenant {{.Data.Status}}",
			"nps.dropped":   "Le NPS a baissé à {{.Data.StoreName}} : {{printf \"%+.0f\" .Data.Change}} points",
			"nps.recovered": "Le NPS de {{.Data.StoreName}} est revenu dans sa fourchette habituelle",
			"digest.daily":  "Synthèse NPS du jour, {{.Data.Title}}, {{.Data.Day}}",
		},
		Lines: map[string]string{"score": "Note", "comment": "Commentaire", "reasons": "Raisons", "contact": "Contact",
			"due": "À traiter avant le", "status": "Statut", "owner": "Responsable", "last7": "7 derniers jours", "prev28": "Les 28 jours précédents",
			"responses": "réponses", "margin": "Écart supérieur à la marge combinée à 95 % de ±", "none": "aucune", "yesterday": "Hier", "trend": "7 derniers jours", "newcases": "Nouveaux suivis", "overdue": "Suivis en retard", "topreasons": "Principales raisons des détracteurs (7 jours)", "region": "Région", "chain": "Tous les magasins", "bystore": "Par magasin, hier", "new": "nouveaux", "overduelow": "en retard"},
	},
	"de": {
		Subject: map[string]string{
			"case.opened":   "Nachfassen in {{.Data.StoreID}}: ein Kunde hat {{.Data.Response.Score}} vergeben",
			"case.updated":  "Nachfassen in {{.Data.StoreID}} ist jetzt {{.Data.Status}}",
			"nps.dropped":   "NPS in {{.Data.StoreName}} gesunken: {{printf \"%+.0f\" .Data.Change}} Punkte",
			"nps.recovered": "NPS in {{.Data.StoreName}} wieder im üblichen Bereich",
			"digest.daily":  "Tägliche NPS-Übersicht, {{.Data.Title}}, {{.Data.Day}}",
		},
		Lines: map[string]string{"score": "Bewertung", "comment": "Kommentar", "reasons": "Gründe", "contact": "Kontakt",
			"due": "Bitte erledigen bis", "status": "Status", "owner": "Zuständig", "last7": "Letzte 7 Tage", "prev28": "Die 28 Tage davor",
			"responses": "Antworten", "margin": "Unterschied größer als die kombinierte 95-%-Fehlerspanne von ±", "none": "keine", "yesterday": "Gestern", "trend": "Letzte 7 Tage", "newcases": "Neue Nachfassfälle", "overdue": "Überfällige Nachfassfälle", "topreasons": "Häufigste Gründe der Kritiker (7 Tage)", "region": "Region", "chain": "Alle Filialen", "bystore": "Nach Filiale, gestern", "new": "neu", "overduelow": "überfällig"},
	},
}

// body is the plain-text e-mail; the HTML part shows the same lines.
const body = `{{if eq .E.Type "digest.daily"}}{{.T.yesterday}} ({{.E.Data.Day}}): NPS {{printf "%.1f" .E.Data.NPS}} ± {{printf "%.1f" .E.Data.MarginOfError}} ({{.E.Data.Responses}} {{.T.responses}})
{{.T.trend}}:{{range .E.Data.Trend}}
  {{.Day}}  {{if .Responses}}NPS {{printf "%.0f" .NPS}} ({{.Responses}}){{else}}–{{end}}{{end}}
{{.T.newcases}}: {{.E.Data.NewCases}}
{{.T.overdue}}: {{.E.Data.OverdueCases}}
{{.T.topreasons}}: {{range $i, $r := .E.Data.TopReasons}}{{if $i}}, {{end}}{{$r.Reason}} ({{$r.Detractors}}){{else}}{{.T.none}}{{end}}
{{if .E.Data.Stores}}{{.T.bystore}}:{{range .E.Data.Stores}}
  {{.StoreName}} ({{.StoreID}}): {{if .Responses}}NPS {{printf "%.0f" .NPS}} ± {{printf "%.0f" .MarginOfError}} ({{.Responses}}){{else}}–{{end}}; {{.NewCases}} {{$.T.new}}, {{.OverdueCases}} {{$.T.overduelow}}{{end}}
{{end}}{{else if eq .E.Type "nps.dropped" "nps.recovered"}}{{.T.last7}}: NPS {{printf "%.1f" .E.Data.RecentNPS}} ({{.E.Data.RecentN}} {{.T.responses}})
{{.T.prev28}}: NPS {{printf "%.1f" .E.Data.BaselineNPS}} ({{.E.Data.BaselineN}} {{.T.responses}})
{{.T.margin}}{{printf "%.1f" .E.Data.CombinedMoE}}
{{else}}{{.T.score}}: {{.E.Data.Response.Score}}
{{.T.comment}}: {{or .E.Data.Response.Comment .T.none}}
{{.T.reasons}}: {{if .E.Data.Response.Reasons}}{{join .E.Data.Response.Reasons ", "}}{{else}}{{.T.none}}{{end}}
{{if .E.Data.Response.Contact}}{{.T.contact}}: {{.E.Data.Response.Contact}}
{{end}}{{.T.status}}: {{.E.Data.Status}}{{if .E.Data.Owner}}
{{.T.owner}}: {{.E.Data.Owner}}{{end}}
{{.T.due}}: {{.E.Data.DueAt.UTC.Format "2006-01-02 15:04 MST"}}
{{end}}`

var (
	funcs     = map[string]any{"join": strings.Join}
	textBody  = texttemplate.Must(texttemplate.New("text").Funcs(funcs).Parse(body))
	htmlBody  = htmltemplate.Must(htmltemplate.New("html").Funcs(funcs).Parse(`<pre style="font:16px/1.5 sans-serif">` + body + `</pre>`))
	errNoMail = errors.New("no SMTP server is configured: start serve with --smtp-host and --smtp-from")
)

// render writes an event's e-mail in a language.
func render(payload []byte, lang string) (subject, text, html string, err error) {
	var e event
	if err := json.Unmarshal(payload, &e); err != nil {
		return "", "", "", fmt.Errorf("alert e-mail: %w", err)
	}
	t, ok := mailTexts[lang]
	if !ok {
		t = mailTexts["en"]
	}
	switch e.Data.ScopeKind {
	case "region":
		e.Data.Title = t.Lines["region"] + " " + e.Data.Scope
	case "chain":
		e.Data.Title = t.Lines["chain"]
	default:
		e.Data.Title = e.Data.StoreName
	}
	subj, ok := t.Subject[e.Type]
	if !ok {
		subj = e.Type + " {{.Data.StoreID}}"
	}
	st, err := texttemplate.New("subject").Parse(subj)
	if err != nil {
		return "", "", "", fmt.Errorf("alert e-mail subject: %w", err)
	}
	var s, tb, hb bytes.Buffer
	data := struct {
		E event
		T map[string]string
	}{e, t.Lines}
	if err := st.Execute(&s, e); err != nil {
		return "", "", "", fmt.Errorf("alert e-mail subject: %w", err)
	}
	if err := textBody.Execute(&tb, data); err != nil {
		return "", "", "", fmt.Errorf("alert e-mail: %w", err)
	}
	if err := htmlBody.Execute(&hb, data); err != nil {
		return "", "", "", fmt.Errorf("alert e-mail: %w", err)
	}
	return s.String(), tb.String(), hb.String(), nil
}

// Send mails one event to one recipient, in plain text with an HTML alternative.
func (m *Mailer) Send(ctx context.Context, to EmailTarget, eventID string, payload []byte) error {
	subject, text, html, err := render(payload, to.Lang)
	if err != nil {
		return err
	}
	// The event id, stable across retries, lets a mailbox drop a repeat.
	err = m.SendMessage(ctx, Message{To: to.Address, Subject: subject, Text: text, HTML: html,
		MessageID: eventID + "." + strings.ReplaceAll(to.Address, "@", "=") + "@npscollector",
		Headers:   map[string]string{"X-NPS-Event-Id": eventID}})
	if err != nil {
		return fmt.Errorf("alert %w", err)
	}
	return nil
}

// Message is an e-mail written by its caller, sent as it is from the configured sender.
type Message struct {
	To        string // one address
	Subject   string
	Text      string // the plain-text body
	HTML      string // an HTML alternative, or empty
	MessageID string // without the angle brackets; empty: one is made
	// ListUnsubscribe is a URL that unsubscribes the recipient (RFC 2369). An https://
	// URL is also offered for one-click unsubscribe (RFC 8058): the URL must then take a
	// POST of "List-Unsubscribe=One-Click" without a confirmation.
	ListUnsubscribe string
	Headers         map[string]string // more header fields, such as X-… ones
}

func (m *Mailer) msg(e Message) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(m.cfg.From); err != nil {
		return nil, fmt.Errorf("e-mail: from: %w", err)
	}
	if err := msg.To(e.To); err != nil {
		return nil, fmt.Errorf("e-mail: to: %w", err)
	}
	msg.Subject(e.Subject)
	msg.SetDate()
	if e.MessageID != "" {
		msg.SetGenHeader(mail.HeaderMessageID, "<"+e.MessageID+">")
	}
	if e.ListUnsubscribe != "" {
		if strings.HasPrefix(e.ListUnsubscribe, "https://") {
			if err := msg.SetListUnsubscribeOneClick(e.ListUnsubscribe); err != nil {
				return nil, fmt.Errorf("e-mail: %w", err)
			}
		} else {
			msg.SetListUnsubscribe(e.ListUnsubscribe)
		}
	}
	for k, v := range e.Headers {
		msg.SetGenHeader(mail.Header(k), v)
	}
	msg.SetBodyString(mail.TypeTextPlain, e.Text)
	if e.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, e.HTML)
	}
	return msg, nil
}

func (m *Mailer) client() (*mail.Client, error) {
	opts := []mail.Option{mail.WithTimeout(20 * time.Second)}
	switch m.cfg.Security {
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS), mail.WithPort(orPort(m.cfg.Port, 25)))
	case "tls":
		opts = append(opts, mail.WithSSL(), mail.WithPort(orPort(m.cfg.Port, 465)))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithPort(orPort(m.cfg.Port, 587)))
	}
	if m.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(m.cfg.Username), mail.WithPassword(m.cfg.Password))
	}
	c, err := mail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("e-mail: %w", err)
	}
	return c, nil
}

// SendMessage sends one message over a connection of its own.
func (m *Mailer) SendMessage(ctx context.Context, e Message) error {
	msg, err := m.msg(e)
	if err != nil {
		return err
	}
	c, err := m.client()
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("e-mail to %s: %w", e.To, err)
	}
	return nil
}

// ErrUnreachable is wrapped when a session cannot connect to the SMTP server.
var ErrUnreachable = errors.New("the SMTP server could not be reached")

// Session sends many messages over one SMTP connection, dialled at the first and again
// after the server drops it: a list of a thousand invitations is not a thousand
// handshakes. It is not safe for concurrent use.
type Session struct {
	m *Mailer
	c *mail.Client // nil until dialled, and after a failure
}

// Session returns a session; it connects when it first sends.
func (m *Mailer) Session() *Session { return &Session{m: m} }

// Send sends one message. A message the server refuses returns an error and leaves the
// connection for the next; a broken connection is dialled again once.
func (s *Session) Send(ctx context.Context, e Message) error {
	msg, err := s.m.msg(e)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("e-mail to %s: %w", e.To, err)
		}
		if s.c == nil {
			c, err := s.m.client()
			if err != nil {
				return err
			}
			if err := c.DialWithContext(ctx); err != nil {
				return fmt.Errorf("e-mail to %s: %w: %s: %w", e.To, ErrUnreachable, s.m.cfg.Host, err)
			}
			s.c = c
		}
		err := s.c.Send(msg)
		if err == nil {
			return nil
		}
		// A refused message leaves the connection for the next one; a broken one is
		// dialled again, once.
		var se *mail.SendError
		if errors.As(err, &se) && se.Reason == mail.ErrConnCheck {
			s.Close()
			if attempt == 0 {
				continue
			}
		}
		return fmt.Errorf("e-mail to %s: %w", e.To, err)
	}
}

// Close ends the session's connection, if it has one.
func (s *Session) Close() error {
	if s.c == nil {
		return nil
	}
	err := s.c.Close()
	s.c = nil
	return err
}

func orPort(p, def int) int {
	if p > 0 {
		return p
	}
	return def
}
