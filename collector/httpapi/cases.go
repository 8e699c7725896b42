package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/response"
)

// caseChange is the body of POST /v1/cases/{id}.
type caseChange struct {
	Status  followup.Status `json:"status,omitempty"`
	Owner   *string         `json:"owner,omitempty"`
	Note    string          `json:"note,omitempty"`
	Version int64           `json:"version,omitempty"`
}

func (s *Server) listCases(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	q := r.URL.Query()
	f := storage.CaseFilter{StoreID: q.Get("store"), Region: q.Get("region"), Status: followup.Status(q.Get("status")),
		Channel: q.Get("channel")}
	if f.Channel != "" {
		if err := response.CheckLabel("channel", f.Channel); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
	}
	if rd.StoreID != "" {
		if f.StoreID != "" && f.StoreID != rd.StoreID {
			writeError(w, http.StatusForbidden, "forbidden", "this token may read store "+rd.StoreID+" only")
			return
		}
		f.StoreID = rd.StoreID
	}
	switch v := q.Get("overdue"); v {
	case "", "false":
	case "true":
		f.Overdue = true
	default:
		writeError(w, http.StatusBadRequest, "bad_request", "overdue must be true or false")
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be 1 to 500")
			return
		}
		f.Limit = n
	}
	cs, err := s.svc.Cases(r.Context(), f)
	if err != nil {
		s.caseError(w, err)
		return
	}
	for i := range cs {
		cs[i] = withoutContact(cs[i], rd)
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": nonNil(cs)})
}

// withoutContact leaves a case's contact out for a reader without read:contacts.
func withoutContact(c followup.Case, rd storage.Reader) followup.Case {
	if !rd.Has(storage.ScopeReadContacts) {
		c.Response.Contact, c.Response.ContactSealed = "", ""
	}
	return c
}

// caseFor reads a case the reader may see: 404 when there is none, 403 when it is
// another store's.
func (s *Server) caseFor(w http.ResponseWriter, r *http.Request, rd storage.Reader) (storage.Case, bool) {
	c, err := s.svc.Case(r.Context(), r.PathValue("id"))
	if err != nil {
		s.caseError(w, err)
		return storage.Case{}, false
	}
	if rd.StoreID != "" && c.StoreID != rd.StoreID {
		writeError(w, http.StatusForbidden, "forbidden", "this case belongs to another store")
		return storage.Case{}, false
	}
	rd.HideCaseContact(&c)
	return c, true
}

func (s *Server) getCase(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	if c, ok := s.caseFor(w, r, rd); ok {
		writeJSON(w, http.StatusOK, withoutContact(c, rd))
	}
}

func (s *Server) changeCase(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	var body caseChange
	if !decodeBody(w, r, 8<<10, &body) {
		return
	}
	if _, ok := s.caseFor(w, r, rd); !ok {
		return
	}
	c, err := s.svc.ChangeCase(r.Context(), r.PathValue("id"), storage.CaseChange{
		Actor: rd.Name, To: body.Status, Owner: body.Owner, Note: body.Note, Version: body.Version})
	if err != nil {
		s.caseError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, withoutContact(c, rd))
}

func (s *Server) caseError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such case")
	case errors.Is(err, followup.ErrTransition), errors.Is(err, storage.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, storage.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	default:
		s.log.Error("cases", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
	}
}
