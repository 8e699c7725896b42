package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/npskiosk/npskiosk/collector/invitations"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// MaxInvitations bounds one POST /v1/invitations: each is sent before the reply, and
// the reply must come within the server's write timeout.
const MaxInvitations = 100

// invitationRequest is the body of POST /v1/invitations.
type invitationRequest struct {
	StoreID     string                `json:"store_id"`
	Touchpoint  string                `json:"touchpoint,omitempty"`
	ExpiresIn   string                `json:"expires_in,omitempty"` // a duration such as "336h"; default 14 days
	Invitations []invitations.Invitee `json:"invitations"`
}

// invite sends e-mail invitations for one store and replies with what became of each.
func (s *Server) invite(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	if s.inviter == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable",
			"e-mail invitations are off: start serve with --smtp-host, --smtp-from and --public-url")
		return
	}
	var req invitationRequest
	if !decodeBody(w, r, 256<<10, &req) {
		return
	}
	if len(req.Invitations) == 0 || len(req.Invitations) > MaxInvitations {
		status := http.StatusBadRequest
		if len(req.Invitations) > MaxInvitations {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, "bad_request", fmt.Sprintf("give 1 to %d invitations; send more in several requests", MaxInvitations))
		return
	}
	var ttl time.Duration
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "expires_in must be a duration such as 336h")
			return
		}
		ttl = d
	}
	st, err := s.svc.Store(r.Context(), req.StoreID)
	if errors.Is(err, storage.ErrNotFound) || err == nil && !rd.MaySee(st) {
		if err == nil && rd.StoreID != "" {
			writeError(w, http.StatusForbidden, "forbidden", "this token may invite for store "+rd.StoreID+" only")
			return
		}
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no store %q", req.StoreID))
		return
	}
	if err != nil {
		s.log.Error("invite", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return
	}
	sum, err := s.inviter.Invite(r.Context(), invitations.Batch{StoreID: st.ID, Touchpoint: req.Touchpoint, TTL: ttl, Invitees: req.Invitations})
	switch {
	case errors.Is(err, storage.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case err != nil:
		s.log.Error("invite", "store", st.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
	default:
		writeJSON(w, http.StatusOK, sum)
	}
}
