package httpapi

import (
	"errors"
	"net/http"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// deviceCases serves GET /v1/device/cases: the open and contacted cases of the device's
// store, which the kiosk caches for its manager view.
func (s *Server) deviceCases(w http.ResponseWriter, r *http.Request, d storage.EnrolledDevice) {
	cs, err := s.svc.DeviceCases(r.Context(), d.StoreID)
	if err != nil {
		s.log.Error("device cases", "device", d.ID, "store", d.StoreID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return
	}
	list := wire.CaseList{Cases: make([]wire.Case, 0, len(cs))}
	for _, c := range cs {
		list.Cases = append(list.Cases, wireCase(c))
	}
	writeJSON(w, http.StatusOK, list)
}

// changeDeviceCase serves POST /v1/device/cases/{id}: a manager's move made on the
// kiosk. A refused move answers 409 with the case as it now stands, so the kiosk can
// tell the manager what happened at HQ instead of only that something failed.
func (s *Server) changeDeviceCase(w http.ResponseWriter, r *http.Request, d storage.EnrolledDevice) {
	var body wire.CaseChange
	if !decodeBody(w, r, 16<<10, &body) {
		return
	}
	c, err := s.svc.ChangeCaseFromDevice(r.Context(), d, r.PathValue("id"), storage.DeviceCaseChange{
		ChangeID: body.ChangeID, To: followup.Status(body.Status), Note: body.Note, Version: body.Version})
	conflict := func(code string) {
		reply := wire.CaseConflict{Error: code, Detail: err.Error()}
		if c.ID != "" {
			wc := wireCase(c)
			reply.Case = &wc
		}
		writeJSON(w, http.StatusConflict, reply)
	}
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, wireCase(c))
	case errors.Is(err, storage.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such case")
	case errors.Is(err, storage.ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", "this case belongs to another store")
	case errors.Is(err, storage.ErrConflict):
		conflict("stale_version")
	case errors.Is(err, followup.ErrTransition):
		conflict("invalid_transition")
	case errors.Is(err, storage.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	default:
		s.log.Error("device case change", "device", d.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
	}
}

// wireCase is a case as devices get it: without its owner and history, which name
// HQ's people.
func wireCase(c storage.Case) wire.Case {
	c.Owner, c.History = "", nil
	if c.Response.Reasons == nil {
		c.Response.Reasons = []string{}
	}
	return c
}
