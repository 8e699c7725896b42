package dashboard_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/sync/wire"
)

// HQ asks a kiosk for diagnostics from the devices page: the action is listed with who
// asked and its state; a second ask while it waits is refused, as is a forged form.
// Once the kiosk has answered, HQ downloads the bundle. A region's reader sees no
// actions and may neither ask nor download.
func TestDeviceActionsFromTheDevicesPage(t *testing.T) {
	ctx := context.Background()
	e := newDashboardEnv(t)
	hq, north := e.client(t, e.hq), e.client(t, e.north)
	ds, err := e.db.Devices(ctx)
	if err != nil || len(ds) == 0 {
		t.Fatalf("devices: %v, %v", ds, err)
	}
	dev := ds[0]
	_, page := fetch(t, hq, e.srv.URL+"/devices")
	if !strings.Contains(page, `action="/devices/`+dev.ID+`/actions"`) || !strings.Contains(page, "Ask the kiosk") {
		t.Fatalf("HQ's devices page offers no remote actions")
	}
	csrf := csrfField.FindStringSubmatch(page)[1]
	post := func(c *http.Client, path string, v url.Values) (int, string) {
		t.Helper()
		resp, err := c.PostForm(e.srv.URL+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	path := "/devices/" + dev.ID + "/actions"
	tests := []struct {
		name   string
		client *http.Client
		form   url.Values
		code   int
		want   string
	}{
		{"forged form", hq, url.Values{"csrf": {"forged-token-forged-token-forged"}, "kind": {"diagnostics"}}, 403, "The form expired"},
		{"unknown action", hq, url.Values{"csrf": {csrf}, "kind": {"format_disk"}}, 400, "no such action"},
		{"region reader", north, url.Values{"csrf": {csrf}, "kind": {"diagnostics"}}, 403, "whole chain"},
		{"diagnostics", hq, url.Values{"csrf": {csrf}, "kind": {"diagnostics"}}, 200, `id="asked"`},
		{"again while it waits", hq, url.Values{"csrf": {csrf}, "kind": {"diagnostics"}}, 409, "waits for its answer"},
	}
	for _, tt := range tests {
		if code, body := post(tt.client, path, tt.form); code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d, want %d with %q", tt.name, code, tt.code, tt.want)
		}
	}
	as, err := e.db.DeviceActions(ctx, dev.ID, 10)
	if err != nil || len(as) != 1 || as[0].RequestedBy != e.hq.Name || as[0].Kind != wire.ActionDiagnostics || as[0].State != "queued" {
		t.Fatalf("actions after the asks: %+v, %v", as, err)
	}
	if _, body := fetch(t, north, e.srv.URL+"/devices"); strings.Contains(body, "Remote actions") {
		t.Errorf("a region's reader sees the remote actions")
	}

	// The kiosk gets it on a heartbeat, uploads its bundle and answers.
	if got, err := e.db.LeaseDeviceActions(ctx, dev.ID); err != nil || len(got) != 1 {
		t.Fatalf("lease: %v, %v", got, err)
	}
	if err := e.db.PutDiagnostics(ctx, dev.ID, as[0].ID, []byte(`{"logs":["call [phone]"]}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.db.FinishDeviceActions(ctx, dev.ID, []wire.ActionResult{{ID: as[0].ID, OK: true, Detail: "diagnostics bundle uploaded"}}); err != nil {
		t.Fatal(err)
	}
	_, page = fetch(t, hq, e.srv.URL+"/devices")
	download := "/devices/actions/" + as[0].ID + "/diagnostics"
	if !strings.Contains(page, `href="`+download+`"`) || !strings.Contains(page, "diagnostics bundle uploaded") || !strings.Contains(page, e.hq.Name) {
		t.Errorf("HQ's devices page does not list the answered action with its bundle")
	}
	resp, err := hq.Get(e.srv.URL + download)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"logs":["call [phone]"]}` || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
		t.Errorf("download: %s %q %q", resp.Status, body, resp.Header.Get("Content-Disposition"))
	}
	if code, _ := fetch(t, north, e.srv.URL+download); code != 403 {
		t.Errorf("a region's reader downloads a bundle: %d", code)
	}
	if code, _ := fetch(t, hq, e.srv.URL+"/devices/actions/nope/diagnostics"); code != 404 {
		t.Errorf("an unknown bundle: %d", code)
	}
}
