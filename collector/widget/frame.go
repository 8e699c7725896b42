package widget

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/internal/clientnet"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
)

// frameView is what the iframe's page shows: one step of the survey, server-rendered,
// a plain form that needs no script.
type frameView struct {
	Lang       string
	Title      string
	Step       string // score, more, thanks or message
	CSSVersion string
	Survey     Survey
	Error      string
	Message    string
	// The answer so far, carried from step to step in hidden fields.
	Key, ID, Order, Segment string
	Score                   int
	Scores                  []int
	Reasons                 []Choice
	Chosen                  []string
	Answers                 map[string][]string
	Comment                 string
}

// Chose reports whether an option (or reason) was ticked when the form comes back.
func (v frameView) Chose(question, option string) bool {
	if question == "" {
		return slices.Contains(v.Chosen, option)
	}
	return slices.Contains(v.Answers[question], option)
}

// Ratings are the choices of a rating question.
func (frameView) Ratings() []string { return []string{"1", "2", "3", "4", "5"} }

// frameHeaders: only the key's own origins may frame the page; the page loads nothing
// but the widget's stylesheet and posts only to the collector.
func frameHeaders(w http.ResponseWriter, l *storage.Link) {
	ancestors := "'none'"
	if l != nil && len(l.Origins) > 0 {
		ancestors = strings.Join(l.Origins, " ")
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors "+ancestors)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// renderFrame writes a step whole or not at all.
func (w *Widget) renderFrame(rw http.ResponseWriter, status int, v frameView) {
	v.CSSVersion = strings.Trim(w.static["widget.css"].etag, `"`)
	if v.Title == "" {
		v.Title = w.texts.T(v.Lang, "survey")
	}
	var buf bytes.Buffer
	if err := w.frame.ExecuteTemplate(&buf, "frame.html", v); err != nil {
		w.log.Error("widget: render frame", "step", v.Step, "err", err)
		http.Error(rw, "Sorry, this page could not be shown.", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Content-Language", v.Lang)
	rw.WriteHeader(status)
	rw.Write(buf.Bytes())
}

// frameMessage shows a notice in place of the survey: why there is none, or the
// thanks for one that can no longer be changed.
func (w *Widget) frameMessage(rw http.ResponseWriter, status int, lang, key string) {
	w.renderFrame(rw, status, frameView{Lang: lang, Step: "message", Message: w.texts.T(lang, key)})
}

// frameKey finds the site key of an iframe request, with the client's rate limit, or
// shows why not.
func (w *Widget) frameKey(rw http.ResponseWriter, r *http.Request, code, lang string) (storage.Link, bool) {
	lang = pickLanguage(lang, r.Header.Get("Accept-Language"), Languages)
	frameHeaders(rw, nil)
	if ok, _ := w.clients.allow(clientnet.Network(r, w.cfg.TrustedProxies), w.cfg.ClientRate, w.cfg.ClientBurst, time.Now()); !ok {
		w.frameMessage(rw, http.StatusTooManyRequests, lang, "error")
		return storage.Link{}, false
	}
	l, err := w.svc.LinkByCode(r.Context(), code)
	if !storage.ValidLinkCode(code) || errors.Is(err, storage.ErrNotFound) || err == nil && l.Kind != storage.LinkKindSite {
		w.frameMessage(rw, http.StatusNotFound, lang, "notfound")
		return storage.Link{}, false
	}
	if err != nil {
		w.log.Error("widget: frame key", "err", err)
		w.frameMessage(rw, http.StatusServiceUnavailable, lang, "error")
		return storage.Link{}, false
	}
	frameHeaders(rw, &l)
	if l.Open(w.svc.Now()) != nil {
		w.frameMessage(rw, http.StatusGone, lang, "closed")
		return storage.Link{}, false
	}
	return l, true
}

// framePage serves GET /w/frame?key=KEY&lang=de&order=A-1001&segment=returning: the
// score step, with a fresh answer id, so a double tap or a reload stores it once.
func (w *Widget) framePage(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	l, ok := w.frameKey(rw, r, q.Get("key"), q.Get("lang"))
	if !ok {
		return
	}
	if tp := q.Get("touchpoint"); tp != "" && tp != l.Touchpoint {
		w.log.Warn("widget: frame on a page of another touchpoint", "key", l.Code, "page", tp, "key_touchpoint", l.Touchpoint)
		w.frameMessage(rw, http.StatusConflict, pickLanguage(q.Get("lang"), r.Header.Get("Accept-Language"), Languages), "notfound")
		return
	}
	sv, err := w.surveyIn(r, l, q.Get("lang"))
	if err != nil {
		w.log.Error("widget: frame survey", "key", l.Code, "err", err)
		w.frameMessage(rw, http.StatusServiceUnavailable, "en", "error")
		return
	}
	v := frameView{Lang: sv.Lang, Step: "score", Survey: sv, Key: l.Code, ID: uuid.Must(uuid.NewV7()).String(),
		Order: q.Get("order"), Segment: q.Get("segment"), Scores: scoreRange()}
	w.renderFrame(rw, http.StatusOK, v)
}

func scoreRange() []int {
	var out []int
	for s := nps.MinScore; s <= nps.MaxScore; s++ {
		out = append(out, int(s))
	}
	return out
}

// framePost serves POST /w/frame: the score (step score), then the follow-up (step
// more), each stored as the JSON endpoint stores them.
func (w *Widget) framePost(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxFrameForm)
	if err := r.ParseForm(); err != nil {
		frameHeaders(rw, nil)
		status := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		w.frameMessage(rw, status, pickLanguage("", r.Header.Get("Accept-Language"), Languages), "error")
		return
	}
	f := r.PostForm
	l, ok := w.frameKey(rw, r, f.Get("key"), f.Get("lang"))
	if !ok {
		return
	}
	sv, err := w.surveyIn(r, l, f.Get("lang"))
	if err != nil {
		w.log.Error("widget: frame survey", "key", l.Code, "err", err)
		w.frameMessage(rw, http.StatusServiceUnavailable, "en", "error")
		return
	}
	v := frameView{Lang: sv.Lang, Survey: sv, Key: l.Code, ID: f.Get("id"), Order: f.Get("order"), Segment: f.Get("segment"), Scores: scoreRange()}
	score, err := strconv.Atoi(f.Get("score"))
	if err != nil {
		w.frameMessage(rw, http.StatusBadRequest, sv.Lang, "error")
		return
	}
	if _, err := nps.ParseScore(score); err != nil {
		w.frameMessage(rw, http.StatusBadRequest, sv.Lang, "error")
		return
	}
	v.Score = score
	a := Answer{ID: v.ID, Score: score, Locale: sv.Lang, SurveyVersion: sv.SurveyVersion, OrderID: v.Order, Segment: v.Segment}
	switch {
	case f.Get("step") == "more" && f.Get("action") == "skip":
		v.Step = "thanks" // the score is stored: nothing to add
		w.renderFrame(rw, http.StatusOK, v)
		return
	case f.Get("step") == "more":
		a.Outcome = string(response.OutcomeSubmitted)
		a.Reasons, a.Comment = f["reason"], strings.TrimSpace(f.Get("comment"))
		a.Answers = map[string][]string{}
		for _, q := range sv.Questions {
			var vals []string
			for _, val := range f["q."+q.Key] {
				if val = strings.TrimSpace(val); val != "" {
					vals = append(vals, val)
				}
			}
			if len(vals) > 0 {
				a.Answers[q.Key] = vals
			}
		}
		v.Chosen, v.Answers, v.Comment = a.Reasons, a.Answers, a.Comment
	}
	if e := w.limitKey(l); e != nil {
		w.frameMessage(rw, http.StatusTooManyRequests, sv.Lang, "error")
		return
	}
	_, err = w.store(r, l, a)
	switch {
	case errors.Is(err, errExpired):
		w.frameMessage(rw, http.StatusGone, sv.Lang, "expired")
		return
	case errors.Is(err, storage.ErrLinkClosed):
		w.frameMessage(rw, http.StatusGone, sv.Lang, "closed")
		return
	case errors.Is(err, response.ErrInvalid) && a.Outcome != "":
		w.log.Info("widget: frame follow-up refused", "key", l.Code, "err", err)
		v.Step, v.Error = "more", w.texts.T(sv.Lang, "error")
		v.Reasons = sv.Reasons[nps.Score(score).Category().String()]
		w.renderFrame(rw, http.StatusBadRequest, v)
		return
	case err != nil:
		e := w.storeError(l, err)
		w.frameMessage(rw, e.status, sv.Lang, "error")
		return
	}
	if a.Outcome != "" {
		v.Step = "thanks"
	} else {
		v.Step, v.Reasons = "more", sv.Reasons[nps.Score(score).Category().String()]
	}
	w.renderFrame(rw, http.StatusOK, v)
}
