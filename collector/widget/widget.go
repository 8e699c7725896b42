// Package widget is the website widget: the small script (/w/widget.js) and stylesheet
// a shop embeds after checkout with a site key, the JSON endpoints it talks to (the
// store's survey in the page's language, and the answers it posts), the iframe
// alternative (/w/frame), and the embed code a key is pasted as.
//
// The endpoints answer cross-origin requests only from the site key's own origins,
// never "*", limit each key's and each client's rate and every body's size, and store
// through the collector's service with the same rules as every other channel.
package widget

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/internal/clientnet"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

//go:embed web
var webFiles embed.FS

// DefaultRatePerMinute is a site key's limit on answers (posts) from everyone, when
// the key sets none: on average 60 a minute, in bursts of up to as many.
const DefaultRatePerMinute = 60

// Config wires the widget. Zero values are the defaults given.
type Config struct {
	Service *collector.Service // required
	Logger  *slog.Logger       // nil: slog.Default()
	// TrustedProxies are the reverse proxies in front of the collector: a request from
	// one is from the address it names in X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// ClientRate and ClientBurst limit the requests per second from one client network
	// to the JSON endpoints and the iframe: 1 every 2 s, bursts of 20. A shopper makes
	// three to five (the survey, a preflight, the score, the follow-up).
	ClientRate  float64
	ClientBurst int
	// FollowUpFor is how long after the score the same answer may still be changed:
	// 2 hours.
	FollowUpFor time.Duration
	// MaxClients bounds the memory of the limits: 100,000 client networks and keys.
	MaxClients int
}

// Widget serves the website widget.
type Widget struct {
	svc     *collector.Service
	log     *slog.Logger
	cfg     Config
	texts   catalog
	static  map[string]staticFile
	frame   *template.Template
	clients *limiters
	keys    *limiters
}

type staticFile struct {
	body        []byte
	contentType string
	etag        string
}

// The request body limits. An answer carries a comment of up to 1,000 characters and
// three extra answers of up to 200, which JSON escapes may make 6 bytes each; a form
// may make them 12.
const (
	maxAnswerBody = 32 << 10
	maxFrameForm  = 48 << 10
)

// New reads the embedded script, stylesheet and page, and the texts.
func New(cfg Config) (*Widget, error) {
	if cfg.Service == nil {
		return nil, errors.New("widget: Config.Service is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientRate <= 0 {
		cfg.ClientRate = 0.5
	}
	if cfg.ClientBurst <= 0 {
		cfg.ClientBurst = 20
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
	w := &Widget{svc: cfg.Service, log: cfg.Logger, cfg: cfg, texts: texts, static: map[string]staticFile{},
		clients: newLimiters(cfg.MaxClients), keys: newLimiters(cfg.MaxClients)}
	css, err := fs.ReadFile(webFiles, "web/widget.css")
	if err != nil {
		return nil, err
	}
	js, err := fs.ReadFile(webFiles, "web/widget.js")
	if err != nil {
		return nil, err
	}
	// The script asks for the stylesheet of its own version, so a cached old one never
	// styles a new card.
	js = bytes.ReplaceAll(js, []byte("__CSS_VERSION__"), []byte(version(css)))
	w.static["widget.css"] = staticFile{body: css, contentType: "text/css; charset=utf-8", etag: `"` + version(css) + `"`}
	w.static["widget.js"] = staticFile{body: js, contentType: "text/javascript; charset=utf-8", etag: `"` + version(js) + `"`}
	w.frame = template.Must(template.New("frame.html").Funcs(template.FuncMap{"T": w.texts.T}).ParseFS(webFiles, "web/frame.html"))
	return w, nil
}

// version names a file's content.
func version(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// Script returns the widget's script as served, to measure or check it.
func (w *Widget) Script() []byte { return w.static["widget.js"].body }

// Stylesheet returns the widget's stylesheet as served.
func (w *Widget) Stylesheet() []byte { return w.static["widget.css"].body }

// Router is where the widget adds its routes: an http.ServeMux, or the HTTP API's
// server so that they share its metrics.
type Router interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the widget's routes, all under /w/ so that a reverse proxy can publish
// them beside the web survey's /s/ and keep the rest of the collector inside.
func (w *Widget) Register(mux Router) {
	mux.Handle("GET /w/widget.js", http.HandlerFunc(w.serveStatic))
	mux.Handle("GET /w/widget.css", http.HandlerFunc(w.serveStatic))
	mux.Handle("GET /w/v1/survey", http.HandlerFunc(w.survey))
	mux.Handle("OPTIONS /w/v1/survey", http.HandlerFunc(w.preflight))
	mux.Handle("POST /w/v1/responses", http.HandlerFunc(w.answer))
	mux.Handle("OPTIONS /w/v1/responses", http.HandlerFunc(w.preflight))
	mux.Handle("GET /w/frame", http.HandlerFunc(w.framePage))
	mux.Handle("POST /w/frame", http.HandlerFunc(w.framePost))
}

func (w *Widget) serveStatic(rw http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/w/")
	f := w.static[name]
	h := rw.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	// Loaded by other sites' pages, also those that isolate themselves (COEP).
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", f.etag)
	http.ServeContent(rw, r, name, time.Time{}, bytes.NewReader(f.body))
}

// apiError is a JSON error reply: its status, code and what to do about it.
type apiError struct {
	status       int
	code, detail string
	retryAfter   time.Duration
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(v)
}

func writeError(rw http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		rw.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(e.retryAfter.Seconds())))))
	}
	rw.Header().Set("Cache-Control", "no-store")
	writeJSON(rw, e.status, wire.Error{Error: e.code, Detail: e.detail})
}

