package httpapi

import (
	"net/http"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// deviceChannels serves GET /v1/device/channels: the NPS per channel of the device's
// store over its last 30 days, which the kiosk caches for its manager view.
func (s *Server) deviceChannels(w http.ResponseWriter, r *http.Request, d storage.EnrolledDevice) {
	figures, err := s.svc.DeviceChannels(r.Context(), d)
	if err != nil {
		s.log.Error("device channels", "device", d.ID, "store", d.StoreID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return
	}
	writeJSON(w, http.StatusOK, figures)
}
