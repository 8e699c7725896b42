// Package dashboard is the collector's HQ web dashboard: server-rendered HTML and SVG
// with no scripts, for named users who sign in with their e-mail and password. It reads
// through the collector's service and registers its pages beside the HTTP API.
//
// API tokens do not sign in here: they are for machines, as bearer tokens on the JSON
// API, and a token set as the session cookie is refused like any unknown session.
// Sessions are rows in the collector's database, so every collector behind a load
// balancer knows them, sign-out ends them everywhere, and disabling a user ends theirs
// at once. Every form carries a CSRF token derived from the session (an HMAC with a
// key kept in the database), and the sign-in form one bound to a short-lived signed
// cookie; failed sign-ins are limited per client network and for everyone (authguard).
package dashboard

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/authguard"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/sync/wire"
)

//go:embed web/*.html web/static/*
var webFiles embed.FS

// SessionCookie holds a signed-in user's random session token; the database holds only
// its hash.
const SessionCookie = "nps_session"

// loginCookie binds the sign-in form's CSRF token to the browser that asked for the
// form: a random nonce and its expiry, signed.
const loginCookie = "nps_login"

// loginTTL is how long a sign-in form may be left open.
const loginTTL = time.Hour

// csrfKeyName is the key, in the database's secrets, that CSRF tokens are made with.
const csrfKeyName = "dashboard-csrf"

// Config wires the dashboard.
type Config struct {
	Service *collector.Service // required
	Logger  *slog.Logger       // nil means slog.Default()
	// Policy checks the URL of a webhook added on the Alerts page, as the collector's
	// alert worker will when it sends to it.
	Policy alerts.URLPolicy
	// PublicURL is the collector's address as shoppers' phones reach it: the Links page
	// shows and prints survey links under it. Empty: the address the page came to.
	PublicURL string
	// Guard limits failed sign-ins and records refusals; nil: one of its own, whose
	// metrics nobody serves. Give it the API's (httpapi.Server.Guard).
	Guard *authguard.Guard
}

// Dashboard is the HQ web UI.
type Dashboard struct {
	svc   *collector.Service
	log   *slog.Logger
	pages map[string]*template.Template

	// policy checks the URLs of webhooks added on the Alerts page.
	policy alerts.URLPolicy
	// publicURL starts the survey links on the Links page; see Config.PublicURL.
	publicURL string
	guard     *authguard.Guard

	keyMu sync.Mutex
	key   []byte // the CSRF key, read from the database once
}

// New parses the pages (they are embedded, so a broken one panics at start-up).
func New(cfg Config) *Dashboard {
	d := &Dashboard{svc: cfg.Service, log: cfg.Logger, pages: map[string]*template.Template{}}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.policy = cfg.Policy
	d.guard = cfg.Guard
	if d.guard == nil {
		d.guard = authguard.New(authguard.Config{DB: cfg.Service.DB, Logger: d.log})
	}
	d.publicURL = strings.TrimRight(cfg.PublicURL, "/")
	for _, page := range []string{"login", "overview", "stores", "store", "comments", "devices", "cases", "case", "forbidden", "people", "channels", "regions", "drivers"} {
		d.pages[page] = template.Must(template.New("layout.html").Funcs(pageFuncs).ParseFS(webFiles, "web/layout.html", "web/commentlist.html", "web/"+page+".html"))
	}
	return d
}

// pageFuncs are the functions every page's template may call.
var pageFuncs = template.FuncMap{
	// sealed shows a contact the collector cannot open by the key it needs.
	"sealed": storage.SealedContactText,
}

// contactCell is a contact as the CSV exports write it: in clear, or sealed by its key.
func contactCell(contact, sealedKey string) string {
	if sealedKey != "" {
		return storage.SealedContactText(sealedKey)
	}
	return storage.CSVCell(contact)
}

// Router is where the dashboard adds its pages: an http.ServeMux, or the HTTP API's
// server so the pages share its metrics.
type Router interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the dashboard's pages to mux.
func (d *Dashboard) Register(mux Router) {
	static, _ := fs.Sub(webFiles, "web/static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.Handle("GET /static/", secure(fileServer))
	mux.Handle("GET /login", secure(http.HandlerFunc(d.loginForm)))
	mux.Handle("POST /login", secure(http.HandlerFunc(d.login)))
	mux.Handle("POST /logout", secure(http.HandlerFunc(d.logout)))
	mux.Handle("GET /{$}", secure(d.signedIn(d.overview)))
	mux.Handle("GET /stores", secure(d.signedIn(d.stores)))
	mux.Handle("GET /stores/{id}", secure(d.signedIn(d.store)))
	mux.Handle("GET /comments", secure(d.signedIn(d.comments)))
	mux.Handle("GET /channels", secure(d.signedIn(d.channels)))
	mux.Handle("GET /regions", secure(d.signedIn(d.regions)))
	mux.Handle("GET /drivers", secure(d.signedIn(d.drivers)))
	mux.Handle("GET /devices", secure(d.signedIn(d.devices)))
	mux.Handle("GET /cases", secure(d.signedIn(d.cases)))
	mux.Handle("GET /cases/{id}", secure(d.signedIn(d.caseDetail)))
	mux.Handle("POST /cases/{id}", secure(d.signedIn(d.changeCase)))
	mux.Handle("GET /export/{table}", secure(d.signedIn(d.export)))
	mux.Handle("GET /people", secure(d.signedIn(d.peopleOnly(d.people))))
	mux.Handle("POST /people", secure(d.signedIn(d.peopleOnly(d.addPerson))))
	mux.Handle("POST /people/{id}/disable", secure(d.signedIn(d.peopleOnly(d.disablePerson))))
	mux.Handle("POST /people/{id}/alerts", secure(d.signedIn(d.peopleOnly(d.setPersonAlerts))))
	mux.Handle("POST /people/tokens/{id}/revoke", secure(d.signedIn(d.peopleOnly(d.revokeToken))))
	d.registerAlerts(mux)
	d.registerLinks(mux)
	d.registerInvitations(mux)
	d.registerQuestions(mux)
	d.registerDeviceActions(mux)
	d.registerDeviceSettings(mux)
}

// secure sets the headers every dashboard reply carries. The pages have no scripts and
// no inline styles, so the policy can forbid both.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	Title  string
	Page   string
	Reader *storage.Reader
	CSRF   string
	Error  string
	Filter storage.Filter
	Keep   map[string]string // extra query values the period form keeps
	// Channels, Touchpoints, Regions, Formats and Segments are the choices of the
	// filter bar, set by the pages that offer it (withLabels).
	Channels, Touchpoints      []string
	Regions, Formats, Segments []string
	Query                      template.URL // the current filters, for links and exports
	// Nav is the filter bar's selection as the address gave it (period, region, format,
	// segment, channel, touchpoint, min_n), for the links between report pages: moving
	// from page to page keeps what was chosen.
	Nav template.URL
	// MinN is the min_n the address chose, "" for the collector's default: the filter
	// bar keeps it without pinning the default into every address.
	MinN string
	// Lang is the signed-in user's language: reason and theme keys are named in it.
	Lang string
	Data any
}