// siteKey finds the request's site key (?key=) and checks that the request comes from
// one of its origins; it then allows the origin to read the reply (CORS), and only
// then says whether the key is closed, so the widget can tell. It applies the client's
// rate limit first, so guessing keys costs as much as answering.
func (w *Widget) siteKey(rw http.ResponseWriter, r *http.Request) (storage.Link, *apiError) {
	rw.Header().Add("Vary", "Origin")
	code := r.URL.Query().Get("key")
	if code == "" {
		return storage.Link{}, &apiError{status: http.StatusUnauthorized, code: "key_required", detail: "give the site key: ?key=KEY"}
	}
	if ok, wait := w.clients.allow(clientnet.Network(r, w.cfg.TrustedProxies), w.cfg.ClientRate, w.cfg.ClientBurst, time.Now()); !ok {
		return storage.Link{}, &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
			detail: "too many requests from this network; retry later", retryAfter: wait}
	}
	unknown := &apiError{status: http.StatusNotFound, code: "unknown_key", detail: "no site key " + strconv.Quote(code)}
	if !storage.ValidLinkCode(code) {
		return storage.Link{}, unknown
	}
	l, err := w.svc.LinkByCode(r.Context(), code)
	if errors.Is(err, storage.ErrNotFound) || err == nil && l.Kind != storage.LinkKindSite {
		return storage.Link{}, unknown
	}
	if err != nil {
		w.log.Error("widget: find key", "err", err)
		return storage.Link{}, &apiError{status: http.StatusServiceUnavailable, code: "unavailable", detail: "try again later", retryAfter: 5 * time.Second}
	}
	origin := r.Header.Get("Origin")
	switch {
	case origin == "":
		return storage.Link{}, &apiError{status: http.StatusForbidden, code: "origin_required",
			detail: "a site key answers browsers on its own origins only: the request has no Origin"}
	case !l.AllowsOrigin(origin):
		return storage.Link{}, &apiError{status: http.StatusForbidden, code: "origin_not_allowed",
			detail: "origin " + strconv.Quote(origin) + " is not one of the key's"}
	}
	rw.Header().Set("Access-Control-Allow-Origin", origin)
	if err := l.Open(w.svc.Now()); err != nil {
		return storage.Link{}, &apiError{status: http.StatusGone, code: "key_closed", detail: err.Error()}
	}
	return l, nil
}

