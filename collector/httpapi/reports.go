package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/authguard"
	"github.com/npskiosk/npskiosk/collector/storage"
)

type readerHandler func(w http.ResponseWriter, r *http.Request, rd storage.Reader)

// reader authenticates an API token (reports and dashboard).
func (s *Server) reader(next readerHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			writeError(w, http.StatusUnauthorized, "unauthorized", "an API token is required: Authorization: Bearer <token>")
			return
		}
		if !s.allow(w, r, authguard.Token) {
			return
		}
		rd, err := s.svc.AuthenticateReader(r.Context(), token)
		if errors.Is(err, storage.ErrUnauthorized) {
			s.guard.Failed(r.Context(), r, authguard.Token, "as", "api")
			writeError(w, http.StatusUnauthorized, "unauthorized", "the API token is unknown or revoked")
			return
		}
		if err != nil {
			s.log.Error("authenticate reader", "err", err)
			writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
			return
		}
		next(w, r, rd)
	}
}

// filterFrom is parseFilter for the JSON API: it writes the error reply itself and
// returns false on failure.
func (s *Server) filterFrom(w http.ResponseWriter, r *http.Request, rd storage.Reader) (storage.Filter, bool) {
	f, ferr := s.svc.ParseFilter(r.Context(), r.URL.Query(), rd)
	if ferr != nil && ferr.Err != nil {
		s.log.Error("report filter", "err", ferr.Err)
	}
	if ferr != nil {
		writeError(w, ferr.Status, ferr.Code, ferr.Detail)
		return storage.Filter{}, false
	}
	return f, true
}

func (s *Server) reportError(w http.ResponseWriter, err error) {
	if errors.Is(err, storage.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	s.log.Error("report", "err", err)
	writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
}

func (s *Server) reportNPS(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	f, ok := s.filterFrom(w, r, rd)
	if !ok {
		return
	}
	rep, err := s.svc.PeriodReport(r.Context(), f)
	if err != nil {
		s.reportError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		storage.Filter
		collector.PeriodReport
	}{f, rep})
}

func (s *Server) reportTrend(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	f, ok := s.filterFrom(w, r, rd)
	if !ok {
		return
	}
	points, err := s.svc.Trend(r.Context(), f, r.URL.Query().Get("interval"))
	if err != nil {
		s.reportError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"filter": f, "points": nonNil(points)})
}

func (s *Server) reportStores(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	f, ok := s.filterFrom(w, r, rd)
	if !ok {
		return
	}
	rep, err := s.svc.RankStores(r.Context(), f)
	if err != nil {
		s.reportError(w, err)
		return
	}
	collector.SortStores(rep.Stores, r.URL.Query().Get("sort"))
	writeJSON(w, http.StatusOK, map[string]any{"filter": f, "stores": nonNil(rep.Stores),
		"ranking": rep.Ranking, "min_responses": rep.MinResponses})
}

func (s *Server) reportReasons(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	f, ok := s.filterFrom(w, r, rd)
	if !ok {
		return
	}
	reasons, err := s.svc.Reasons(r.Context(), f)
	if err != nil {
		s.reportError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"filter": f, "reasons": nonNil(reasons)})
}

// reportBy serves the channel and touchpoint comparisons (GET /v1/reports/channels and
// /v1/reports/touchpoints): each label's figures beside the rest of the filter's, and with
// stores=true each store's own.
func (s *Server) reportBy(by string) readerHandler {
	return func(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
		f, ok := s.filterFrom(w, r, rd)
		if !ok {
			return
		}
		var perStore bool
		switch r.URL.Query().Get("stores") {
		case "", "false":
		case "true":
			perStore = true
		default:
			writeError(w, http.StatusBadRequest, "bad_request", "stores must be true or false")
			return
		}
		rep, err := s.svc.ChannelReport(r.Context(), f, by, perStore)
		if err != nil {
			s.reportError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Filter storage.Filter `json:"filter"`
			collector.ChannelReport
		}{f, rep})
	}
}

// reportQuestions serves the surveys' extra questions summarised (GET
// /v1/reports/questions): see collector.Service.QuestionsReport. texts is how many of the
// latest texts per category a text question lists: 5 unless given, 0 to 50.
func (s *Server) reportQuestions(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	f, ok := s.filterFrom(w, r, rd)
	if !ok {
		return
	}
	texts := 5
	if v := r.URL.Query().Get("texts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > collector.MaxTextsPerCategory {
			writeError(w, http.StatusBadRequest, "bad_request", "texts must be 0 to "+strconv.Itoa(collector.MaxTextsPerCategory))
			return
		}
		texts = n
	}
	rep, err := s.svc.QuestionsReport(r.Context(), f, texts)
	if err != nil {
		s.reportError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Filter storage.Filter `json:"filter"`
		collector.QuestionsReport
	}{f, rep})
}

func (s *Server) comments(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	f, ok := s.filterFrom(w, r, rd)
	if !ok {
		return
	}
	cf, err := collector.ParseCommentFilter(f, r.URL.Query())
	if err != nil {
		s.reportError(w, err)
		return
	}
	page, err := s.svc.CommentsPage(r.Context(), cf)
	if err != nil {
		s.reportError(w, err)
		return
	}
	rd.HideCommentContacts(page.Comments)
	limit := cf.Limit
	if limit == 0 {
		limit = storage.DefaultCommentPage
	}
	// next is the after of the next page, absent on the last; limit and offset as before.
	writeJSON(w, http.StatusOK, map[string]any{"filter": f, "comments": page.Comments, "next": page.Next, "limit": limit, "offset": cf.Offset})
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// reportByStoreLabel serves the region and format comparisons (GET /v1/reports/regions
// and /v1/reports/formats): each label's figures beside those of the rest of the
// filter's stores.
func (s *Server) reportByStoreLabel(by string) readerHandler {
	return func(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
		f, ok := s.filterFrom(w, r, rd)
		if !ok {
			return
		}
		rep, err := s.svc.LabelReport(r.Context(), f, by)
		if err != nil {
			s.reportError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Filter storage.Filter `json:"filter"`
			collector.LabelReport
		}{f, rep})
	}
}
