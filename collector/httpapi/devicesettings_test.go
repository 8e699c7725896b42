package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/websurvey"
	"github.com/npskiosk/npskiosk/collector/widget"
	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// get fetches target with headers (name, value pairs) and returns the status, the ETag
// and the body.
func get(t *testing.T, client *http.Client, target string, headers ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("ETag"), string(b)
}

// GET /v1/device/settings gives an enrolled device its store's settings over the
// chain's, with an ETag that changes when the PIN is rotated; no one else gets them.
func TestDeviceSettingsEndpoint(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		url := e.srv.URL + "/v1/device/settings"
		auth := "Bearer " + e.token
		code, etag, body := get(t, http.DefaultClient, url, "Authorization", auth)
		var ds wire.DeviceSettings
		if err := json.Unmarshal([]byte(body), &ds); code != 200 || err != nil || ds.Version != 0 || len(ds.Set()) != 0 {
			t.Fatalf("no settings yet: %d %q (%v)", code, body, err)
		}
		for _, h := range []string{"", "Bearer nope"} {
			if code, _, _ := get(t, http.DefaultClient, url, "Authorization", h); code != http.StatusUnauthorized {
				t.Errorf("Authorization %q: %d, want 401", h, code)
			}
		}

		hash := func(pin string) string {
			h, err := devicesettings.HashPIN(pin)
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		first := hash("1111")
		if _, err := e.db.UpdateDeviceSettings(ctx, storage.ChainScope, devicesettings.Settings{ManagerPINHash: first, IdleTimeoutSeconds: 45}, nil, "t"); err != nil {
			t.Fatal(err)
		}
		rotated := hash("5678")
		st, err := e.db.UpdateDeviceSettings(ctx, "S042", devicesettings.Settings{ManagerPINHash: rotated}, nil, "t")
		if err != nil {
			t.Fatal(err)
		}
		code, etag2, body := get(t, http.DefaultClient, url, "Authorization", auth, "If-None-Match", etag)
		ds = wire.DeviceSettings{}
		if err := json.Unmarshal([]byte(body), &ds); code != 200 || err != nil || etag2 == etag ||
			ds.ManagerPINHash != rotated || ds.IdleTimeoutSeconds != 45 || ds.Version != st.Version {
			t.Fatalf("after a rotation: %d etag %s (was %s) %+v", code, etag2, etag, ds)
		}
		if code, _, _ := get(t, http.DefaultClient, url, "Authorization", auth, "If-None-Match", etag2); code != http.StatusNotModified {
			t.Errorf("unchanged: %d, want 304", code)
		}
		if _, err := e.db.UpdateDeviceSettings(ctx, storage.ChainScope, devicesettings.Settings{IdleTimeoutSeconds: 400}, []string{devicesettings.FieldPIN}, "t"); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := get(t, http.DefaultClient, url, "Authorization", auth, "If-None-Match", etag2); code != 200 {
			t.Errorf("after the chain's idle timeout changed: %d, want 200", code)
		}
	})
}

// The PIN's hash goes to enrolled devices only: the survey a device pulls, the web
// survey, the widget, the contact key and the dashboard carry none of the device
// settings, whatever HQ set.
func TestDeviceSettingsNeverReachThePublic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		hash, err := devicesettings.HashPIN("4242")
		if err != nil {
			t.Fatal(err)
		}
		const name = "Kasse am Eingang"
		for _, scope := range []string{storage.ChainScope, "S042"} {
			if _, err := e.db.UpdateDeviceSettings(ctx, scope, devicesettings.Settings{ManagerPINHash: hash, DisplayName: name, Sleep: "22:17-06:43"}, nil, "t"); err != nil {
				t.Fatal(err)
			}
		}
		survey, err := websurvey.New(websurvey.Config{Service: e.c.Service})
		if err != nil {
			t.Fatal(err)
		}
		survey.Register(e.c.API)
		widgets, err := widget.New(widget.Config{Service: e.c.Service})
		if err != nil {
			t.Fatal(err)
		}
		widgets.Register(e.c.API)
		link, err := e.db.AddLink(ctx, storage.NewLink{StoreID: "S042", Channel: "qr"})
		if err != nil {
			t.Fatal(err)
		}
		site, err := e.db.AddLink(ctx, storage.NewLink{Kind: storage.LinkKindSite, StoreID: "S042", Channel: "web", Origins: []string{"https://shop.example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		// A kiosk that reported a local override, for the devices page.
		if code := e.do("POST", "/v1/heartbeat", e.token, wire.Heartbeat{AppVersion: "1", DeviceTime: e.now, LocalOverrides: []string{"manager_pin"}}, nil); code != 204 {
			t.Fatalf("heartbeat: %d", code)
		}
		jar, _ := cookiejar.New(nil)
		base, _ := url.Parse(e.srv.URL)
		jar.SetCookies(base, []*http.Cookie{{Name: dashboard.SessionCookie, Value: e.c.Session(t, "")}})
		hq := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

		salt := strings.Split(hash, "$")[4] // $argon2id$v=19$m=…$salt$key
		for _, tc := range []struct {
			name    string
			client  *http.Client
			path    string
			headers []string
		}{
			{"the survey a device pulls", http.DefaultClient, "/v1/config", []string{"Authorization", "Bearer " + e.token}},
			{"the web survey", http.DefaultClient, "/s/" + link.Code, nil},
			{"the widget's survey", http.DefaultClient, "/w/v1/survey?key=" + site.Code, []string{"Origin", "https://shop.example.com"}},
			{"the widget's frame", http.DefaultClient, "/w/frame?key=" + site.Code, nil},
			{"the contact key", http.DefaultClient, "/v1/contact-key", nil},
			{"the dashboard's devices page", hq, "/devices", nil},
			{"the devices export", hq, "/export/devices.csv", nil},
		} {
			code, _, body := get(t, tc.client, e.srv.URL+tc.path, tc.headers...)
			if code >= 500 {
				t.Errorf("%s: %d", tc.name, code)
			}
			for _, secret := range []string{hash, salt, "argon2id", "manager_pin_hash", name, "22:17"} {
				if strings.Contains(body, secret) {
					t.Errorf("%s (%s, %d) carries %q", tc.name, tc.path, code, secret)
				}
			}
		}
		// The devices page does say which kiosk overrides which setting.
		if _, _, page := get(t, hq, e.srv.URL+"/devices"); !strings.Contains(page, "manager_pin") {
			t.Errorf("the devices page does not show the kiosk's local override")
		}
	})
}
