package invitations

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

//go:embed web/*.html web/invite.css
var webFiles embed.FS

// Pages serves what an invitation's links open:
//
//	GET  /i/{token}/{score}   the score chosen, one button to send it (records nothing)
//	POST /i/{token}/score     records the score, then shows the follow-up
//	GET  /i/{token}           the follow-up (or the scores, before any)
//	POST /i/{token}/followup  records reasons, comment and contact
//	GET  /i/{token}/thanks    thanks
//	GET  /u/{token}           one button to unsubscribe (records nothing)
//	POST /u/{token}           unsubscribes: the button, or a mail client's one-click
//
// An unknown token is 404, an expired invitation 410 (unsubscribing works after expiry).
type Pages struct {
	svc   *collector.Service
	log   *slog.Logger
	words map[string]words
	pages map[string]*template.Template
}

// PagesConfig wires the pages.
type PagesConfig struct {
	Service *collector.Service // required
	Logger  *slog.Logger       // nil means slog.Default()
}

// NewPages parses the pages and checks every language has its texts.
func NewPages(cfg PagesConfig) (*Pages, error) {
	w, err := loadWords()
	if err != nil {
		return nil, err
	}
	p := &Pages{svc: cfg.Service, log: cfg.Logger, words: w, pages: map[string]*template.Template{}}
	if p.log == nil {
		p.log = slog.Default()
	}
	for _, name := range []string{"score", "followup", "thanks", "message", "unsubscribe"} {
		t, err := template.ParseFS(webFiles, "web/layout.html", "web/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.pages[name] = t
	}
	return p, nil
}

// Router is where the pages are added: an http.ServeMux, or the HTTP API's server so
// they share its metrics.
type Router interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the pages to mux.
func (p *Pages) Register(mux Router) {
	mux.Handle("GET /i/invite.css", secure(http.HandlerFunc(serveCSS)))
	mux.Handle("GET /i/{token}/{score}", secure(http.HandlerFunc(p.scorePage)))
	mux.Handle("POST /i/{token}/score", secure(http.HandlerFunc(p.postScore)))
	mux.Handle("GET /i/{token}", secure(http.HandlerFunc(p.followUpPage)))
	mux.Handle("POST /i/{token}/followup", secure(http.HandlerFunc(p.postFollowUp)))
	mux.Handle("GET /i/{token}/thanks", secure(http.HandlerFunc(p.thanksPage)))
	mux.Handle("GET /u/{token}", secure(http.HandlerFunc(p.unsubscribePage)))
	mux.Handle("POST /u/{token}", secure(http.HandlerFunc(p.unsubscribe)))
}

// secure sets the headers every page carries. The token in the address must not leak:
// no referrer, no cache, no index; and the pages have no scripts.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Robots-Tag", "noindex")
		next.ServeHTTP(w, r)
	})
}

