package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// Enrollment hands the kiosk the collector's current contact key, and GET
// /v1/contact-key serves it to anyone; a collector without one says so with a 404.
func TestContactKeyAtEnrollmentAndOnItsOwn(t *testing.T) {
	ring := collectortest.ContactKeys(t)
	for _, tt := range []struct {
		name string
		opts collectortest.Options
		want *wire.ContactKey
	}{
		{"with a key", collectortest.Options{ContactKeys: ring}, func() *wire.ContactKey { k := ring.Current(); return &k }()},
		{"without", collectortest.Options{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := collectortest.Start(t, tt.opts)
			c.AddStore(t, storage.Store{ID: "S1", Name: "One", Timezone: "UTC"})
			enrolled := c.Enroll(t, "S1", "Till 1")
			if (enrolled.ContactKey == nil) != (tt.want == nil) || tt.want != nil && enrolled.ContactKey.ID != tt.want.ID {
				t.Fatalf("enrollment's contact key = %+v, want %+v", enrolled.ContactKey, tt.want)
			}
			resp, err := http.Get(c.URL + "/v1/contact-key")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tt.want == nil {
				var e wire.Error
				json.NewDecoder(resp.Body).Decode(&e)
				if resp.StatusCode != http.StatusNotFound || e.Error != "no_contact_key" {
					t.Fatalf("GET /v1/contact-key = %d %+v, want 404 no_contact_key", resp.StatusCode, e)
				}
				return
			}
			var got wire.ContactKey
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET /v1/contact-key = %d, %v", resp.StatusCode, err)
			}
			if got.ID != tt.want.ID || got.Check() != nil {
				t.Fatalf("GET /v1/contact-key = %+v, want %+v (check: %v)", got, *tt.want, got.Check())
			}
		})
	}
}

// /healthz names the current contact key, and none without one.
func TestHealthzNamesTheContactKey(t *testing.T) {
	ring := collectortest.ContactKeys(t)
	for _, tc := range []struct {
		opts collectortest.Options
		want string
	}{{collectortest.Options{ContactKeys: ring}, ring.Current().ID}, {collectortest.Options{}, ""}} {
		c := collectortest.Start(t, tc.opts)
		resp, err := http.Get(c.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if got["status"] != "ok" || got["contact_key_id"] != tc.want {
			t.Errorf("/healthz = %v, want contact_key_id %q", got, tc.want)
		}
	}
}
