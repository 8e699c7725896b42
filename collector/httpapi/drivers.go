package httpapi

import (
	"net/http"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// reportDrivers serves the themes' (or reasons') impact on NPS (GET /v1/reports/drivers):
// see collector.Service.Drivers. kind is theme (the default) or reason; lang the labels'
// language, en unless given.
func (s *Server) reportDrivers(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	f, ok := s.filterFrom(w, r, rd)
	if !ok {
		return
	}
	// min_n is read with the filter (Filter.MinResponses, the collector's
	// --min-responses unless given), as every other report reads it.
	q := r.URL.Query()
	rep, err := s.svc.Drivers(r.Context(), f, q.Get("kind"), q.Get("lang"), f.MinResponses)
	if err != nil {
		s.reportError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Filter storage.Filter `json:"filter"`
		collector.DriversReport
	}{f, rep})
}

// reportThemesStatus serves the re-tagging jobs' progress (GET /v1/reports/themes/status):
// per store the taxonomy its responses are being (or were) tagged with, done of total and
// whether it finished, with the sums over the stores the reader may see.
func (s *Server) reportThemesStatus(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	jobs, err := s.svc.ThemeJobs(r.Context())
	if err != nil {
		s.reportError(w, err)
		return
	}
	stores, err := s.svc.StoreList(r.Context())
	if err != nil {
		s.reportError(w, err)
		return
	}
	visible := map[string]bool{}
	for _, st := range stores {
		visible[st.ID] = rd.MaySee(st)
	}
	out := struct {
		Done     int64              `json:"done"`
		Total    int64              `json:"total"`
		Finished bool               `json:"finished"`
		Jobs     []storage.ThemeJob `json:"jobs"`
	}{Finished: true, Jobs: []storage.ThemeJob{}}
	for _, j := range jobs {
		if !visible[j.StoreID] {
			continue
		}
		out.Jobs = append(out.Jobs, j)
		out.Done += j.Done
		out.Total += j.Total
		out.Finished = out.Finished && j.Finished()
	}
	writeJSON(w, http.StatusOK, out)
}
