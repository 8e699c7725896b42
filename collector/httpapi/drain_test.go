package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/npskiosk/npskiosk/collector/collectortest"
)

// Drain fails /readyz, so a load balancer stops sending requests, while /healthz and the
// API keep answering the requests that still arrive, each asking for its connection to
// be closed.
func TestDrainFailsReadinessOnly(t *testing.T) {
	c := collectortest.Start(t, collectortest.Options{})
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := http.Get(c.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		drain     bool
		path      string
		wantCode  int
		wantClose bool
	}{
		{false, "/readyz", http.StatusOK, false},
		{false, "/healthz", http.StatusOK, false},
		{true, "/readyz", http.StatusServiceUnavailable, true},
		{true, "/healthz", http.StatusOK, true},
		{true, "/v1/openapi.json", http.StatusOK, true},
	} {
		if tc.drain {
			c.API.Drain()
		}
		resp := get(tc.path)
		if resp.StatusCode != tc.wantCode || resp.Close != tc.wantClose {
			t.Errorf("draining %v: GET %s = %d (close %v), want %d (close %v)",
				tc.drain, tc.path, resp.StatusCode, resp.Close, tc.wantCode, tc.wantClose)
		}
	}
}
