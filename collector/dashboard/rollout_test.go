package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// heartbeat posts hb as the device and returns the reply's status and target version.
func heartbeat(t *testing.T, url, token string, hb wire.Heartbeat) (int, string) {
	t.Helper()
	hb.DeviceTime = time.Now()
	body, _ := json.Marshal(hb)
	req, _ := http.NewRequest("POST", url+"/v1/heartbeat", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply wire.HeartbeatReply
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, reply.TargetVersion
}

// A staged rollout reaches only the kiosks in its stage, through the heartbeat reply; the
// devices page shows each kiosk's version and rollout state, and counts the failures.
func TestRolloutReachesItsStageAndTheDevicesPageShowsIt(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		c.AddStore(t, storage.Store{ID: "S1"})
		c.AddStore(t, storage.Store{ID: "S2"})
		in, out := c.Enroll(t, "S1", "Till 1"), c.Enroll(t, "S2", "Till 2")

		if code, target := heartbeat(t, c.URL, in.Token, wire.Heartbeat{AppVersion: "0.1.1"}); code != http.StatusNoContent || target != "" {
			t.Fatalf("no rollout: heartbeat %d, target %q; want 204 and none", code, target)
		}
		if _, err := c.DB.SetRollout(ctx, "0.1.2", 0, []string{"S1"}); err != nil {
			t.Fatal(err)
		}
		if code, target := heartbeat(t, c.URL, in.Token, wire.Heartbeat{AppVersion: "0.1.1"}); code != http.StatusOK || target != "0.1.2" {
			t.Fatalf("kiosk of S1 in the stage: heartbeat %d, target %q; want 200 and 0.1.2", code, target)
		}
		if code, target := heartbeat(t, c.URL, out.Token, wire.Heartbeat{AppVersion: "0.1.1"}); code != http.StatusNoContent || target != "" {
			t.Fatalf("kiosk of S2 outside the stage: heartbeat %d, target %q; want 204 and none", code, target)
		}
		// The kiosk's updater tried 0.1.2 and put 0.1.1 back.
		heartbeat(t, c.URL, in.Token, wire.Heartbeat{AppVersion: "0.1.1", UpdateTarget: "0.1.2", UpdateState: wire.UpdateRolledBack})

		session := withCookie(c.URL, c.Session(t, ""))
		code, page := fetch(t, session, c.URL+"/devices")
		for _, want := range []string{
			"Version <strong>0.1.2</strong> to 0% of the fleet and the kiosks of S1",
			"In the rollout: 1 of 2 kiosks: <strong>0</strong> on target, 0 pending, <span class=\"flag\">1 failed or rolled back</span>",
			`<span class="flag">rolled back 0.1.2</span>`,
			"0.1.1: 2",
		} {
			if code != 200 || !strings.Contains(page, want) {
				t.Fatalf("GET /devices: %d; no %q in\n%s", code, want, page)
			}
		}
		if _, csv := fetch(t, session, c.URL+"/export/devices.csv"); !strings.Contains(csv, ",0.1.2,rolled_back") {
			t.Fatalf("devices.csv has no update state:\n%s", csv)
		}

		// Halted: nobody is asked for anything.
		if _, err := c.DB.HaltRollout(ctx); err != nil {
			t.Fatal(err)
		}
		if code, target := heartbeat(t, c.URL, in.Token, wire.Heartbeat{AppVersion: "0.1.1"}); code != http.StatusNoContent || target != "" {
			t.Fatalf("halted rollout: heartbeat %d, target %q; want 204 and none", code, target)
		}
		if _, page := fetch(t, session, c.URL+"/devices"); !strings.Contains(page, `<span class="flag">halted</span>`) {
			t.Fatalf("the devices page does not say the rollout is halted:\n%s", page)
		}
	})
}
