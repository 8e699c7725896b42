package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// An upload asking for the compact reply (Prefer: return=minimal) gets the counts and
// only the rejections by id, and says so in Preference-Applied; one that does not ask (a
// kiosk from before) gets every id as always. Each is sent gzipped and plain, so a gzip
// reader the server reuses reads every body whole.
func TestUploadReplyFullOrCompact(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		rng := rand.New(rand.NewPCG(7, 8))
		stored := collectortest.Response(rng, e.now.Add(-time.Hour))
		other := collectortest.Response(rng, e.now.Add(-time.Hour))
		if code := e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: []wire.Response{stored, other}}, nil); code != 200 {
			t.Fatalf("first upload: %d", code)
		}
		tests := []struct {
			name, prefer  string
			gzip, compact bool
		}{
			{"no preference, plain", "", false, false},
			{"no preference, gzip", "", true, false},
			{"another preference only", "respond-async", true, false},
			{"minimal, gzip", "return=minimal", true, true},
			{"minimal, plain", "return=minimal", false, true},
			{"minimal among others", "respond-async, RETURN=minimal; x=1", true, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				conflict := other
				conflict.Score = (other.Score + 1) % 11
				bad := collectortest.Response(rng, e.now)
				bad.Reasons = []string{"free_cake"}
				ok1 := collectortest.Response(rng, e.now.Add(-time.Minute))
				ok2 := collectortest.Response(rng, e.now.Add(-2*time.Minute))
				batch := []wire.Response{stored, conflict, ok1, bad, ok2}
				// stored is a duplicate (same content); conflict reuses other's id.
				resp, raw := e.upload(batch, tt.prefer, tt.gzip)
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, raw)
				}
				applied := resp.Header.Get(wire.PreferenceAppliedHeader)
				if !tt.compact {
					if applied != "" {
						t.Errorf("Preference-Applied %q on a full reply", applied)
					}
					var res wire.UploadResult
					if err := json.Unmarshal(raw, &res); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(res.Accepted, []string{ok1.ID, ok2.ID}) || !slices.Equal(res.Duplicate, []string{stored.ID}) || len(res.Rejected) != 2 {
						t.Fatalf("full reply %s", raw)
					}
					return
				}
				if applied != wire.PreferMinimal {
					t.Errorf("Preference-Applied %q, want %q", applied, wire.PreferMinimal)
				}
				var fields map[string]json.RawMessage
				if err := json.Unmarshal(raw, &fields); err != nil {
					t.Fatal(err)
				}
				if _, listed := fields["accepted"]; listed {
					t.Errorf("the compact reply lists the accepted ids: %s", raw)
				}
				var sum wire.UploadSummary
				dec := json.NewDecoder(bytes.NewReader(raw))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&sum); err != nil {
					t.Fatalf("compact reply %s: %v", raw, err)
				}
				if sum.Accepted != 2 || sum.Duplicate != 1 || len(sum.Rejected) != 2 ||
					sum.Rejected[0].ID != other.ID || !strings.Contains(sum.Rejected[0].Error, "conflict") || sum.Rejected[1].ID != bad.ID {
					t.Fatalf("compact reply %+v", sum)
				}
			})
		}
	})
}

// upload posts batch as a kiosk does, with the Prefer header when prefer is not empty.
func (e *testEnv) upload(batch []wire.Response, prefer string, gz bool) (*http.Response, []byte) {
	e.t.Helper()
	body, err := json.Marshal(wire.UploadRequest{Responses: batch})
	if err != nil {
		e.t.Fatal(err)
	}
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/responses", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if prefer != "" {
		req.Header.Set(wire.PreferHeader, prefer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(resp.Body); err != nil {
		e.t.Fatal(err)
	}
	return resp, out.Bytes()
}