// preflight answers a browser's CORS preflight: yes, for the key's own origins only;
// no (403, without CORS headers) for any other.
func (w *Widget) preflight(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Add("Vary", "Access-Control-Request-Method")
	rw.Header().Add("Vary", "Access-Control-Request-Headers")
	if _, e := w.siteKey(rw, r); e != nil && e.code != "key_closed" {
		writeError(rw, e)
		return
	}
	h := rw.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	rw.WriteHeader(http.StatusNoContent)
}

// Survey is what GET /w/v1/survey gives the widget: the store's question, reasons and
// the extra questions of the key's channel and touchpoint, in one language, with the
// words of its buttons.
type Survey struct {
	Key           string `json:"key"`
	Lang          string `json:"lang"`
	Store         string `json:"store"`
	SurveyVersion int    `json:"survey_version"`
	Touchpoint    string `json:"touchpoint,omitempty"`
	Question      string `json:"question"`
	// CategoryOf names the category of each score, 0 to 10, to pick the reasons by.
	CategoryOf [11]string          `json:"category_of"`
	Reasons    map[string][]Choice `json:"reasons"` // by category: detractor, passive, promoter
	Questions  []Question          `json:"questions,omitempty"`
	Texts      map[string]string   `json:"texts"`
}

// Choice is a reason or an option: its key and its words.
type Choice struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// Question is an extra question in one language.
type Question struct {
	Key     string   `json:"key"`
	Kind    string   `json:"kind"` // single, multi, text or rating
	Label   string   `json:"label"`
	Options []Choice `json:"options,omitempty"`
}

// textKeys are the messages the widget's script shows, by the name it uses.
var textKeys = map[string]string{
	"survey": "survey", "ends": "ends", "low": "rating.low", "high": "rating.high", "close": "close",
	"followup": "followup.question", "comment": "followup.comment", "send": "followup.submit", "skip": "followup.skip",
	"more": "followup.more_questions", "choose_any": "followup.choose_any", "rating_scale": "followup.rating_scale",
	"answer": "followup.answer", "saved": "saved", "error": "error", "expired": "expired",
	"thanks_title": "thanks.title", "thanks_body": "thanks.body",
}

// surveyIn is the key's survey in the language closest to lang.
func (w *Widget) surveyIn(r *http.Request, l storage.Link, lang string) (Survey, error) {
	sv, err := w.svc.Survey(r.Context(), l.StoreID)
	if err != nil {
		return Survey{}, err
	}
	offer := offered(sv.Languages)
	lang = pickLanguage(lang, r.Header.Get("Accept-Language"), offer)
	first := offer[0]
	if len(sv.Languages) > 0 {
		first = sv.Languages[0]
	}
	out := Survey{Key: l.Code, Lang: lang, Store: sv.StoreName, SurveyVersion: sv.Version, Touchpoint: l.Touchpoint,
		Question: w.texts.T(lang, "rating.question", "store", sv.StoreName), Reasons: map[string][]Choice{},
		Texts: map[string]string{}}
	if q := sv.Question[lang]; q != "" {
		out.Question = strings.ReplaceAll(q, "{store}", sv.StoreName)
	}
	for s := nps.MinScore; s <= nps.MaxScore; s++ {
		out.CategoryOf[s] = nps.Score(s).Category().String()
	}
	for _, c := range []nps.Category{nps.Detractor, nps.Passive, nps.Promoter} {
		out.Reasons[c.String()] = []Choice{}
		for _, reason := range sv.ReasonsFor(c) {
			out.Reasons[c.String()] = append(out.Reasons[c.String()], Choice{Key: reason.Key, Label: reason.Label(lang, first)})
		}
	}
	for _, q := range sv.QuestionsFor(l.Channel, l.Touchpoint) {
		wq := Question{Key: q.Key, Kind: q.Kind, Label: q.Label(lang, first)}
		for _, o := range q.Options {
			wq.Options = append(wq.Options, Choice{Key: o.Key, Label: o.Label(lang, first)})
		}
		out.Questions = append(out.Questions, wq)
	}
	for name, key := range textKeys {
		out.Texts[name] = w.texts.T(lang, key)
	}
	out.Texts["thanks_body"] = w.texts.T(lang, "thanks.body")
	if t := sv.ThankYou[lang]; t != "" {
		out.Texts["thanks_body"] = strings.ReplaceAll(t, "{store}", sv.StoreName)
	}
	return out, nil
}

