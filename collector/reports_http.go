package collector

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type readerHandler func(w http.ResponseWriter, r *http.Request, rd reader)

// reader authenticates an API token (reports and dashboard).
func (s *Server) reader(next readerHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			writeError(w, http.StatusUnauthorized, "unauthorized", "an API token is required: Authorization: Bearer <token>")
			return
		}
		rd, err := s.db.authenticateReader(r.Context(), token)
		if errors.Is(err, ErrUnauthorized) {
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

// filterError says why a report filter was refused: for API clients and for people.
type filterError struct {
	status       int
	code, detail string
	human        string
}

// parseFilter reads store, region, from and to from the query, applying the token's
// store limit; the days default to the 30 up to today.
func parseFilter(r *http.Request, rd reader, now time.Time) (Filter, *filterError) {
	q := r.URL.Query()
	f := Filter{StoreID: q.Get("store"), Region: q.Get("region"), From: q.Get("from"), To: q.Get("to")}
	if rd.StoreID != "" {
		if f.StoreID != "" && f.StoreID != rd.StoreID {
			return Filter{}, &filterError{http.StatusForbidden, "forbidden",
				"this token may read store " + rd.StoreID + " only", "This token may read its own store only."}
		}
		f.StoreID = rd.StoreID
	}
	badDates := func(detail string) *filterError {
		return &filterError{http.StatusBadRequest, "bad_request", detail,
			"The dates are not valid: use YYYY-MM-DD, from before to, at most three years apart."}
	}
	if f.To == "" {
		f.To = now.UTC().Format(time.DateOnly)
	}
	to, err := time.Parse(time.DateOnly, f.To)
	if err != nil {
		return Filter{}, badDates("to must be a date, YYYY-MM-DD")
	}
	if f.From == "" {
		f.From = to.AddDate(0, 0, -29).Format(time.DateOnly)
	}
	from, err := time.Parse(time.DateOnly, f.From)
	if err != nil {
		return Filter{}, badDates("from must be a date, YYYY-MM-DD")
	}
	if from.After(to) || to.Sub(from) > 3*366*24*time.Hour {
		return Filter{}, badDates("from must not be after to, and the range at most three years")
	}
	return f, nil
}

// filterFrom is parseFilter for the JSON API: it writes the error reply itself and
// returns false on failure.
func (s *Server) filterFrom(w http.ResponseWriter, r *http.Request, rd reader) (Filter, bool) {
	f, ferr := parseFilter(r, rd, s.db.now())
	if ferr != nil {
		writeError(w, ferr.status, ferr.code, ferr.detail)
		return Filter{}, false
	}
	return f, true
}

func (s *Server) reportError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrInvalid) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	s.log.Error("report", "err", err)
	writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
}

func (s *Server) reportNPS(w http.ResponseWriter, r *http.Request, rd reader) {
	f, ok := s.filterFrom(w, r, rd)
	if !ok {
		return
	}
	rep, err := s.db.NPS(r.Context(), f)
	if err != nil {
		s.reportError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Filter
		NPSReport
	}{f, rep})
}

func (s *Server) reportTrend(w http.ResponseWriter, r *http.Request, rd reader) {
	f, ok := s.filterFrom(w, r, rd)
	if !ok {
		return
	}
	points, err := s.db.Trend(r.Context(), f, r.URL.Query().Get("interval"))
	if err != nil {
		s.reportError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"filter": f, "points": nonNil(points)})
}

func (s *Server) reportStores(w http.ResponseWriter, r *http.Request, rd reader) {
	f, ok := s.filterFrom(w, r, rd)
	if !ok {
		return
	}
	stores, err := s.db.Stores(r.Context(), f)
	if err != nil {
		s.reportError(w, err)
		return
	}
	sortStores(stores, r.URL.Query().Get("sort"))
	writeJSON(w, http.StatusOK, map[string]any{"filter": f, "stores": nonNil(stores)})
}

func (s *Server) reportReasons(w http.ResponseWriter, r *http.Request, rd reader) {
	f, ok := s.filterFrom(w, r, rd)
	if !ok {
		return
	}
	reasons, err := s.db.Reasons(r.Context(), f)
	if err != nil {
		s.reportError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"filter": f, "reasons": nonNil(reasons)})
}

func (s *Server) comments(w http.ResponseWriter, r *http.Request, rd reader) {
	f, ok := s.filterFrom(w, r, rd)
	if !ok {
		return
	}
	q := r.URL.Query()
	cf := CommentFilter{Filter: f, Category: q.Get("category"), Text: q.Get("q")}
	var err error
	if v := q.Get("limit"); v != "" {
		if cf.Limit, err = strconv.Atoi(v); err != nil || cf.Limit < 1 || cf.Limit > 500 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be 1 to 500")
			return
		}
	}
	if v := q.Get("offset"); v != "" {
		if cf.Offset, err = strconv.Atoi(v); err != nil || cf.Offset < 0 {
			writeError(w, http.StatusBadRequest, "bad_request", "offset must be a whole number")
			return
		}
	}
	cs, err := s.db.Comments(r.Context(), cf)
	if err != nil {
		s.reportError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"filter": f, "comments": nonNil(cs), "limit": cf.Limit, "offset": cf.Offset})
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// sortStores orders the stores table by "nps" or "responses" ("-" first for
// descending); anything else keeps the default order, by id.
func sortStores(rs []StoreReport, by string) {
	var key func(StoreReport) float64
	switch strings.TrimPrefix(by, "-") {
	case "nps":
		key = func(r StoreReport) float64 { return r.NPS }
	case "responses":
		key = func(r StoreReport) float64 { return float64(r.Responses) }
	default:
		return
	}
	sign := 1
	if strings.HasPrefix(by, "-") {
		sign = -1
	}
	slices.SortStableFunc(rs, func(a, b StoreReport) int { return sign * cmp.Compare(key(a), key(b)) })
}