// render writes a page whole or not at all: a template error is a 500, never half a page.
func (d *Dashboard) render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := d.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		d.log.Error("render dashboard page", "page", name, "err", err)
		http.Error(w, "The page could not be shown; the collector's log says why.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// csrfKey returns the key CSRF tokens are made with; every collector on the database
// shares it.
func (d *Dashboard) csrfKey(ctx context.Context) ([]byte, error) {
	d.keyMu.Lock()
	defer d.keyMu.Unlock()
	if d.key == nil {
		k, err := d.svc.Secret(ctx, csrfKeyName)
		if err != nil {
			return nil, fmt.Errorf("CSRF key: %w", err)
		}
		d.key = k
	}
	return d.key, nil
}

// mac is the base64 HMAC-SHA256 of the parts, each ended by a zero byte.
func mac(key []byte, parts ...string) string {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// sessionCSRF is the CSRF token of a session: bound to its secret, so a token from
// another session (the attacker's own) is refused.
func sessionCSRF(key []byte, session string) string {
	sum := sha256.Sum256([]byte(session))
	return mac(key, "session-csrf", hex.EncodeToString(sum[:]))
}

type csrfCtxKey struct{}

// csrfCheck is what csrfOK compares a form with, set by signedIn.
type csrfCheck struct {
	want    string
	refused func(r *http.Request)
}

// readForm parses a POST's form of at most limit bytes; on failure it has answered 400.
func readForm(w http.ResponseWriter, r *http.Request, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return false
	}
	return true
}

// csrfOK reports whether a POST's csrf field is the session's token; a refusal is
// logged and counted.
func csrfOK(r *http.Request) bool {
	c, _ := r.Context().Value(csrfCtxKey{}).(*csrfCheck)
	got := r.PostFormValue("csrf")
	if c != nil && got != "" && subtle.ConstantTimeCompare([]byte(c.want), []byte(got)) == 1 {
		return true
	}
	if c != nil && c.refused != nil {
		c.refused(r)
	}
	return false
}

// loginToken returns the sign-in form's CSRF token, bound to the browser's login
// cookie, setting a fresh cookie when it has no valid one.
func (d *Dashboard) loginToken(w http.ResponseWriter, r *http.Request, key []byte) string {
	if nonce, ok := d.loginNonce(r, key); ok {
		return mac(key, "login-csrf", nonce)
	}
	b := make([]byte, 18)
	rand.Read(b)
	nonce := base64.RawURLEncoding.EncodeToString(b)
	exp := strconv.FormatInt(d.svc.Now().Add(loginTTL).Unix(), 10)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: nonce + "." + exp + "." + mac(key, "login-cookie", nonce, exp),
		Path: "/login", MaxAge: int(loginTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: d.guard.HTTPS(r)})
	return mac(key, "login-csrf", nonce)
}