func serveCSS(w http.ResponseWriter, r *http.Request) {
	b, _ := webFiles.ReadFile("web/invite.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(b)
}

// view is what a page shows.
type view struct {
	Lang, Title, Store, Error, Body string
	W                               words
	Token                           string
	// the score page
	Question           string
	Scores             []int
	Selected, Previous int // -1: none
	// the follow-up page
	Score                  int
	Reasons                []reasonView
	Comment, Contact       string
	Consent                bool
	MaxComment, MaxContact int
}

type reasonView struct {
	Key, Label string
	Checked    bool
}

func (p *Pages) render(w http.ResponseWriter, status int, name string, v view) {
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		p.log.Error("render invitation page", "page", name, "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// message shows a page with a title and a sentence.
func (p *Pages) message(w http.ResponseWriter, status int, lang, title, body string) {
	p.render(w, status, "message", view{Lang: lang, W: p.words[lang], Title: title, Body: body})
}

// notFound is the page of a token that is not an invitation's: its language unknown,
// it speaks all four.
func (p *Pages) notFound(w http.ResponseWriter) {
	p.message(w, http.StatusNotFound, "en", "This link is not valid · Enlace no válido · Lien non valide · Ungültiger Link",
		"Please check that the whole link was copied from the e-mail.")
}

func (p *Pages) unavailable(w http.ResponseWriter, lang string, err error) {
	p.log.Error("invitation page", "err", err)
	w.Header().Set("Retry-After", "60")
	p.message(w, http.StatusServiceUnavailable, lang, p.words[lang].T("page.error.invalid"), p.words[lang].T("page.error.unavailable"))
}

// invitation reads the request's invitation; when it cannot, it writes the reply and
// returns false. open also refuses an expired one with 410.
func (p *Pages) invitation(w http.ResponseWriter, r *http.Request, open bool) (storage.Invitation, bool) {
	inv, err := p.svc.InvitationByToken(r.Context(), r.PathValue("token"))
	if errors.Is(err, storage.ErrNotFound) {
		p.notFound(w)
		return storage.Invitation{}, false
	}
	if err != nil {
		p.unavailable(w, "en", err)
		return storage.Invitation{}, false
	}
	if open && inv.Expired(p.svc.Now()) {
		p.expired(w, r, inv)
		return storage.Invitation{}, false
	}
	return inv, true
}

func (p *Pages) expired(w http.ResponseWriter, r *http.Request, inv storage.Invitation) {
	wd := p.words[inv.Language]
	p.message(w, http.StatusGone, inv.Language, wd.T("page.expired.title"),
		wd.T("page.expired.body", "date", date(inv.Language, inv.ExpiresAt.In(p.location(r.Context(), inv)))))
}

// location is the store's time zone, UTC when it cannot be read.
func (p *Pages) location(ctx context.Context, inv storage.Invitation) *time.Location {
	if st, err := p.svc.Store(ctx, inv.StoreID); err == nil {
		if loc, err := time.LoadLocation(st.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// base is the view every page of an invitation starts from.
func (p *Pages) base(inv storage.Invitation, survey response.Survey, token string) view {
	wd := p.words[inv.Language]
	return view{Lang: inv.Language, W: wd, Token: token, Store: survey.StoreName, Title: survey.StoreName,
		Selected: -1, Previous: -1}
}

// scoreView is the score page: the question, 0 to 10, one button.
func (p *Pages) scoreView(inv storage.Invitation, survey response.Survey, token string, selected int, prev *response.Response) view {
	v := p.base(inv, survey, token)
	v.Question = question(v.W, survey, inv.Language)
	v.Scores = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	v.Selected = selected
	if prev != nil {
		v.Previous = prev.Score
	}
	return v
}

// scorePage is where a score link in the e-mail lands: that score chosen and one
// button to send it. It records nothing: mail scanners open every link.
func (p *Pages) scorePage(w http.ResponseWriter, r *http.Request) {
	score, err := strconv.Atoi(r.PathValue("score"))
	if err != nil || score < 0 || score > 10 {
		p.notFound(w)
		return
	}
	inv, ok := p.invitation(w, r, true)
	if !ok {
		return
	}
	survey, err := p.svc.Survey(r.Context(), inv.StoreID)
	if err != nil {
		p.unavailable(w, inv.Language, err)
		return
	}
	prev, answered, err := p.svc.InvitationAnswer(r.Context(), inv)
	if err != nil {
		p.unavailable(w, inv.Language, err)
		return
	}
	var shown *response.Response
	if answered {
		shown = &prev
	}
	p.render(w, http.StatusOK, "score", p.scoreView(inv, survey, r.PathValue("token"), score, shown))
}

// postScore records the score, then sends the browser to the follow-up.
func (p *Pages) postScore(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	inv, ok := p.invitation(w, r, true)
	if !ok {
		return
	}
	token := r.PathValue("token")
	score, err := strconv.Atoi(r.PostFormValue("score"))
	if err != nil || score < 0 || score > 10 {
		survey, err := p.svc.Survey(r.Context(), inv.StoreID)
		if err != nil {
			p.unavailable(w, inv.Language, err)
			return
		}
		v := p.scoreView(inv, survey, token, -1, nil)
		v.Error = v.W.T("page.choose")
		p.render(w, http.StatusBadRequest, "score", v)
		return
	}
	if _, err := p.svc.AnswerInvitation(r.Context(), inv, score); err != nil {
		p.answerFailed(w, r, inv, err)
		return
	}
	http.Redirect(w, r, "/i/"+token, http.StatusSeeOther)
}

func (p *Pages) answerFailed(w http.ResponseWriter, r *http.Request, inv storage.Invitation, err error) {
	switch {
	case errors.Is(err, collector.ErrInvitationExpired), errors.Is(err, storage.ErrLinkClosed):
		p.expired(w, r, inv)
	case errors.Is(err, response.ErrInvalid):
		p.message(w, http.StatusBadRequest, inv.Language, p.words[inv.Language].T("page.error.invalid"), err.Error())
	default:
		p.unavailable(w, inv.Language, err)
	}
}

// followUpPage asks for the rest: reasons for the score's category, a comment, a
// contact with consent. Before any score it shows the scores.
func (p *Pages) followUpPage(w http.ResponseWriter, r *http.Request) {
	inv, ok := p.invitation(w, r, true)
	if !ok {
		return
	}
	survey, err := p.svc.Survey(r.Context(), inv.StoreID)
	if err != nil {
		p.unavailable(w, inv.Language, err)
		return
	}
	prev, answered, err := p.svc.InvitationAnswer(r.Context(), inv)
	if err != nil {
		p.unavailable(w, inv.Language, err)
		return
	}
	token := r.PathValue("token")
	if !answered {
		p.render(w, http.StatusOK, "score", p.scoreView(inv, survey, token, -1, nil))
		return
	}
	p.render(w, http.StatusOK, "followup", p.followUpView(inv, survey, token, prev))
}

func (p *Pages) followUpView(inv storage.Invitation, survey response.Survey, token string, r response.Response) view {
	v := p.base(inv, survey, token)
	v.Score, v.Comment, v.Contact, v.Consent = r.Score, r.Comment, r.Contact, r.ContactConsent
	v.MaxComment, v.MaxContact = response.MaxCommentRunes, response.MaxContactRunes
	fallback := ""
	if len(survey.Languages) > 0 {
		fallback = survey.Languages[0]
	}
	for _, reason := range survey.ReasonsFor(r.Category()) {
		v.Reasons = append(v.Reasons, reasonView{Key: reason.Key, Label: reason.Label(inv.Language, fallback),
			Checked: slices.Contains(r.Reasons, reason.Key)})
	}
	return v
}

// postFollowUp records the follow-up (Submit) or keeps the answer as it is (Skip),
// then thanks. A refused form is shown again with what was typed and why.
func (p *Pages) postFollowUp(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	inv, ok := p.invitation(w, r, true)
	if !ok {
		return
	}
	token := r.PathValue("token")
	if err := r.ParseForm(); err != nil {
		p.message(w, http.StatusBadRequest, inv.Language, p.words[inv.Language].T("page.error.invalid"), "")
		return
	}
	prev, answered, err := p.svc.InvitationAnswer(r.Context(), inv)
	if err != nil {
		p.unavailable(w, inv.Language, err)
		return
	}
	if !answered {
		http.Redirect(w, r, "/i/"+token, http.StatusSeeOther)
		return
	}
	f := prev.FollowUp()
	f.Outcome = response.OutcomeSkipped
	if r.PostForm.Get("action") != "skip" {
		f = response.FollowUp{Outcome: response.OutcomeSubmitted, Reasons: r.PostForm["reason"],
			Comment: strings.TrimSpace(r.PostForm.Get("comment")), Contact: strings.TrimSpace(r.PostForm.Get("contact")),
			ContactConsent: r.PostForm.Get("consent") != ""}
	}
	wd := p.words[inv.Language]
	problem := ""
	switch {
	case f.Contact != "" && !f.ContactConsent:
		problem = wd.T("page.error.consent")
	case utf8.RuneCountInString(f.Comment) > response.MaxCommentRunes:
		problem = wd.T("page.error.comment", "n", strconv.Itoa(response.MaxCommentRunes))
	case len(f.Reasons) > response.MaxReasons:
		problem = wd.T("page.error.reasons", "n", strconv.Itoa(response.MaxReasons))
	}
	if problem == "" {
		_, err = p.svc.FollowUpInvitation(r.Context(), inv, f)
		switch {
		case errors.Is(err, response.ErrInvalid):
			problem = wd.T("page.error.invalid")
		case err != nil:
			p.answerFailed(w, r, inv, err)
			return
		}
	}
	if problem != "" {
		survey, err := p.svc.Survey(r.Context(), inv.StoreID)
		if err != nil {
			p.unavailable(w, inv.Language, err)
			return
		}
		typed := prev
		typed.Reasons, typed.Comment, typed.Contact, typed.ContactConsent = f.Reasons, f.Comment, f.Contact, f.ContactConsent
		v := p.followUpView(inv, survey, token, typed)
		v.Error = problem
		p.render(w, http.StatusBadRequest, "followup", v)
		return
	}
	http.Redirect(w, r, "/i/"+token+"/thanks", http.StatusSeeOther)
}

func (p *Pages) thanksPage(w http.ResponseWriter, r *http.Request) {
	inv, ok := p.invitation(w, r, false)
	if !ok {
		return
	}
	survey, err := p.svc.Survey(r.Context(), inv.StoreID)
	if err != nil {
		p.unavailable(w, inv.Language, err)
		return
	}
	v := p.base(inv, survey, r.PathValue("token"))
	v.Title = v.W.T("thanks.title")
	if !inv.Expired(p.svc.Now()) {
		v.Body = v.W.T("page.thanks.change", "date", date(inv.Language, inv.ExpiresAt.In(p.location(r.Context(), inv))))
	}
	p.render(w, http.StatusOK, "thanks", v)
}

// unsubscriber is whom an unsubscribe link speaks for: an invitation, or a promoter's
// thank-you e-mail (the alert worker sends those with links to the same page).
type unsubscriber struct {
	invitation     string // the invitation's id, or
	thankYou       string // the thank-you's id
	storeID        string
	lang           string
	unsubscribedAt time.Time
}

// unsubscriber reads the request's token; when it cannot, it writes the reply and
// returns false.
func (p *Pages) unsubscriber(w http.ResponseWriter, r *http.Request) (unsubscriber, bool) {
	token := r.PathValue("token")
	inv, err := p.svc.InvitationByToken(r.Context(), token)
	if err == nil {
		return unsubscriber{invitation: inv.ID, storeID: inv.StoreID, lang: inv.Language, unsubscribedAt: inv.UnsubscribedAt}, true
	}
	if !errors.Is(err, storage.ErrNotFound) {
		p.unavailable(w, "en", err)
		return unsubscriber{}, false
	}
	ty, err := p.svc.ThankYouByToken(r.Context(), token)
	if errors.Is(err, storage.ErrNotFound) {
		p.notFound(w)
		return unsubscriber{}, false
	}
	if err != nil {
		p.unavailable(w, "en", err)
		return unsubscriber{}, false
	}
	lang := ty.Language
	if _, ok := p.words[lang]; !ok {
		lang = "en"
	}
	return unsubscriber{thankYou: ty.ID, storeID: ty.StoreID, lang: lang, unsubscribedAt: ty.UnsubscribedAt}, true
}

// unsubscribePage asks to confirm: it records nothing, as mail scanners open it too.
func (p *Pages) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	u, ok := p.unsubscriber(w, r)
	if !ok {
		return
	}
	wd := p.words[u.lang]
	if !u.unsubscribedAt.IsZero() {
		p.message(w, http.StatusOK, u.lang, wd.T("page.unsub.done"), wd.T("page.unsub.body"))
		return
	}
	p.render(w, http.StatusOK, "unsubscribe", view{Lang: u.lang, W: wd, Token: r.PathValue("token"),
		Title: wd.T("unsubscribe"), Body: wd.T("page.unsub.body")})
}

// unsubscribe records the unsubscribe: from the page's button, or from a mail client's
// one-click POST (RFC 8058: a body of List-Unsubscribe=One-Click, form-encoded or
// multipart), which gets a short plain reply. Either kind of e-mail unsubscribes the
// address from both: no invitation and no thank-you goes to it again.
func (p *Pages) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	u, ok := p.unsubscriber(w, r)
	if !ok {
		return
	}
	via := "page"
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		r.ParseMultipartForm(4 << 10)
	}
	if r.FormValue("List-Unsubscribe") == "One-Click" {
		via = "one-click"
	}
	var err error
	if u.invitation != "" {
		err = p.svc.Unsubscribe(r.Context(), u.invitation, via)
	} else {
		err = p.svc.UnsubscribeThankYou(r.Context(), u.thankYou, via)
	}
	if err != nil {
		p.unavailable(w, u.lang, err)
		return
	}
	p.log.Info("unsubscribed", "invitation", u.invitation, "thank_you", u.thankYou, "store", u.storeID, "via", via)
	wd := p.words[u.lang]
	if via == "one-click" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(wd.T("page.unsub.done") + "\n"))
		return
	}
	p.message(w, http.StatusOK, u.lang, wd.T("page.unsub.done"), wd.T("page.unsub.body"))
}