// survey serves GET /w/v1/survey?key=KEY&lang=de[&touchpoint=checkout]: the survey to
// show. A touchpoint, when the page names one, must be the key's: a key pasted on the
// wrong page is told, not counted under the wrong moment.
func (w *Widget) survey(rw http.ResponseWriter, r *http.Request) {
	l, e := w.siteKey(rw, r)
	if e != nil {
		writeError(rw, e)
		return
	}
	if tp := r.URL.Query().Get("touchpoint"); tp != "" && tp != l.Touchpoint {
		writeError(rw, &apiError{status: http.StatusConflict, code: "touchpoint_mismatch",
			detail: fmt.Sprintf("the page says touchpoint %q, the key %s answers for %q: use the key made for this page", tp, l.Code, l.Touchpoint)})
		return
	}
	sv, err := w.surveyIn(r, l, r.URL.Query().Get("lang"))
	if err != nil {
		w.log.Error("widget: survey", "key", l.Code, "err", err)
		writeError(rw, &apiError{status: http.StatusServiceUnavailable, code: "unavailable", detail: "try again later", retryAfter: 5 * time.Second})
		return
	}
	rw.Header().Set("Cache-Control", "private, max-age=300")
	rw.Header().Set("Content-Language", sv.Lang)
	writeJSON(rw, http.StatusOK, sv)
}

// Answer is what the widget posts to /w/v1/responses: the score first, then, with the
// same id, the follow-up. The collector sets the times, the channel and the
// touchpoint (the key's).
type Answer struct {
	ID            string              `json:"id"` // a UUIDv7 the widget made
	Score         int                 `json:"score"`
	Locale        string              `json:"locale"`
	SurveyVersion int                 `json:"survey_version"`
	Outcome       string              `json:"outcome,omitempty"` // empty (the score alone), submitted or skipped
	Reasons       []string            `json:"reasons,omitempty"`
	Comment       string              `json:"comment,omitempty"`
	Answers       map[string][]string `json:"answers,omitempty"`
	OrderID       string              `json:"order_id,omitempty"`
	Segment       string              `json:"segment,omitempty"`
}

// Stored is the reply to an answer.
type Stored struct {
	ID string `json:"id"`
	// Result is stored (new), duplicate (a retry of what is stored: nothing changed) or
	// revised (the follow-up replaced the score alone).
	Result string `json:"result"`
}

// answer serves POST /w/v1/responses?key=KEY.
func (w *Widget) answer(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Cache-Control", "no-store")
	l, e := w.siteKey(rw, r)
	if e == nil {
		e = w.limitKey(l)
	}
	if e != nil {
		writeError(rw, e)
		return
	}
	// Only JSON: a form or text body would pass without a preflight, from any page.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(rw, &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", detail: "post application/json"})
		return
	}
	var a Answer
	if e := decode(rw, r, &a); e != nil {
		writeError(rw, e)
		return
	}
	res, err := w.store(r, l, a)
	if err != nil {
		writeError(rw, w.storeError(l, err))
		return
	}
	status := http.StatusOK
	if res == "stored" {
		status = http.StatusCreated
	}
	writeJSON(rw, status, Stored{ID: a.ID, Result: res})
}

// limitKey applies the key's own rate (or the default) to an answer.
func (w *Widget) limitKey(l storage.Link) *apiError {
	perMinute := l.RatePerMinute
	if perMinute <= 0 {
		perMinute = DefaultRatePerMinute
	}
	if ok, wait := w.keys.allow(l.ID, float64(perMinute)/60, perMinute, time.Now()); !ok {
		return &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
			detail: fmt.Sprintf("key %s takes %d answers a minute; retry later", l.Code, perMinute), retryAfter: wait}
	}
	return nil
}

// decode reads a JSON answer of at most maxAnswerBody bytes by the domain's JSON rules
// (response.DecodeJSON): unknown fields, broken text and a missing or null score are
// refused, naming the field.
func decode(rw http.ResponseWriter, r *http.Request, v any) *apiError {
	raw, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxAnswerBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large", detail: fmt.Sprintf("the body is over %d bytes", maxAnswerBody)}
	}
	if err != nil {
		return &apiError{status: http.StatusBadRequest, code: "bad_request", detail: "could not read the body"}
	}
	if err := response.DecodeJSON(raw, v, "score"); err != nil {
		return &apiError{status: http.StatusBadRequest, code: "bad_json", detail: err.Error()}
	}
	return nil
}