// loginNonce is the nonce of the request's login cookie, when it is signed and unexpired.
func (d *Dashboard) loginNonce(r *http.Request, key []byte) (string, bool) {
	c, err := r.Cookie(loginCookie)
	if err != nil {
		return "", false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 || !hmac.Equal([]byte(parts[2]), []byte(mac(key, "login-cookie", parts[0], parts[1]))) {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || d.svc.Now().Unix() >= exp {
		return "", false
	}
	return parts[0], true
}

// loginCSRFOK reports whether a sign-in POST carries the token of its login cookie.
func (d *Dashboard) loginCSRFOK(r *http.Request, key []byte) bool {
	nonce, ok := d.loginNonce(r, key)
	got := r.PostFormValue("csrf")
	return ok && got != "" && hmac.Equal([]byte(got), []byte(mac(key, "login-csrf", nonce)))
}

func (d *Dashboard) loginForm(w http.ResponseWriter, r *http.Request) {
	key, err := d.csrfKey(r.Context())
	if err != nil {
		d.fail(w, err)
		return
	}
	d.render(w, http.StatusOK, "login", page{Title: "Sign in", CSRF: d.loginToken(w, r, key)})
}

// loginData keeps the typed e-mail when a sign-in is refused.
type loginData struct{ Email string }

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	key, err := d.csrfKey(r.Context())
	if err != nil {
		d.fail(w, err)
		return
	}
	if !d.loginCSRFOK(r, key) {
		d.guard.Refuse(r, "login_csrf")
		d.render(w, http.StatusForbidden, "login", page{Title: "Sign in", CSRF: d.loginToken(w, r, key),
			Error: "The form expired. Please sign in again."})
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	ok, wait, err := d.guard.Allow(r.Context(), r, authguard.SignIn)
	if err != nil {
		d.fail(w, err)
		return
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		d.render(w, http.StatusTooManyRequests, "login", page{Title: "Sign in", CSRF: d.loginToken(w, r, key), Data: loginData{Email: email},
			Error: fmt.Sprintf("Too many failed sign-ins from your network. Try again in %d minutes.", (wait+59)/60)})
		return
	}
	u, err := d.svc.AuthenticateUser(r.Context(), email, r.PostFormValue("password"))
	if errors.Is(err, storage.ErrUnauthorized) {
		d.guard.Failed(r.Context(), r, authguard.SignIn)
		d.render(w, http.StatusUnauthorized, "login", page{Title: "Sign in", CSRF: d.loginToken(w, r, key), Data: loginData{Email: email},
			Error: "That e-mail and password do not match an active user."})
		return
	}
	if err != nil {
		d.fail(w, err)
		return
	}
	token, expires, err := d.svc.NewSession(r.Context(), u.ID)
	if err != nil {
		d.fail(w, err)
		return
	}
	d.log.Info("dashboard sign-in", "user", u.Email, "client", d.guard.Client(r))
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true})
	// Max-Age as well as Expires: a browser whose clock is off by more than a session's
	// life (a back-office PC) counts Max-Age from its own now and keeps the session.
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: d.guard.HTTPS(r), Expires: expires,
		MaxAge: max(1, int(expires.Sub(d.svc.Now()).Seconds()))})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session in the database, not only in this browser: a copied cookie
// stops working too.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	key, err := d.csrfKey(r.Context())
	if err != nil {
		d.fail(w, err)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), csrfCtxKey{}, &csrfCheck{want: sessionCSRF(key, c.Value),
		refused: func(r *http.Request) { d.guard.Refuse(r, "csrf") }}))
	if !csrfOK(r) {
		http.Error(w, "forbidden: missing or wrong CSRF token", http.StatusForbidden)
		return
	}
	if err := d.svc.EndSession(r.Context(), c.Value); err != nil {
		d.fail(w, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type pageHandler func(w http.ResponseWriter, r *http.Request, p page)

// signedIn checks the session and prepares the page with the user's filters.
func (d *Dashboard) signedIn(next pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(SessionCookie)
		if err != nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		u, err := d.svc.SessionUser(r.Context(), c.Value)
		if errors.Is(err, storage.ErrUnauthorized) {
			d.guard.Refuse(r, "session", "why", "unknown, expired or ended session, or a disabled user")
			http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1})
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if err != nil {
			d.fail(w, err)
			return
		}
		key, err := d.csrfKey(r.Context())
		if err != nil {
			d.fail(w, err)
			return
		}
		rd := u.Reader()
		p := page{Reader: &rd, CSRF: sessionCSRF(key, c.Value), Lang: u.Language}
		r = r.WithContext(context.WithValue(r.Context(), csrfCtxKey{}, &csrfCheck{want: p.CSRF,
			refused: func(r *http.Request) { d.guard.Refuse(r, "csrf", "user", u.Email) }}))
		f, ferr := d.svc.ParseFilter(r.Context(), r.URL.Query(), rd)
		if ferr != nil && ferr.Err != nil {
			d.fail(w, ferr.Err)
			return
		}
		if ferr != nil {
			p.Title, p.Error = "Not allowed", ferr.Human
			d.render(w, ferr.Status, "forbidden", p)
			return
		}
		p.Filter = f
		q := url.Values{"from": {f.From}, "to": {f.To}}
		for _, k := range []string{"store", "region", "format", "segment", "channel", "touchpoint", "min_n", "category", "score", "q", "sort"} {
			if v := r.URL.Query().Get(k); v != "" {
				q.Set(k, v)
			}
		}
		p.Query = template.URL(q.Encode())
		p.Nav = navQuery(r.URL.Query())
		p.Lang = u.Language
		p.MinN = r.URL.Query().Get("min_n")
		next(w, r, p)
	})
}

// selectionKeys are the filter bar's fields: what the links between report pages keep.
var selectionKeys = []string{"from", "to", "region", "format", "segment", "channel", "touchpoint", "min_n"}

// navQuery is the filter bar's selection of a query, only what the address names: a
// page opened without a choice links on without one, so its defaults stay the defaults.
func navQuery(in url.Values) template.URL {
	q := url.Values{}
	for _, k := range selectionKeys {
		if v := in.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	return template.URL(q.Encode())
}

func (d *Dashboard) fail(w http.ResponseWriter, err error) {
	d.log.Error("dashboard", "err", err)
	http.Error(w, "The collector could not read its database; try again shortly.", http.StatusServiceUnavailable)
}

type overviewData struct {
	Scope string
	// NPS is the period's with the previous period's beside it and the change.
	NPS         collector.PeriodReport
	Split       template.HTML
	Trend       template.HTML
	Best, Worst []storage.StoreReport
}

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	rep, err := d.svc.PeriodReport(ctx, p.Filter)
	if err != nil {
		d.fail(w, err)
		return
	}
	trend, err := d.svc.Trend(ctx, p.Filter, "day")
	if err != nil {
		d.fail(w, err)
		return
	}
	stores, err := d.svc.Stores(ctx, p.Filter)
	if err != nil {
		d.fail(w, err)
		return
	}
	if err := d.withLabels(r, &p); err != nil {
		d.fail(w, err)
		return
	}
	best, worst := bestAndWorst(stores, 5)
	p.Title, p.Page = "Overview", "overview"
	p.Data = overviewData{Scope: p.Filter.StoreID, NPS: rep, Split: splitSVG(rep.NPSReport), Trend: trendSVG(trend, p.Filter), Best: best, Worst: worst}
	d.render(w, http.StatusOK, "overview", p)
}

