package dashboard_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// The devices page and its CSV show each kiosk's database size and last purge, as its
// heartbeat said them.
func TestDevicesPageShowsKioskDatabase(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		c.AddStore(t, storage.Store{ID: "S1"})
		dev := c.Enroll(t, "S1", "Till 1")
		purged := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
		body, _ := json.Marshal(wire.Heartbeat{AppVersion: "test", DeviceTime: time.Now(), DBBytes: 3 << 20, LastPurgeAt: purged, LastPurged: 17})
		req, _ := http.NewRequest("POST", c.URL+"/v1/heartbeat", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+dev.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("heartbeat: %d", resp.StatusCode)
		}
		session := withCookie(c.URL, c.Session(t, ""))
		code, page := fetch(t, session, c.URL+"/devices")
		if code != 200 || !strings.Contains(page, "3.0 MiB, purged 17 on 2026-11-30") {
			t.Fatalf("GET /devices: %d; no kiosk database cell in\n%s", code, page)
		}
		code, csv := fetch(t, session, c.URL+"/export/devices.csv")
		if code != 200 || !strings.Contains(csv, ",3145728,2026-11-30T04:00:00Z,17") {
			t.Fatalf("devices.csv: %d\n%s", code, csv)
		}
	})
}