// errExpired is a change to an answer given too long ago.
var errExpired = errors.New("the answer can no longer be changed")

// errTaken is an id another answer has.
var errTaken = errors.New("the id is another answer's")

// store stores an answer: new, a retry (nothing changes), or its follow-up (the
// stored answer is revised, counted once). The collector's clock dates it.
func (w *Widget) store(r *http.Request, l storage.Link, a Answer) (string, error) {
	ctx := r.Context()
	res := response.Response{ID: a.ID, Score: a.Score, Reasons: a.Reasons, Comment: strings.TrimSpace(a.Comment), Locale: a.Locale,
		SurveyVersion: a.SurveyVersion, Outcome: response.Outcome(a.Outcome), Answers: a.Answers, OrderID: a.OrderID, Segment: a.Segment}
	switch res.Outcome {
	case "":
		res.Outcome = response.OutcomeSkipped // a shopper who leaves after the score has answered
	case response.OutcomeSubmitted, response.OutcomeSkipped:
	default:
		return "", fmt.Errorf("%w: outcome %q must be submitted, skipped or left out", response.ErrInvalid, a.Outcome)
	}
	if res.Reasons == nil {
		res.Reasons = []string{}
	}
	if len(res.Answers) == 0 {
		res.Answers = nil
	}
	now := time.UnixMilli(w.svc.Now().UnixMilli()) // as stored
	for range 2 {                                  // a second round when a double post raced the first in
		prev, err := w.svc.ResponseOfLink(ctx, l.ID, a.ID)
		if errors.Is(err, storage.ErrNotFound) {
			res.CreatedAt, res.CompletedAt = now, now
			stored, err := w.svc.IngestFromLink(ctx, l, res)
			if err != nil {
				return "", err
			}
			switch stored {
			case storage.Inserted:
				return "stored", nil
			case storage.SameContent:
				return "duplicate", nil
			}
			continue // stored meanwhile, or another link's: look again
		}
		if err != nil {
			return "", err
		}
		if now.Sub(prev.CreatedAt) > w.cfg.FollowUpFor {
			return "", errExpired
		}
		// A late retry of the score never undoes the follow-up sent after it.
		if a.Outcome == "" && prev.Outcome == response.OutcomeSubmitted {
			return "duplicate", nil
		}
		res.CreatedAt, res.CompletedAt, res.Suspect = prev.CreatedAt, prev.CompletedAt, prev.Suspect
		res.Channel, res.Touchpoint = prev.Channel, prev.Touchpoint
		if res.ContentHash() == prev.ContentHash() {
			return "duplicate", nil
		}
		res.CompletedAt = now
		if now.Before(prev.CreatedAt) {
			res.CompletedAt = prev.CreatedAt
		}
		if _, err := w.svc.ReviseFromLink(ctx, l, res); err != nil {
			return "", err
		}
		return "revised", nil
	}
	return "", errTaken
}

// storeError is the reply to an answer the service refused.
func (w *Widget) storeError(l storage.Link, err error) *apiError {
	switch {
	case errors.Is(err, response.ErrInvalid):
		return &apiError{status: http.StatusBadRequest, code: "invalid", detail: err.Error()}
	case errors.Is(err, storage.ErrLinkClosed):
		return &apiError{status: http.StatusGone, code: "key_closed", detail: err.Error()}
	case errors.Is(err, errExpired):
		return &apiError{status: http.StatusGone, code: "expired", detail: err.Error()}
	case errors.Is(err, errTaken):
		return &apiError{status: http.StatusConflict, code: "conflict", detail: err.Error()}
	}
	w.log.Error("widget: store answer", "key", l.Code, "err", err)
	return &apiError{status: http.StatusServiceUnavailable, code: "unavailable", detail: "try again later", retryAfter: 5 * time.Second}
}