// Change is the NPS change from the previous period, nil when either period has no
// responses: there is nothing to compare.
func (o overviewData) Change() *nps.Difference {
	if o.NPS.Responses == 0 || o.NPS.Previous.Responses == 0 {
		return nil
	}
	return &o.NPS.Change
}

// bestAndWorst returns up to n stores with the highest NPS and as many with the lowest,
// among those with responses. The two lists never share a store: with fewer than two
// stores there is nothing to rank, and both are empty.
func bestAndWorst(stores []storage.StoreReport, n int) (best, worst []storage.StoreReport) {
	ranked := slices.DeleteFunc(slices.Clone(stores), func(s storage.StoreReport) bool { return s.Responses == 0 })
	collector.SortStores(ranked, "-nps")
	k := min(n, len(ranked)/2)
	best = ranked[:k]
	worst = slices.Clone(ranked[len(ranked)-k:])
	slices.Reverse(worst)
	return best, worst
}

type storesData struct {
	// Ranked are the stores with a rank, Unranked those without (each saying why).
	Ranked, Unranked []storage.StoreReport
	// Ranking says whether the stores could be ranked (collector.Ranking…).
	Ranking string
	MinN    int64
	query   url.Values
	ranks   map[int]int // how many stores share each rank
}

// RankText shows a store's rank, a shared one as a tie: "1", "=2".
func (s storesData) RankText(r storage.StoreReport) string {
	if r.Rank == 0 {
		return "–"
	}
	if s.ranks[r.Rank] > 1 {
		return "=" + strconv.Itoa(r.Rank)
	}
	return strconv.Itoa(r.Rank)
}

// RankingNote says why the stores are not ranked, or "" when they are.
func (s storesData) RankingNote() string {
	switch s.Ranking {
	case collector.RankingRanked:
		return ""
	case collector.RankingOneStore:
		return "Only one store is in view: a rank of one out of one says nothing, so it is not ranked."
	case collector.RankingOneEnough:
		return fmt.Sprintf("Only one store has at least %d responses: there is nothing to rank it against.", s.MinN)
	case collector.RankingNoneEnough:
		return fmt.Sprintf("No store has at least %d responses: none is ranked.", s.MinN)
	}
	return "No stores in view."
}

// SortQuery is the current query with the sort changed, for column headers.
func (s storesData) SortQuery(by string) template.URL {
	q := url.Values{}
	for k, v := range s.query {
		q[k] = v
	}
	q.Set("sort", by)
	return template.URL(q.Encode())
}

// Change is the NPS change against the previous period, when both have responses.
func (s storesData) Change(r storage.StoreReport) string {
	if r.Responses == 0 || r.Previous == nil || r.Previous.Responses == 0 {
		return ""
	}
	return fmt.Sprintf("%+.1f", r.NPS-r.Previous.NPS)
}

func (d *Dashboard) stores(w http.ResponseWriter, r *http.Request, p page) {
	ranking, err := d.svc.RankStores(r.Context(), p.Filter)
	if err != nil {
		d.fail(w, err)
		return
	}
	stores := ranking.Stores
	if by := r.URL.Query().Get("sort"); by != "" {
		collector.SortStores(stores, by)
	} else {
		// Best first, as ranked; the unranked are listed apart below.
		slices.SortStableFunc(stores, func(a, b storage.StoreReport) int { return a.Rank - b.Rank })
	}
	if err := d.withLabels(r, &p); err != nil {
		d.fail(w, err)
		return
	}
	p.Title, p.Page = "Stores", "stores"
	q, _ := url.ParseQuery(string(p.Query))
	data := storesData{Ranking: ranking.Ranking, MinN: ranking.MinResponses, query: q, ranks: map[int]int{}}
	for _, s := range stores {
		if s.Rank > 0 {
			data.Ranked = append(data.Ranked, s)
			data.ranks[s.Rank]++
		} else {
			data.Unranked = append(data.Unranked, s)
		}
	}
	p.Data = data
	d.render(w, http.StatusOK, "stores", p)
}

type storeData struct {
	Store    storage.Store
	NPS      storage.NPSReport
	Trend    template.HTML
	Reasons  []storage.ReasonCount
	Comments []commentRow
	labels   collector.KeyLabels
	// Channels compares the store's channels; nil when it has kiosk responses only.
	Channels *channelTable
}

