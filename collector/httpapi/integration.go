package httpapi

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// openAPIYAML is the integration API's OpenAPI 3 document; docs/api.md points to it and
// openapi_test.go holds it to the real replies of every endpoint.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIYAML returns the integration API's OpenAPI document as written.
func OpenAPIYAML() []byte { return openAPIYAML }

// openAPIJSON is the document as GET /v1/openapi.json serves it.
func openAPIJSON() ([]byte, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode the OpenAPI document: %w", err)
	}
	return b, nil
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	if s.openapi == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the OpenAPI document could not be loaded")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(s.openapi)
}

// ndjson is the media type of GET /v1/responses' newline-delimited JSON.
const ndjson = "application/x-ndjson"

// listResponses serves GET /v1/responses: stored responses in the collector's received
// order, a page at a time (see storage.ResponsesAfter), as JSON or NDJSON. The cursor
// to ask from next is in the JSON's next_cursor and, for either, in the Next-Cursor
// header; it is there even on an empty page, for polling.
func (s *Server) listResponses(w http.ResponseWriter, r *http.Request, rd storage.Reader) {
	q := r.URL.Query()
	bad := func(detail string) { writeError(w, http.StatusBadRequest, "bad_request", detail) }
	after, err := storage.ParseCursor(q.Get("cursor"))
	if err != nil {
		bad(err.Error())
		return
	}
	rq := storage.ResponseQuery{After: after, StoreID: q.Get("store"), Region: q.Get("region"), Channel: q.Get("channel"),
		Contacts: rd.Has(storage.ScopeReadContacts)}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > storage.MaxResponsePage {
			bad(fmt.Sprintf("limit must be 1 to %d", storage.MaxResponsePage))
			return
		}
		rq.Limit = n
	}
	if rq.Channel != "" {
		if err := response.CheckLabel("channel", rq.Channel); err != nil {
			bad(err.Error())
			return
		}
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			bad("since must be a time such as 2026-05-04T09:00:00Z (RFC 3339)")
			return
		}
		rq.Since = t
	}
	asNDJSON := false
	switch q.Get("format") {
	case "":
		asNDJSON = strings.Contains(r.Header.Get("Accept"), ndjson)
	case "json":
	case "ndjson":
		asNDJSON = true
	default:
		bad("format must be json or ndjson")
		return
	}
	if rd.StoreID != "" {
		if rq.StoreID != "" && rq.StoreID != rd.StoreID {
			writeError(w, http.StatusForbidden, "forbidden", "this token may read store "+rd.StoreID+" only")
			return
		}
		rq.StoreID = rd.StoreID
	}
	if rd.Region != "" {
		if rq.Region != "" && rq.Region != rd.Region {
			writeError(w, http.StatusForbidden, "forbidden", "this reader may read region "+rd.Region+" only")
			return
		}
		rq.Region = rd.Region
	}
	rows, next, err := s.svc.ResponsesAfter(r.Context(), rq)
	if errors.Is(err, storage.ErrInvalid) {
		bad(err.Error())
		return
	}
	if err != nil {
		s.log.Error("list responses", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return
	}
	w.Header().Set("Next-Cursor", next.Cursor())
	if !asNDJSON {
		writeJSON(w, http.StatusOK, struct {
			Responses  []storage.ReceivedResponse `json:"responses"`
			NextCursor string                     `json:"next_cursor"`
		}{rows, next.Cursor()})
		return
	}
	w.Header().Set("Content-Type", ndjson)
	enc := json.NewEncoder(w)
	for _, row := range rows {
		if err := enc.Encode(row); err != nil {
			s.log.Warn("list responses: write", "err", err)
			return
		}
	}
}
