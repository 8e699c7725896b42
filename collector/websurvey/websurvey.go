// Package websurvey is the survey shoppers answer on their phones: the pages the
// collector serves at a survey link's short address (/s/CODE, printed as a QR code or
// sent in a message), and the printable QR codes and posters of those links.
//
// The pages are server-rendered HTML that work with JavaScript off (plain form posts)
// and a little better with it on (a tap on a score sends it), with no third-party
// assets. They ask the store's survey in the kiosk's four languages, and store through
// the collector's service, with the same rules as a kiosk's answers. A GET never stores
// anything. Abuse is met without CAPTCHAs: rate limits per client network and per link,
// a honeypot field, bounded request bodies, repeat answers from one browser or network
// flagged suspect (kept, left out of NPS) as a kiosk flags rapid taps, and one answer
// however often the same score form is posted.
package websurvey

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/internal/clientnet"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
)

//go:embed web/*.html web/static/*
var webFiles embed.FS

// Config wires the web survey. Zero values are the defaults given.
type Config struct {
	Service *collector.Service // required
	Logger  *slog.Logger       // nil: slog.Default()
	// TrustedProxies are the reverse proxies in front of the collector: a request from
	// one is from the address it names in X-Forwarded-For. Without them, every shopper
	// behind a proxy would share the proxy's rate limit.
	TrustedProxies []netip.Prefix
	// ClientRate and ClientBurst limit the answers (posts) per second from one client
	// network: 1 every 6 s, bursts of 10. A shopper posts twice (score, follow-up).
	ClientRate  float64
	ClientBurst int
	// LinkRate and LinkBurst limit the posts per second through one link, from everyone:
	// 2 a second, bursts of 120.
	LinkRate  float64
	LinkBurst int
	// RepeatWindow is how long an answer marks the next as a repeat: a second answer from
	// the same browser (a cookie) within it is flagged suspect, and so is one from a
	// network that gave NetworkRepeats answers to the same store within it (a shop's
	// Wi-Fi or a phone carrier shares one address among many people, so a few are
	// allowed). 10 minutes and 5.
	RepeatWindow   time.Duration
	NetworkRepeats int
	// FollowUpFor is how long after the score its follow-up may be sent: 2 hours.
	FollowUpFor time.Duration
	// MaxClients bounds the memory of the limits: at most this many client networks
	// and links are tracked by each. 100,000.
	MaxClients int
}

// Survey serves the web survey.
type Survey struct {
	svc      *collector.Service
	log      *slog.Logger
	cfg      Config
	texts    catalog
	pages    map[string]*template.Template
	static   map[string]staticFile
	clients  *limiters
	links    *limiters
	networks *recentAnswers

	keyMu sync.Mutex
	key   []byte // the follow-up tokens' key, read from the database once
}

type staticFile struct {
	body        []byte
	contentType string
}

// The request body limits: the score's form is a few fields; the follow-up's carries a
// comment of up to 1,000 characters, which percent-encoding may make 12 bytes each.
const (
	maxScoreForm    = 4 << 10
	maxFollowUpForm = 32 << 10
)

// answeredCookie marks a browser that answered within the repeat window.
const answeredCookie = "nps_answered"

// honeypot is the form field people never see (the stylesheet hides it) and form-filling
// robots fill in.
const honeypot = "website"