func (d *Dashboard) store(w http.ResponseWriter, r *http.Request, p page) {
	id := r.PathValue("id")
	if p.Reader.StoreID != "" && id != p.Reader.StoreID {
		p.Title, p.Error = "Not allowed", "You may see your own store only."
		d.render(w, http.StatusForbidden, "forbidden", p)
		return
	}
	ctx := r.Context()
	f := p.Filter
	f.StoreID, f.Region = id, ""
	stores, err := d.svc.Stores(ctx, f)
	if err != nil {
		d.fail(w, err)
		return
	}
	if len(stores) == 0 {
		p.Title, p.Error = "No such store", "There is no store "+id+"."
		d.render(w, http.StatusNotFound, "forbidden", p)
		return
	}
	if !p.Reader.MaySee(stores[0].Store) {
		p.Title, p.Error = "Not allowed", "You may see the stores of region "+p.Reader.Region+" only."
		d.render(w, http.StatusForbidden, "forbidden", p)
		return
	}
	trend, err := d.svc.Trend(ctx, f, "day")
	if err != nil {
		d.fail(w, err)
		return
	}
	reasons, err := d.svc.Reasons(ctx, f)
	if err != nil {
		d.fail(w, err)
		return
	}
	comments, err := d.svc.Comments(ctx, storage.CommentFilter{Filter: f, Limit: 10})
	if err != nil {
		d.fail(w, err)
		return
	}
	labels, err := d.svc.KeyLabels(ctx, []string{id}, p.Lang)
	if err != nil {
		d.fail(w, err)
		return
	}
	channels, err := d.storeChannels(r, f)
	if err != nil {
		d.fail(w, err)
		return
	}
	if err := d.withLabels(r, &p); err != nil {
		d.fail(w, err)
		return
	}
	p.Title, p.Page = stores[0].Name, "stores"
	p.Keep = map[string]string{}
	p.Data = storeData{Store: stores[0].Store, NPS: stores[0].NPSReport, Trend: trendSVG(trend, f), Reasons: reasons,
		Comments: commentRows(comments, labels), labels: labels, Channels: channels}
	d.render(w, http.StatusOK, "store", p)
}

// ReasonLabel names one of the store's reason keys in the viewer's language.
func (sd storeData) ReasonLabel(key string) string { return sd.labels.Reason(sd.Store.ID, key) }

// commentRow is a comment with its reasons and themes named in the viewer's language.
type commentRow struct {
	storage.Comment
	// Text is the comment's text: .Comment in a template is the embedded Comment.
	Text                      string
	ReasonLabels, ThemeLabels []string
}

func commentRows(cs []storage.Comment, labels collector.KeyLabels) []commentRow {
	out := make([]commentRow, len(cs))
	for i, c := range cs {
		out[i].Comment, out[i].Text = c, c.Comment
		var reasons []string
		json.Unmarshal([]byte(c.Reasons), &reasons) // the column is always a JSON list; a broken one shows none
		for _, k := range reasons {
			out[i].ReasonLabels = append(out[i].ReasonLabels, labels.Reason(c.StoreID, k))
		}
		for _, k := range c.Themes {
			out[i].ThemeLabels = append(out[i].ThemeLabels, labels.Theme(c.StoreID, k))
		}
	}
	return out
}

// option is a choice in a select: the value sent and the words shown.
type option struct{ Value, Label string }

type commentsData struct {
	Filter     storage.CommentFilter
	Score      string
	Sentiment  string
	Stores     []storage.StoreReport
	Themes     []option
	Categories []string
	Scores     []option
	Sentiments []string
	Comments   []commentRow
	// Next opens the next page; First the first, set when this page is not it. Export
	// is the CSV of every matching comment. All keep every other parameter.
	Next, First, Export template.URL
}

// commentFilter reads the comment filters of the page, beside the report filter.
func commentFilter(r *http.Request, p page) (storage.CommentFilter, error) {
	cf, err := collector.ParseCommentFilter(p.Filter, r.URL.Query())
	if err != nil {
		return cf, err
	}
	if cf.Limit == 0 {
		cf.Limit = storage.DefaultCommentPage
	}
	return cf, nil
}

// withParam is the page's query with one parameter set (removed when v is empty).
func withParam(q url.Values, k, v string) template.URL {
	q = maps.Clone(q)
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	return template.URL(q.Encode())
}

func (d *Dashboard) comments(w http.ResponseWriter, r *http.Request, p page) {
	cf, err := commentFilter(r, p)
	if err != nil {
		p.Title, p.Error = "Not allowed", err.Error()
		d.render(w, http.StatusBadRequest, "forbidden", p)
		return
	}
	ctx := r.Context()
	cp, err := d.svc.CommentsPage(ctx, cf)
	if errors.Is(err, storage.ErrInvalid) {
		p.Title, p.Error = "Not allowed", err.Error()
		d.render(w, http.StatusBadRequest, "forbidden", p)
		return
	}
	if err != nil {
		d.fail(w, err)
		return
	}
	p.Reader.HideCommentContacts(cp.Comments)
	scope := storage.Filter{From: p.Filter.From, To: p.Filter.To, StoreID: p.Reader.StoreID, Region: p.Reader.Region}
	stores, err := d.svc.Stores(ctx, scope)
	if err != nil {
		d.fail(w, err)
		return
	}
	// The region, format, segment and channel choices are the filter bar's (withLabels).
	themeKeys, err := d.svc.ThemeChoices(ctx, scope)
	if err != nil {
		d.fail(w, err)
		return
	}
	if err := d.withLabels(r, &p); err != nil {
		d.fail(w, err)
		return
	}
	ids := []string{cf.StoreID}
	for _, c := range cp.Comments {
		ids = append(ids, c.StoreID)
	}
	labels, err := d.svc.KeyLabels(ctx, ids, p.Lang)
	if err != nil {
		d.fail(w, err)
		return
	}
	data := commentsData{Filter: cf, Score: r.URL.Query().Get("score"), Sentiment: r.URL.Query().Get("sentiment"), Stores: stores,
		Categories: []string{"detractor", "passive", "promoter"}, Sentiments: []string{"negative", "neutral", "positive"},
		Comments: commentRows(cp.Comments, labels)}
	keepChosen := func(list []string, chosen string) []string {
		if chosen != "" && !slices.Contains(list, chosen) {
			list = append(list, chosen)
		}
		return list
	}
	for _, k := range keepChosen(themeKeys, cf.Theme) {
		data.Themes = append(data.Themes, option{k, labels.Theme(cf.StoreID, k)})
	}
	data.Scores = []option{{"0-6", "0–6 (detractors)"}, {"7-8", "7–8 (passives)"}, {"9-10", "9–10 (promoters)"}}
	for i := range 11 {
		data.Scores = append(data.Scores, option{strconv.Itoa(i), strconv.Itoa(i)})
	}
	// Every parameter of the page, the period as the filter read it.
	q := r.URL.Query()
	q.Set("from", p.Filter.From)
	q.Set("to", p.Filter.To)
	if cp.Next != "" {
		data.Next = withParam(q, "after", cp.Next)
	}
	if cf.After != "" {
		data.First = withParam(q, "after", "")
	}
	data.Export = withParam(q, "after", "")
	p.Title, p.Page = "Comments", "comments"
	p.Data = data
	d.render(w, http.StatusOK, "comments", p)
}

