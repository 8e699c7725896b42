package dashboard_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/devicesettings"
)

// HQ sets a store's kiosk PIN and idle timeout on the Kiosk settings page: the PIN is
// stored as its argon2id hash and shown by its fingerprint only; a bad PIN or a form
// without its CSRF token changes nothing; people who see less than the chain may not.
func TestKioskSettingsPage(t *testing.T) {
	e := newDashboardEnv(t)
	ctx := context.Background()
	hq := e.client(t, e.hq)
	code, page := fetch(t, hq, e.srv.URL+"/devices/settings")
	if code != 200 || !strings.Contains(page, `id="no-settings"`) {
		t.Fatalf("the page before any settings: %d\n%s", code, page)
	}
	if _, devices := fetch(t, hq, e.srv.URL+"/devices"); !strings.Contains(devices, `href="/devices/settings"`) {
		t.Error("the devices page does not link to the kiosk settings")
	}
	csrf := csrfField.FindStringSubmatch(page)[1]
	post := func(v url.Values) (int, string) {
		t.Helper()
		resp, err := hq.PostForm(e.srv.URL+"/devices/settings", v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		code int
		want string
	}{
		{"no CSRF token", url.Values{"scope": {"S001"}, "pin": {"4321"}}, 403, "form expired"},
		{"a PIN of letters", url.Values{"csrf": {csrf}, "scope": {"S001"}, "pin": {"12ab"}}, 400, "PIN must be 4 to 12 digits"},
		{"an unknown store", url.Values{"csrf": {csrf}, "scope": {"S999"}, "idle_timeout": {"45"}}, 400, "Nothing was changed"},
		{"nothing to change", url.Values{"csrf": {csrf}, "scope": {"S001"}}, 400, "fill in a setting"},
		{"bad sleep hours", url.Values{"csrf": {csrf}, "scope": {"S001"}, "sleep": {"late"}}, 400, "HH:MM-HH:MM"},
	} {
		code, body := post(tc.form)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want %d saying %q", tc.name, code, tc.code, tc.want)
		}
		if strings.Contains(body, `value="12ab"`) {
			t.Errorf("%s: the page sends the PIN back", tc.name)
		}
	}
	if ds, err := e.db.DeviceSettings(ctx, "S001"); err != nil || ds.Version != 0 {
		t.Fatalf("refused forms changed the settings: %+v %v", ds, err)
	}

	resp, err := (&http.Client{Jar: hq.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
		PostForm(e.srv.URL+"/devices/settings", url.Values{"csrf": {csrf}, "scope": {"S001"}, "pin": {"4321"}, "idle_timeout": {"45"}, "languages": {"de, en"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving: %d", resp.StatusCode)
	}
	ds, err := e.db.DeviceSettings(ctx, "S001")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := devicesettings.ComparePIN("4321", ds.ManagerPINHash); !ok || err != nil || ds.IdleTimeoutSeconds != 45 || strings.Join(ds.Languages, ",") != "de,en" {
		t.Fatalf("saved %+v (PIN matches %v %v)", ds.Settings, ok, err)
	}
	_, page = fetch(t, hq, e.srv.URL+"/devices/settings?saved=1")
	// html/template writes a hash's '+' as &#43;: compare the text a browser shows.
	page = html.UnescapeString(page)
	if !strings.Contains(page, "Manager PIN: set (hash "+devicesettings.PINFingerprint(ds.ManagerPINHash)+")") ||
		strings.Contains(page, ds.ManagerPINHash) || strings.Contains(page, "argon2id$") {
		t.Errorf("the page does not name the PIN by its fingerprint alone:\n%s", page)
	}
	if !strings.Contains(page, "by dashboard Hana HQ") {
		t.Error("the page does not say who changed the settings")
	}

	north := e.client(t, e.north)
	if code, _ := fetch(t, north, e.srv.URL+"/devices/settings"); code != http.StatusForbidden {
		t.Errorf("a region's user opens the kiosk settings: %d", code)
	}
}
