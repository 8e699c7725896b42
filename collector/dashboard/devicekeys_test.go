package dashboard_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// The devices page shows what each kiosk's heartbeat said of the collector's TLS
// certificate and its contact key: a warning on the till that saw the certificate
// expiring within 14 days, a flag on the one still sealing to a key the collector does
// not hold, nothing on the healthy one; the collector's own key id in the header.
func TestDevicesPageWarnsOfCertificateAndContactKey(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ring := collectortest.ContactKeys(t)
		stranger, _ := contactseal.GenerateKey()
		c := collectortest.Start(t, collectortest.Options{Backend: b, ContactKeys: ring})
		c.AddStore(t, storage.Store{ID: "S1"})
		now := time.Now().UTC()
		for _, d := range []struct {
			name string
			hb   wire.Heartbeat
		}{
			{"Till healthy", wire.Heartbeat{CollectorCertExpiry: now.Add(60 * 24 * time.Hour), ContactKeyID: ring.Current().ID}},
			{"Till expiring", wire.Heartbeat{CollectorCertExpiry: now.Add(3*24*time.Hour - time.Hour), ContactKeyID: ring.Current().ID}},
			{"Till stranger", wire.Heartbeat{CollectorCertExpiry: now.Add(60 * 24 * time.Hour), ContactKeyID: stranger.ID()}},
		} {
			dev := c.Enroll(t, "S1", d.name)
			d.hb.AppVersion, d.hb.DeviceTime = "test", time.Now()
			body, _ := json.Marshal(d.hb)
			req, _ := http.NewRequest("POST", c.URL+"/v1/heartbeat", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+dev.Token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("heartbeat of %s: %d", d.name, resp.StatusCode)
			}
		}
		code, page := fetch(t, withCookie(c.URL, c.Session(t, "")), c.URL+"/devices")
		if code != 200 {
			t.Fatalf("GET /devices: %d", code)
		}
		if !strings.Contains(page, "<code>"+ring.Current().ID+"</code> (kiosks seal contacts to it)") {
			t.Error("the header does not name the collector's contact key")
		}
		rows := map[string]string{}
		for _, m := range regexp.MustCompile(`(?s)<tr>\s*<td>(Till [a-z]+)</td>(.*?)</tr>`).FindAllStringSubmatch(page, -1) {
			rows[m[1]] = m[2]
		}
		for name, want := range map[string][]string{
			"Till healthy":  nil,
			"Till expiring": {"collector certificate expires in 3 days"},
			"Till stranger": {"not held by this collector", stranger.ID()},
		} {
			row, ok := rows[name]
			if !ok {
				t.Fatalf("no row for %s", name)
			}
			for _, w := range want {
				if !strings.Contains(row, w) {
					t.Errorf("%s: row lacks %q:\n%s", name, w, row)
				}
			}
			if want == nil && strings.Contains(row, `class="flag"`) {
				t.Errorf("%s is flagged:\n%s", name, row)
			}
		}
		code, csv := fetch(t, withCookie(c.URL, c.Session(t, "")), c.URL+"/export/devices.csv")
		if code != 200 || !strings.Contains(csv, "contact_key_problem") || !strings.Contains(csv, stranger.ID()) {
			t.Errorf("devices.csv: %d\n%s", code, csv)
		}
	})
}