type devicesData struct {
	Devices []storage.Device
	// CanAct: the reader may ask kiosks for remote actions and see them (Actions).
	CanAct  bool
	Actions []actionRow
	// Asked is the id of the action just asked for; Error why a request was refused.
	Asked string
	// Rollout is the staged rollout in force (zero: none ever), and Summary where the
	// devices stand in it.
	Rollout storage.Rollout
	Summary storage.RolloutSummary
	now     time.Time
	// keys are the collector's contact keys; nil: it has none.
	keys *contactseal.Keyring
}

// certWarning is how soon before the collector's TLS certificate expires, as a kiosk
// saw it, the devices page warns: time to renew before kiosks refuse it.
const certWarning = 14 * 24 * time.Hour

// CertWarning says when the collector certificate a device saw expires within
// certWarning or has expired, or "" when it does not (or the device saw none).
func (dd devicesData) CertWarning(d storage.Device) string {
	if d.CollectorCertExpiry.IsZero() {
		return ""
	}
	left := d.CollectorCertExpiry.Sub(dd.now)
	switch {
	case left <= 0:
		return "collector certificate expired " + d.CollectorCertExpiry.UTC().Format("2006-01-02 15:04") + " UTC"
	case left <= certWarning:
		return fmt.Sprintf("collector certificate expires in %s", days(left))
	}
	return ""
}