// New parses the pages (embedded: a broken one panics at start-up) and the texts.
func New(cfg Config) (*Survey, error) {
	if cfg.Service == nil {
		return nil, errors.New("web survey: Config.Service is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientRate <= 0 {
		cfg.ClientRate = 1.0 / 6
	}
	if cfg.ClientBurst <= 0 {
		cfg.ClientBurst = 10
	}
	if cfg.LinkRate <= 0 {
		cfg.LinkRate = 2
	}
	if cfg.LinkBurst <= 0 {
		cfg.LinkBurst = 120
	}
	if cfg.RepeatWindow <= 0 {
		cfg.RepeatWindow = 10 * time.Minute
	}
	if cfg.NetworkRepeats <= 0 {
		cfg.NetworkRepeats = 5
	}
	if cfg.FollowUpFor <= 0 {
		cfg.FollowUpFor = 2 * time.Hour
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 100_000
	}
	texts, err := newCatalog()
	if err != nil {
		return nil, err
	}
	s := &Survey{svc: cfg.Service, log: cfg.Logger, cfg: cfg, texts: texts, pages: map[string]*template.Template{},
		static:   map[string]staticFile{},
		clients:  newLimiters(cfg.ClientRate, cfg.ClientBurst, cfg.MaxClients),
		links:    newLimiters(cfg.LinkRate, cfg.LinkBurst, cfg.MaxClients),
		networks: newRecentAnswers(cfg.RepeatWindow, cfg.NetworkRepeats, cfg.MaxClients)}
	for _, page := range []string{"score", "followup", "thanks", "message"} {
		s.pages[page] = template.Must(template.ParseFS(webFiles, "web/layout.html", "web/"+page+".html"))
	}
	for name, ct := range map[string]string{"survey.css": "text/css; charset=utf-8", "survey.js": "text/javascript; charset=utf-8"} {
		b, err := fs.ReadFile(webFiles, "web/static/"+name)
		if err != nil {
			return nil, err
		}
		s.static[name] = staticFile{body: b, contentType: ct}
	}
	return s, nil
}

// Router is where the survey adds its pages: an http.ServeMux, or the HTTP API's server
// so that they share its metrics.
type Router interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the survey's routes, all under /s/ so that a reverse proxy can publish
// the survey and keep the rest of the collector inside.
func (s *Survey) Register(mux Router) {
	mux.Handle("GET /s/{code}", secure(http.HandlerFunc(s.scorePage)))
	mux.Handle("POST /s/{code}", secure(http.HandlerFunc(s.postScore)))
	mux.Handle("GET /s/{code}/more", secure(http.HandlerFunc(s.followUpPage)))
	mux.Handle("POST /s/{code}/more", secure(http.HandlerFunc(s.postFollowUp)))
	mux.Handle("GET /s/{code}/thanks", secure(http.HandlerFunc(s.thanksPage)))
	for name := range s.static { // each by name: a wildcard here would overlap /s/{code}/more
		mux.Handle("GET /s/_/"+name, http.HandlerFunc(s.serveStatic))
	}
	mux.Handle("/s/", secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.message(w, r, http.StatusNotFound, negotiate("", r.Header.Get("Accept-Language"), Languages), "notfound", nil)
	})))
}

// secure sets the headers every survey page carries: scripts and styles from the
// collector only, nothing framed, nothing cached, no referrer to anyone.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Vary", "Accept-Language, Cookie")
		next.ServeHTTP(w, r)
	})
}

