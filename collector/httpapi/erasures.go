package httpapi

import (
	"errors"
	"net/http"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// erasureRequest is the body of POST /v1/erasures.
type erasureRequest struct {
	Contact string `json:"contact"`
	DryRun  bool   `json:"dry_run"`
}

// erase carries out (or, dry run, counts) the erasure of one person's contact details
// and comments (storage.EraseContact). A person's data is not a store's: only a
// chain-wide token with the admin scope may erase (the route checks the scope), as only
// it sees every store the person may appear in.
func (s *Server) erase(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	if !rd.Chain() {
		writeError(w, http.StatusForbidden, "forbidden", "erasure reaches every store: it needs a chain-wide token, and this one sees only part of the chain")
		return
	}
	var req erasureRequest
	if !decodeBody(w, r, 4<<10, &req) {
		return
	}
	actor := "token:" + rd.TokenID
	if rd.TokenID == "" {
		actor = "user:" + rd.UserID
	}
	er, err := s.svc.EraseContact(r.Context(), storage.ErasureRequest{Contact: req.Contact, Actor: actor + " (" + rd.Name + ")", DryRun: req.DryRun})
	if errors.Is(err, storage.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if err != nil {
		s.log.Error("erasure", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return
	}
	s.log.Info("erasure", "actor", actor, "dry_run", er.DryRun, "audit_id", er.AuditID, "changed", er.Changed)
	writeJSON(w, http.StatusOK, er)
}