// days says a duration to the day, rounded up: "1 day", "14 days".
func days(d time.Duration) string {
	n := int((d + 24*time.Hour - 1) / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// CollectorKey is the id of the collector's current contact key, "" when it has none.
func (dd devicesData) CollectorKey() string {
	if dd.keys == nil {
		return ""
	}
	return dd.keys.Current().ID
}

// KeyFlag says what is wrong with the contact key a device seals to: one this collector
// does not hold (its contacts will arrive sealed), or an older one (a rotation that has
// not reached it yet: its contacts still open). "" when it is the current key, or when
// neither side has one.
func (dd devicesData) KeyFlag(d storage.Device) string {
	switch {
	case d.ContactKeyID == "":
		return ""
	case dd.keys == nil || !dd.keys.Has(d.ContactKeyID):
		return "not held by this collector: its contacts arrive sealed"
	case d.ContactKeyID != dd.keys.Current().ID:
		return "an older key: the rotation has not reached it yet"
	}
	return ""
}

// Problem says what is wrong with a device, or "" when it looks healthy.
func (dd devicesData) Problem(d storage.Device) string {
	switch {
	case d.Revoked:
		return ""
	case !d.Enrolled:
		return "not enrolled yet"
	case d.LastSeen.IsZero() || dd.now.Sub(d.LastSeen) > time.Hour:
		return "silent for over an hour"
	case d.QueueLength > 0 && d.OldestPending > 3600:
		return "responses waiting for over an hour"
	case time.Duration(d.ClockSkewMS)*time.Millisecond > maxDeviceSkew || time.Duration(d.ClockSkewMS)*time.Millisecond < -maxDeviceSkew:
		return "clock off by " + dd.Skew(d.ClockSkewMS)
	}
	return dd.CertWarning(d)
}

// maxDeviceSkew: a device clock off by more than this is flagged. HQ stores its responses
// at their true time anyway, but the kiosk's own figures ("today") go by its clock.
const maxDeviceSkew = 5 * time.Minute

// Skew shows a device's clock skew as a person would say it: "+1 h 0 min", "−2 d".
func (devicesData) Skew(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	sign := "+"
	if d < 0 {
		sign, d = "−", -d
	}
	switch {
	case d < time.Second:
		return "0 s"
	case d < time.Minute:
		return fmt.Sprintf("%s%d s", sign, int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%s%d min", sign, int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%s%d h %d min", sign, int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%s%d d", sign, int(d/(24*time.Hour)))
}

// RolloutState is where a device stands in the rollout: "" outside it (or with none),
// else on target, pending, failed or rolled back.
func (d devicesData) RolloutState(dv storage.Device) string {
	st := d.Rollout.DeviceState(dv)
	if st == storage.RolloutOutside {
		return ""
	}
	return strings.ReplaceAll(st, "_", " ")
}

// RolloutFlag says whether a device's rollout state needs IT's eye.
func (d devicesData) RolloutFlag(dv storage.Device) bool {
	st := d.Rollout.DeviceState(dv)
	return st == wire.UpdateFailed || st == wire.UpdateRolledBack
}

// MiB shows bytes in mebibytes.
func (devicesData) MiB(b int64) int64 { return b >> 20 }

// Bytes shows a size in KiB below a mebibyte and in MiB from there, for kiosk
// databases, which start small.
func (devicesData) Bytes(b int64) string {
	if b < 1<<20 {
		return fmt.Sprintf("%d KiB", (b+1023)>>10)
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func (d *Dashboard) deviceList(r *http.Request, p page) ([]storage.Device, error) {
	ds, err := d.svc.Devices(r.Context())
	if err != nil {
		return nil, err
	}
	if !p.Reader.Chain() {
		byID, _, err := d.storeIndex(r, p)
		if err != nil {
			return nil, err
		}
		ds = slices.DeleteFunc(ds, func(dv storage.Device) bool { _, ok := byID[dv.StoreID]; return !ok })
	}
	return slices.DeleteFunc(ds, func(dv storage.Device) bool { return dv.Revoked }), nil
}

func (d *Dashboard) devices(w http.ResponseWriter, r *http.Request, p page) {
	d.renderDevices(w, r, p, http.StatusOK, "")
}

// renderDevices shows the devices page, with why a remote action was refused.
func (d *Dashboard) renderDevices(w http.ResponseWriter, r *http.Request, p page, status int, refusal string) {
	ds, err := d.deviceList(r, p)
	if err != nil {
		d.fail(w, err)
		return
	}
	actions, err := d.deviceActionData(r, p, ds)
	if err != nil {
		d.fail(w, err)
		return
	}
	rollout, _, err := d.svc.CurrentRollout(r.Context())
	if err != nil {
		d.fail(w, err)
		return
	}
	p.Title, p.Page, p.Error = "Devices", "devices", refusal
	p.Data = devicesData{Devices: ds, now: d.svc.Now(), keys: d.svc.ContactKeys,
		CanAct: p.Reader.Chain() && p.Reader.UserID != "", Actions: actions, Asked: r.URL.Query().Get("asked"),
		Rollout: rollout, Summary: rollout.Summarize(ds)}
	d.render(w, status, "devices", p)
}

// export writes what a table shows as CSV.
func (d *Dashboard) export(w http.ResponseWriter, r *http.Request, p page) {
	var rows [][]string
	switch r.PathValue("table") {
	case "stores.csv":
		stores, err := d.svc.Stores(r.Context(), p.Filter)
		if err != nil {
			d.fail(w, err)
			return
		}
		collector.SortStores(stores, r.URL.Query().Get("sort"))
		rows = append(rows, []string{"store_id", "name", "region", "nps", "margin_of_error", "responses", "promoters", "passives", "detractors", "change", "last_device_contact"})
		for _, s := range stores {
			last := ""
			if !s.LastSeen.IsZero() {
				last = s.LastSeen.UTC().Format(time.RFC3339)
			}
			rows = append(rows, []string{s.ID, storage.CSVCell(s.Name), storage.CSVCell(s.Region), fmt.Sprintf("%.1f", s.NPS), fmt.Sprintf("%.1f", s.MarginOfError),
				strconv.FormatInt(s.Responses, 10), strconv.FormatInt(s.Promoters, 10), strconv.FormatInt(s.Passives, 10),
				strconv.FormatInt(s.Detractors, 10), storesData{}.Change(s), last})
		}
	case "comments.csv":
		d.exportComments(w, r, p)
		return
	case "devices.csv":
		ds, err := d.deviceList(r, p)
		if err != nil {
			d.fail(w, err)
			return
		}
		dd := devicesData{Devices: ds, now: d.svc.Now(), keys: d.svc.ContactKeys}
		rows = append(rows, []string{"id", "store_id", "name", "last_seen", "app_version", "queue_length", "oldest_pending_seconds", "clock_skew_ms", "free_disk_bytes", "problem",
			"collector_cert_expiry", "contact_key_id", "contact_key_problem", "db_bytes", "last_purge_at", "last_purged", "settings_version", "local_overrides",
			"update_target", "update_state"})
		for _, dv := range ds {
			last, expiry, purge := "", "", ""
			if !dv.LastPurgeAt.IsZero() {
				purge = dv.LastPurgeAt.UTC().Format(time.RFC3339)
			}
			if !dv.LastSeen.IsZero() {
				last = dv.LastSeen.UTC().Format(time.RFC3339)
			}
			if !dv.CollectorCertExpiry.IsZero() {
				expiry = dv.CollectorCertExpiry.UTC().Format(time.RFC3339)
			}
			rows = append(rows, []string{dv.ID, dv.StoreID, storage.CSVCell(dv.Name), last, dv.AppVersion, strconv.FormatInt(dv.QueueLength, 10),
				fmt.Sprintf("%.0f", dv.OldestPending), strconv.FormatInt(dv.ClockSkewMS, 10), strconv.FormatInt(dv.FreeDisk, 10), dd.Problem(dv),
				expiry, storage.CSVCell(dv.ContactKeyID), dd.KeyFlag(dv), strconv.FormatInt(dv.DBBytes, 10), purge, strconv.FormatInt(dv.LastPurged, 10),
				strconv.FormatInt(dv.SettingsVersion, 10), strings.Join(dv.LocalOverrides, ","),
				storage.CSVCell(dv.UpdateTarget), storage.CSVCell(dv.UpdateState)})
		}
	case "cases.csv":
		var err error
		rows, err = d.caseRows(r, p)
		if errors.Is(err, storage.ErrInvalid) {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err != nil {
			d.fail(w, err)
			return
		}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+r.PathValue("table")+`"`)
	cw := csv.NewWriter(w)
	cw.WriteAll(rows)
}

// exportComments streams every comment of the page's filters as CSV, newest first,
// each row written as it is read and flushed every few hundred, so that an export of a
// year's comments neither waits nor holds them all in memory.
func (d *Dashboard) exportComments(w http.ResponseWriter, r *http.Request, p page) {
	cf, err := commentFilter(r, p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="comments.csv"`)
	cw := csv.NewWriter(w)
	flusher, _ := w.(http.Flusher)
	// The first eleven columns as before the streaming export; new ones after them.
	cw.Write([]string{"id", "store_id", "day", "score", "category", "comment", "reasons", "contact", "locale", "channel", "touchpoint",
		"created_at", "segment", "sentiment", "worth_a_look"})
	n := 0
	err = d.svc.EachComment(r.Context(), cf, func(c storage.Comment) error {
		c.Contact, c.ContactSealed = p.Reader.HideContact(c.Contact, c.ContactSealed)
		cw.Write([]string{c.ID, c.StoreID, c.Day, strconv.Itoa(c.Score), c.Category, storage.CSVCell(c.Comment), c.Reasons,
			contactCell(c.Contact, c.ContactSealed), c.Locale, c.Channel, c.Touchpoint, c.CreatedAt.Format(time.RFC3339), storage.CSVCell(c.Segment),
			c.Sentiment, strconv.FormatBool(c.WorthALook)})
		if n++; n%250 == 0 {
			cw.Flush()
			if flusher != nil {
				flusher.Flush()
			}
		}
		return cw.Error()
	})
	if err != nil && n < 250 { // nothing sent yet: say so
		d.fail(w, err)
		return
	}
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		// Rows were sent with a 200: break the connection, so that the download fails
		// instead of ending as if it were whole.
		d.log.Error("export comments", "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// splitSVG draws promoters, passives and detractors as one labelled bar.
func splitSVG(rep storage.NPSReport) template.HTML {
	if rep.Responses == 0 {
		return `<p class="muted">No responses in this period.</p>`
	}
	parts := []struct {
		name, color string
		n           int64
	}{{"Promoters", "#1f6fd1", rep.Promoters}, {"Passives", "#a7adb5", rep.Passives}, {"Detractors", "#e06c00", rep.Detractors}}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 1000 40" role="img" aria-labelledby="split-title"><title id="split-title">Promoters %d, passives %d, detractors %d</title>`,
		rep.Promoters, rep.Passives, rep.Detractors)
	x := 0.0
	for _, p := range parts {
		w := 1000 * float64(p.n) / float64(rep.Responses)
		fmt.Fprintf(&b, `<rect x="%.1f" y="0" width="%.1f" height="40" fill="%s"/>`, x, w, p.color)
		x += w
	}
	b.WriteString(`</svg><div class="legend">`)
	for _, p := range parts {
		fmt.Fprintf(&b, `<span><span class="swatch %s"></span>%s %.0f%% (%d)</span>`, strings.ToLower(p.name[:len(p.name)-1]), p.name,
			100*float64(p.n)/float64(rep.Responses), p.n)
	}
	b.WriteString(`</div>`)
	return template.HTML(b.String())
}

// trendSVG draws daily NPS from −100 to +100 with labelled axes; days without
// responses are gaps. Every value is also in the title for screen readers.
func trendSVG(points []storage.TrendPoint, f storage.Filter) template.HTML {
	from, err1 := time.Parse(time.DateOnly, f.From)
	to, err2 := time.Parse(time.DateOnly, f.To)
	if err1 != nil || err2 != nil || len(points) == 0 {
		return `<p class="muted">No responses in this period.</p>`
	}
	days := int(to.Sub(from).Hours()/24) + 1
	byDay := map[string]storage.TrendPoint{}
	for _, p := range points {
		byDay[p.Start] = p
	}
	const w, h, left, top, bottom = 1000.0, 260.0, 48.0, 10.0, 30.0
	plotH := h - top - bottom
	y := func(v float64) float64 { return top + plotH*(100-v)/200 }
	slot := (w - left) / float64(days)
	var b, desc strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="trend-title">`, w, h)
	for _, v := range []float64{100, 50, 0, -50, -100} {
		stroke, width := "#d5d9e0", 1
		if v == 0 {
			stroke, width = "#5f6670", 2
		}
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="%d"/>`, left, w, y(v), y(v), stroke, width)
		label := fmt.Sprintf("%+.0f", v)
		if v == 0 {
			label = "0"
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="14" text-anchor="end" fill="#4a4f57">%s</text>`, left-6, y(v)+5, label)
	}
	for i := range days {
		day := from.AddDate(0, 0, i).Format(time.DateOnly)
		x := left + float64(i)*slot
		if p, ok := byDay[day]; ok && p.Responses > 0 {
			top, bottom := y(max(p.NPS, 0)), y(min(p.NPS, 0))
			color := "#1f6fd1"
			if p.NPS < 0 {
				color = "#e06c00"
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x+slot*0.15, top, slot*0.7, max(bottom-top, 2), color)
			fmt.Fprintf(&desc, "%s: %+.0f (%d responses). ", day, p.NPS, p.Responses)
		}
		if i%max(1, days/6) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="14" text-anchor="middle" fill="#4a4f57">%s</text>`,
				x+slot/2, h-8, from.AddDate(0, 0, i).Format("Jan 2"))
		}
	}
	fmt.Fprintf(&b, `<title id="trend-title">Daily NPS %s to %s. %s</title></svg>`, f.From, f.To, html.EscapeString(desc.String()))
	return template.HTML(b.String())
}