func (s *Survey) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/s/_/")
	f, ok := s.static[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

// assetVersion changes with the static files, so a browser never mixes a new page with
// a cached old script.
func (s *Survey) assetVersion() string {
	h := sha256.New()
	for _, name := range []string{"survey.css", "survey.js"} {
		h.Write(s.static[name].body)
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// view is what every page's template gets.
type view struct {
	texts        catalog
	Lang         string
	Title        string
	StoreName    string
	Code         string
	Langs        []langLink
	Error        string
	AssetVersion string
	Data         any
}

// T translates a message into the page's language.
func (v view) T(key string, args ...string) string { return v.texts.T(v.Lang, key, args...) }

// langLink is one entry of the language switch.
type langLink struct {
	Tag, Name string
	URL       template.URL
	Current   bool
}

func (s *Survey) newView(lang, storeName, code string) view {
	v := view{texts: s.texts, Lang: lang, StoreName: storeName, Code: code, AssetVersion: s.assetVersion()}
	v.Title = s.texts.T(lang, "page.title", "store", storeName)
	if storeName == "" {
		v.Title = s.texts.T(lang, "notfound.title")
	}
	return v
}

// switchTo lists the languages offered, each a link to path with ?lang= and the extra
// query values.
func (s *Survey) switchTo(v *view, offer []string, path string, extra url.Values) {
	if len(offer) < 2 {
		return
	}
	for _, l := range offer {
		q := url.Values{}
		for k, vs := range extra {
			q[k] = vs
		}
		q.Set("lang", l)
		v.Langs = append(v.Langs, langLink{Tag: l, Name: s.texts.T(l, "language.name"), URL: template.URL(path + "?" + q.Encode()), Current: l == v.Lang})
	}
}

// render writes a page whole or not at all: a template error is a plain 500, never half
// a page or a stack trace.
func (s *Survey) render(w http.ResponseWriter, status int, name string, v view) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render web survey page", "page", name, "err", err)
		http.Error(w, "Sorry, this page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// messageData is an error or notice page: a title, a line, and where to go back to.
type messageData struct {
	Heading, Body string
	Back          template.URL
}

// message shows a page that says what went wrong (key.title and key.body), in lang.
func (s *Survey) message(w http.ResponseWriter, r *http.Request, status int, lang, key string, l *storage.Link) {
	v := s.newView(lang, "", "")
	d := messageData{Heading: s.texts.T(lang, key+".title"), Body: s.texts.T(lang, key+".body")}
	switch key {
	case "toolarge":
		d.Heading = s.texts.T(lang, "bad.title")
	case "expired":
		d.Heading, d.Body = s.texts.T(lang, "expired.title"), s.texts.T(lang, "expired.body")
	}
	if l != nil && (key == "bad" || key == "toolarge" || key == "busy" || key == "unavailable") {
		d.Back = template.URL("/s/" + l.Code + "?lang=" + lang)
	}
	v.Title, v.Data = d.Heading, d
	s.render(w, status, "message", v)
}

// link finds an open link by the request's code, or shows why there is none: 404 for a
// code that is not one, 410 for a link that closed. It returns false when it replied.
func (s *Survey) link(w http.ResponseWriter, r *http.Request, lang string, open bool) (storage.Link, bool) {
	code := r.PathValue("code")
	if !storage.ValidLinkCode(code) {
		s.message(w, r, http.StatusNotFound, lang, "notfound", nil)
		return storage.Link{}, false
	}
	l, err := s.svc.LinkByCode(r.Context(), code)
	// An invitations' link answers only with an invitation's token (/i/): at /s/ it
	// would take anyone's answers as the invitees'. A site's or app's key answers only
	// from its origins, through its own endpoint.
	if errors.Is(err, storage.ErrNotFound) || err == nil && !l.AnswersAtSurveyURL() {
		s.message(w, r, http.StatusNotFound, lang, "notfound", nil)
		return storage.Link{}, false
	}
	if err != nil {
		s.fail(w, r, lang, nil, err)
		return storage.Link{}, false
	}
	if open && l.Open(s.svc.Now()) != nil {
		s.message(w, r, http.StatusGone, lang, "closed", nil)
		return storage.Link{}, false
	}
	return l, true
}

// fail logs an error the shopper cannot help and says to try again.
func (s *Survey) fail(w http.ResponseWriter, r *http.Request, lang string, l *storage.Link, err error) {
	s.log.Error("web survey", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "5")
	s.message(w, r, http.StatusServiceUnavailable, lang, "unavailable", l)
}

// surveyFor reads the store's survey and the languages it is offered in.
func (s *Survey) surveyFor(ctx context.Context, l storage.Link) (response.Survey, []string, error) {
	sv, err := s.svc.Survey(ctx, l.StoreID)
	if err != nil {
		return response.Survey{}, nil, err
	}
	return sv, offered(sv.Languages), nil
}

// question is the survey's question in lang, as the kiosk words it.
func (s *Survey) question(sv response.Survey, lang string) string {
	if q := sv.Question[lang]; q != "" {
		return strings.ReplaceAll(q, "{store}", sv.StoreName)
	}
	return s.texts.T(lang, "rating.question", "store", sv.StoreName)
}

// scoreData is the score page's.
type scoreData struct {
	Question string
	Scores   []int
	Selected int    // -1: none
	Segment  string // the customer segment the address named, carried by the form
	Answer   string // the signed id of the answer the form stores (signAnswerID)
}

// segmentOf is the customer segment a survey address names (?segment=vip, for a link
// printed or sent to one group of shoppers), or the score form carries on. One that is
// not a valid label is ignored, not refused: the shopper who followed a mistyped link
// still answers, only unsegmented.
func segmentOf(v string) string {
	if v == "" || response.CheckLabel("segment", v) != nil {
		return ""
	}
	return v
}

func (s *Survey) scorePage(w http.ResponseWriter, r *http.Request) {
	s.showScore(w, r, http.StatusOK, r.URL.Query().Get("lang"), -1, "")
}

// showScore renders the score page; errKey, when set, says what to fix. Its form names
// a new answer, or, shown again after a post it refused, the answer that post named.
func (s *Survey) showScore(w http.ResponseWriter, r *http.Request, status int, asked string, selected int, errKey string) {
	accept := r.Header.Get("Accept-Language")
	l, ok := s.link(w, r, negotiate(asked, accept, Languages), true)
	if !ok {
		return
	}
	ctx := r.Context()
	sv, offer, err := s.surveyFor(ctx, l)
	if err != nil {
		s.fail(w, r, negotiate(asked, accept, Languages), &l, err)
		return
	}
	key, err := s.signingKey(ctx)
	if err != nil {
		s.fail(w, r, negotiate(asked, accept, Languages), &l, err)
		return
	}
	lang := negotiate(asked, accept, offer)
	v := s.newView(lang, sv.StoreName, l.Code)
	segment := segmentOf(r.URL.Query().Get("segment"))
	answerID := uuid.Must(uuid.NewV7()).String()
	if r.Method == http.MethodPost {
		segment = segmentOf(r.PostForm.Get("segment"))
		if id, err := verifyAnswerID(key, l.ID, r.PostForm.Get("a")); err == nil {
			answerID = id
		}
	}
	var extra url.Values
	if segment != "" {
		extra = url.Values{"segment": {segment}}
	}
	s.switchTo(&v, offer, "/s/"+l.Code, extra)
	if errKey != "" {
		v.Error = s.texts.T(lang, errKey)
	}
	v.Data = scoreData{Question: s.question(sv, lang), Scores: scores(), Selected: selected, Segment: segment,
		Answer: signAnswerID(key, l.ID, answerID)}
	s.render(w, status, "score", v)
}

func scores() []int {
	out := make([]int, 0, 11)
	for i := nps.MinScore; i <= nps.MaxScore; i++ {
		out = append(out, int(i))
	}
	return out
}

// parseForm reads a urlencoded form of at most limit bytes. On failure it has replied:
// 413 for a body over the limit, 400 for one that is not a form.
func (s *Survey) parseForm(w http.ResponseWriter, r *http.Request, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		lang := negotiate(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"), Languages)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.message(w, r, http.StatusRequestEntityTooLarge, lang, "toolarge", nil)
			return false
		}
		s.message(w, r, http.StatusBadRequest, lang, "bad", nil)
		return false
	}
	return true
}

// limitClient applies the client network's rate limit to a post. On refusal it has
// replied 429 with Retry-After.
func (s *Survey) limitClient(w http.ResponseWriter, r *http.Request, lang string) bool {
	ok, wait := s.clients.allow(clientnet.Network(r, s.cfg.TrustedProxies), time.Now())
	return ok || s.tooMany(w, r, lang, wait, nil)
}

// limitLink applies the link's rate limit, which all its shoppers share.
func (s *Survey) limitLink(w http.ResponseWriter, r *http.Request, lang string, l storage.Link) bool {
	ok, wait := s.links.allow(l.ID, time.Now())
	return ok || s.tooMany(w, r, lang, wait, &l)
}

func (s *Survey) tooMany(w http.ResponseWriter, r *http.Request, lang string, wait time.Duration, l *storage.Link) bool {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	s.message(w, r, http.StatusTooManyRequests, lang, "busy", l)
	return false
}

// trapped reports whether the honeypot field was filled in: a robot, which is thanked
// (200, so it learns nothing) and whose answer is dropped.
func (s *Survey) trapped(w http.ResponseWriter, r *http.Request, lang string) bool {
	if r.PostForm.Get(honeypot) == "" {
		return false
	}
	s.log.Info("web survey: honeypot filled, answer dropped", "path", r.URL.Path)
	v := s.newView(lang, "", r.PathValue("code"))
	v.Title = s.texts.T(lang, "thanks.title")
	v.Data = thanksData{Title: s.texts.T(lang, "thanks.title"), Body: s.texts.T(lang, "thanks.body")}
	s.render(w, http.StatusOK, "thanks", v)
	return true
}

// parseScore reads a score field: 0 to 10, or false.
func parseScore(v string) (int, bool) {
	if len(v) == 0 || len(v) > 2 {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	if _, err := nps.ParseScore(n); err != nil {
		return 0, false
	}
	return n, true
}

// postScore stores the tapped score as a complete answer (so a shopper who leaves now
// has answered), and sends the browser on to the follow-up with its signed token. The
// same form posted again changes that answer's score instead of adding one.
func (s *Survey) postScore(w http.ResponseWriter, r *http.Request) {
	lang := negotiate(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"), Languages)
	if !s.limitClient(w, r, lang) || !s.parseForm(w, r, maxScoreForm) {
		return
	}
	lang = negotiate(r.PostForm.Get("lang"), r.Header.Get("Accept-Language"), Languages)
	if s.trapped(w, r, lang) {
		return
	}
	l, ok := s.link(w, r, lang, true)
	if !ok || !s.limitLink(w, r, lang, l) {
		return
	}
	score, ok := parseScore(r.PostForm.Get("score"))
	if !ok {
		s.showScore(w, r, http.StatusBadRequest, lang, -1, "error.score")
		return
	}
	ctx := r.Context()
	sv, offer, err := s.surveyFor(ctx, l)
	if err != nil {
		s.fail(w, r, lang, &l, err)
		return
	}
	lang = negotiate(lang, "", offer)
	key, err := s.signingKey(ctx)
	if err != nil {
		s.fail(w, r, lang, &l, err)
		return
	}
	// A form without a valid answer id (a page served before forms had one or before the
	// key was made again, or one edited) stores a new answer under an id made here: the
	// shopper's score is kept, and no post names an id of its own choosing.
	id, err := verifyAnswerID(key, l.ID, r.PostForm.Get("a"))
	if err != nil {
		id = uuid.Must(uuid.NewV7()).String()
	}
	a, open, err := s.storeScore(r, l, sv, lang, id, score)
	if err != nil {
		s.storeFailed(w, r, lang, l, err)
		return
	}
	if !open {
		http.Redirect(w, r, "/s/"+l.Code+"/thanks?lang="+url.QueryEscape(lang), http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: answeredCookie, Value: "1", Path: "/s/", MaxAge: int(s.cfg.RepeatWindow.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.overHTTPS(r)})
	q := url.Values{"r": {sign(key, l.ID, a)}, "lang": {lang}}
	http.Redirect(w, r, "/s/"+l.Code+"/more?"+q.Encode(), http.StatusSeeOther)
}

// storeScore stores a score posted under answer id id. The first post stores a new
// answer, flagged suspect when the browser or its network answered just before; the same
// form posted again changes the stored answer's score, and keeps its time and flag. It
// reports open = false, and stores nothing, when the answer's follow-up was sent or may
// no longer be: a late post of the score page never undoes what the shopper wrote.
func (s *Survey) storeScore(r *http.Request, l storage.Link, sv response.Survey, lang, id string, score int) (a answer, open bool, err error) {
	ctx := r.Context()
	now := time.UnixMilli(s.svc.Now().UnixMilli()) // as stored, so the token's time is the row's
	// Stored first, looked up only when the id was stored before: a lookup before every
	// first post would cost each a round trip to the database, for the rare post of a
	// form again, which in return notes its network once more.
	_, cookieErr := r.Cookie(answeredCookie)
	repeats := s.networks.note(clientnet.Network(r, s.cfg.TrustedProxies)+"|"+l.StoreID, time.Now())
	a = answer{ID: id, Created: now, Score: score,
		Suspect: cookieErr == nil || repeats >= s.cfg.NetworkRepeats, Segment: segmentOf(r.PostForm.Get("segment"))}
	res := response.Response{ID: a.ID, Score: score, Locale: lang, SurveyVersion: sv.Version,
		CreatedAt: now, CompletedAt: now, Outcome: response.OutcomeSkipped, Suspect: a.Suspect, Segment: a.Segment}
	stored, err := s.svc.IngestFromLink(ctx, l, res)
	if err != nil || stored != storage.Conflict {
		return a, err == nil, err
	}
	prev, err := s.svc.ResponseOfLink(ctx, l.ID, id)
	if err != nil {
		return answer{}, false, err
	}
	if prev.Outcome == response.OutcomeSubmitted || now.Sub(prev.CreatedAt) > s.cfg.FollowUpFor {
		return answer{}, false, nil
	}
	a = answer{ID: id, Created: prev.CreatedAt, Score: score, Suspect: prev.Suspect, Segment: prev.Segment}
	if prev.Score == score {
		return a, true, nil
	}
	res = response.Response{ID: id, Score: score, Locale: lang, SurveyVersion: sv.Version,
		CreatedAt: prev.CreatedAt, CompletedAt: now, Outcome: response.OutcomeSkipped,
		Suspect: prev.Suspect, Segment: prev.Segment}
	if res.CompletedAt.Before(res.CreatedAt) {
		res.CompletedAt = res.CreatedAt
	}
	if _, err := s.svc.ReviseFromLink(ctx, l, res); err != nil {
		return answer{}, false, err
	}
	return a, true, nil
}

// overHTTPS reports whether the shopper's browser reached the collector over HTTPS:
// directly, or through a trusted proxy that says so in X-Forwarded-Proto.
func (s *Survey) overHTTPS(r *http.Request) bool {
	return clientnet.HTTPS(r, s.cfg.TrustedProxies)
}

// storeFailed says why the service refused an answer.
func (s *Survey) storeFailed(w http.ResponseWriter, r *http.Request, lang string, l storage.Link, err error) {
	switch {
	case errors.Is(err, storage.ErrLinkClosed):
		s.message(w, r, http.StatusGone, lang, "closed", nil)
	case errors.Is(err, storage.ErrNotFound):
		s.message(w, r, http.StatusGone, lang, "expired", nil)
	case errors.Is(err, response.ErrInvalid):
		s.log.Warn("web survey: answer refused", "link", l.Code, "err", err)
		s.message(w, r, http.StatusBadRequest, lang, "bad", &l)
	default:
		s.fail(w, r, lang, &l, err)
	}
}

// signingKey is the key of the follow-up tokens, the same for every collector on the
// database.
func (s *Survey) signingKey(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key == nil {
		k, err := s.svc.Secret(ctx, "websurvey")
		if err != nil {
			return nil, err
		}
		s.key = k
	}
	return s.key, nil
}

// followUpData is the follow-up page's.
type followUpData struct {
	Token      string
	Score      int
	Scores     []int
	Reasons    []reasonView
	Questions  []questionView
	Comment    string
	Contact    string
	Consent    bool
	MaxComment int
	MaxContact int
}

type reasonView struct {
	Key, Label string
	Checked    bool
}

// questionView is one of the survey's extra questions asked at the link's channel and
// touchpoint: a fieldset of radios (single, rating) or checkboxes (multi), or a text field.
type questionView struct {
	Key, Kind, Label string
	Hint             string       // how to answer, under the question; may be empty
	Options          []reasonView // the choices, or 1 to 5 for a rating
	Text             string       // a text question's answer so far
	MaxText          int
}

// Field is the name of the question's form field.
func (q questionView) Field() string { return answerField(q.Key) }

// answerField is the form field of the extra question key: q_ and the key.
func answerField(key string) string { return "q_" + key }

// questionViews readies the questions the link asks, with the answers given so far.
func (s *Survey) questionViews(sv response.Survey, l storage.Link, lang, fallbackLang string, answers map[string][]string) []questionView {
	var out []questionView
	for _, q := range sv.QuestionsFor(l.Channel, l.Touchpoint) {
		v := questionView{Key: q.Key, Kind: q.Kind, Label: q.Label(lang, fallbackLang), MaxText: response.MaxAnswerTextRunes}
		given := answers[q.Key]
		switch q.Kind {
		case response.QuestionSingle, response.QuestionMulti:
			if q.Kind == response.QuestionMulti {
				v.Hint = s.texts.T(lang, "followup.choose_any")
			}
			for _, o := range q.Options {
				v.Options = append(v.Options, reasonView{Key: o.Key, Label: o.Label(lang, fallbackLang), Checked: slices.Contains(given, o.Key)})
			}
		case response.QuestionRating:
			v.Hint = s.texts.T(lang, "followup.rating_scale")
			for n := 1; n <= 5; n++ {
				k := strconv.Itoa(n)
				v.Options = append(v.Options, reasonView{Key: k, Label: k, Checked: slices.Contains(given, k)})
			}
		case response.QuestionText:
			if len(given) > 0 {
				v.Text = given[0]
			}
		}
		out = append(out, v)
	}
	return out
}

// formAnswers reads the answers to the questions the link asks from a follow-up form:
// none for an unanswered question, and false for a form no page of ours sends (two
// values for one choice or text). Whether each answer fits its question is the rules'
// to say (response.Response.CheckAnswers, which the service applies).
func formAnswers(f url.Values, asked []response.Question) (map[string][]string, bool) {
	out := map[string][]string{}
	for _, q := range asked {
		values := slices.DeleteFunc(slices.Clone(f[answerField(q.Key)]), func(v string) bool { return strings.TrimSpace(v) == "" })
		if len(values) == 0 {
			continue
		}
		if q.Kind != response.QuestionMulti && len(values) > 1 {
			return nil, false
		}
		if q.Kind == response.QuestionText {
			values[0] = strings.TrimSpace(values[0])
			if !utf8.ValidString(values[0]) {
				return nil, false
			}
		}
		out[q.Key] = values
	}
	if len(out) == 0 {
		return nil, true
	}
	return out, true
}

// answerFor reads and checks the request's token. On failure it has replied: 400 for a
// token that is not one, 410 for one too old to take a follow-up.
func (s *Survey) answerFor(w http.ResponseWriter, r *http.Request, lang string, l storage.Link, token string) (answer, bool) {
	key, err := s.signingKey(r.Context())
	if err != nil {
		s.fail(w, r, lang, &l, err)
		return answer{}, false
	}
	a, err := verify(key, l.ID, token)
	if err != nil {
		s.message(w, r, http.StatusBadRequest, lang, "bad", &l)
		return answer{}, false
	}
	if s.svc.Now().Sub(a.Created) > s.cfg.FollowUpFor {
		s.message(w, r, http.StatusGone, lang, "expired", nil)
		return answer{}, false
	}
	return a, true
}

func (s *Survey) followUpPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	asked, accept := q.Get("lang"), r.Header.Get("Accept-Language")
	l, ok := s.link(w, r, negotiate(asked, accept, Languages), true)
	if !ok {
		return
	}
	sv, offer, err := s.surveyFor(r.Context(), l)
	if err != nil {
		s.fail(w, r, negotiate(asked, accept, Languages), &l, err)
		return
	}
	lang := negotiate(asked, accept, offer)
	a, ok := s.answerFor(w, r, lang, l, q.Get("r"))
	if !ok {
		return
	}
	s.showFollowUp(w, http.StatusOK, sv, offer, lang, l, q.Get("r"), a.Score, response.Response{}, "")
}

// showFollowUp renders the follow-up form, with what the shopper gave (typed holds the
// reasons, comment, contact and answers) when it was refused (errMsg says why).
func (s *Survey) showFollowUp(w http.ResponseWriter, status int, sv response.Survey, offer []string, lang string, l storage.Link,
	token string, score int, typed response.Response, errMsg string) {
	v := s.newView(lang, sv.StoreName, l.Code)
	s.switchTo(&v, offer, "/s/"+l.Code+"/more", url.Values{"r": {token}})
	v.Error = errMsg
	d := followUpData{Token: token, Score: score, Scores: scores(), Comment: typed.Comment, Contact: typed.Contact, Consent: typed.ContactConsent,
		MaxComment: response.MaxCommentRunes, MaxContact: response.MaxContactRunes}
	fallbackLang := fallback
	if len(sv.Languages) > 0 {
		fallbackLang = sv.Languages[0]
	}
	for _, reason := range sv.ReasonsFor(nps.Score(score).Category()) {
		d.Reasons = append(d.Reasons, reasonView{Key: reason.Key, Label: reason.Label(lang, fallbackLang), Checked: slices.Contains(typed.Reasons, reason.Key)})
	}
	d.Questions = s.questionViews(sv, l, lang, fallbackLang, typed.Answers)
	v.Data = d
	s.render(w, status, "followup", v)
}

// postFollowUp revises the stored answer with the follow-up (or only the changed score
// on Skip), then thanks the shopper.
func (s *Survey) postFollowUp(w http.ResponseWriter, r *http.Request) {
	lang := negotiate(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"), Languages)
	if !s.limitClient(w, r, lang) || !s.parseForm(w, r, maxFollowUpForm) {
		return
	}
	f := r.PostForm
	lang = negotiate(f.Get("lang"), r.Header.Get("Accept-Language"), Languages)
	if s.trapped(w, r, lang) {
		return
	}
	l, ok := s.link(w, r, lang, true)
	if !ok || !s.limitLink(w, r, lang, l) {
		return
	}
	ctx := r.Context()
	sv, offer, err := s.surveyFor(ctx, l)
	if err != nil {
		s.fail(w, r, lang, &l, err)
		return
	}
	lang = negotiate(lang, "", offer)
	token := f.Get("r")
	a, ok := s.answerFor(w, r, lang, l, token)
	if !ok {
		return
	}
	score := a.Score
	if v := f.Get("score"); v != "" {
		if score, ok = parseScore(v); !ok {
			s.message(w, r, http.StatusBadRequest, lang, "bad", &l)
			return
		}
	}
	now := s.svc.Now()
	res := response.Response{ID: a.ID, Score: score, Locale: lang, SurveyVersion: sv.Version,
		CreatedAt: a.Created, CompletedAt: now, Outcome: response.OutcomeSkipped, Suspect: a.Suspect, Segment: a.Segment}
	if res.CompletedAt.Before(res.CreatedAt) {
		res.CompletedAt = res.CreatedAt
	}
	if f.Get("action") != "skip" {
		res.Outcome = response.OutcomeSubmitted
		res.Reasons = f["reason"]
		res.Comment = strings.TrimSpace(f.Get("comment"))
		res.ContactConsent = f.Get("consent") != ""
		res.Contact = strings.TrimSpace(f.Get("contact"))
		answers, ok := formAnswers(f, sv.QuestionsFor(l.Channel, l.Touchpoint))
		if !ok || !utf8.ValidString(res.Comment) || !utf8.ValidString(res.Contact) || slices.ContainsFunc(res.Reasons, func(k string) bool { return !sv.HasReason(k) }) {
			s.message(w, r, http.StatusBadRequest, lang, "bad", &l)
			return
		}
		res.Answers = answers
		if msg := s.followUpProblem(lang, res); msg != "" {
			s.showFollowUp(w, http.StatusBadRequest, sv, offer, lang, l, token, score, res, msg)
			return
		}
	}
	if _, err := s.svc.ReviseFromLink(ctx, l, res); err != nil {
		s.storeFailed(w, r, lang, l, err)
		return
	}
	http.Redirect(w, r, "/s/"+l.Code+"/thanks?lang="+url.QueryEscape(lang), http.StatusSeeOther)
}

// followUpProblem says, in the shopper's words, what in a follow-up the rules refuse
// that the form lets through; the rules themselves (response.FollowUp.Validate, applied
// again by the service) stay the judge.
func (s *Survey) followUpProblem(lang string, r response.Response) string {
	switch {
	case utf8.RuneCountInString(r.Comment) > response.MaxCommentRunes:
		return s.texts.T(lang, "error.comment_long", "max", strconv.Itoa(response.MaxCommentRunes))
	case utf8.RuneCountInString(r.Contact) > response.MaxContactRunes:
		return s.texts.T(lang, "error.contact_long", "max", strconv.Itoa(response.MaxContactRunes))
	case r.Contact != "" && !r.ContactConsent:
		return s.texts.T(lang, "error.consent")
	case len(r.Reasons) > response.MaxReasons:
		return s.texts.T(lang, "error.reasons", "max", strconv.Itoa(response.MaxReasons))
	case slices.ContainsFunc(slices.Collect(maps.Values(r.Answers)), func(vs []string) bool {
		return slices.ContainsFunc(vs, func(v string) bool { return utf8.RuneCountInString(v) > response.MaxAnswerTextRunes })
	}):
		return s.texts.T(lang, "error.answer_long", "max", strconv.Itoa(response.MaxAnswerTextRunes))
	}
	if err := r.FollowUp().Validate(); err != nil {
		return s.texts.T(lang, "bad.body")
	}
	return ""
}

// thanksData is the thank-you page's.
type thanksData struct{ Title, Body string }

func (s *Survey) thanksPage(w http.ResponseWriter, r *http.Request) {
	asked, accept := r.URL.Query().Get("lang"), r.Header.Get("Accept-Language")
	l, ok := s.link(w, r, negotiate(asked, accept, Languages), false)
	if !ok {
		return
	}
	sv, offer, err := s.surveyFor(r.Context(), l)
	if err != nil {
		s.fail(w, r, negotiate(asked, accept, Languages), &l, err)
		return
	}
	lang := negotiate(asked, accept, offer)
	v := s.newView(lang, sv.StoreName, l.Code)
	s.switchTo(&v, offer, "/s/"+l.Code+"/thanks", nil)
	body := s.texts.T(lang, "thanks.body")
	if t := sv.ThankYou[lang]; t != "" {
		body = strings.ReplaceAll(t, "{store}", sv.StoreName)
	}
	v.Data = thanksData{Title: s.texts.T(lang, "thanks.title"), Body: body}
	s.render(w, http.StatusOK, "thanks", v)
}
