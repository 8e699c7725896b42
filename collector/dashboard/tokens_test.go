package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// HQ sees the API tokens on the People page with their scopes and last use, and revokes one: it
// stops working on the API at once. A store's manager may not revoke.
func TestDashboardRevokesAPITokens(t *testing.T) {
	c := collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S1"})
	tok, err := c.DB.AddAPIToken(context.Background(), "BI export", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB.AuthenticateReader(context.Background(), tok.Token); err != nil {
		t.Fatal(err)
	}
	hq := withCookie(c.URL, c.Session(t, ""))
	code, body := fetch(t, hq, c.URL+"/people")
	if code != 200 || !strings.Contains(body, "BI export") || !strings.Contains(body, "/people/tokens/"+tok.ID+"/revoke") || strings.Contains(body, tok.Token) ||
		!strings.Contains(body, "<code>read:reports</code> <code>read:contacts</code> <code>write:cases</code>") {
		t.Fatalf("People page: %d, want the token's name and a Revoke button, never its secret\n%s", code, body)
	}
	csrf := csrfField.FindStringSubmatch(body)[1]
	manager := withCookie(c.URL, c.Session(t, "S1"))
	if code, _ := postForm(t, manager, c.URL+"/people/tokens/"+tok.ID+"/revoke", url.Values{"csrf": {csrf}}); code != http.StatusForbidden {
		t.Errorf("a store manager revoking: %d, want 403", code)
	}
	if code, _ := postForm(t, hq, c.URL+"/people/tokens/"+tok.ID+"/revoke", url.Values{"csrf": {"forged"}}); code != http.StatusForbidden {
		t.Errorf("revoking without the session's CSRF token: %d, want 403", code)
	}
	if code, _ := postForm(t, hq, c.URL+"/people/tokens/"+tok.ID+"/revoke", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("HQ revoking: %d, want 303", code)
	}
	if _, err := c.DB.AuthenticateReader(context.Background(), tok.Token); err == nil {
		t.Error("the revoked token still authenticates")
	}
	code, body = fetch(t, hq, c.URL+"/people?revoked="+tok.ID)
	if code != 200 || !strings.Contains(body, "Revoked API token") || !strings.Contains(body, `<span class="flag">Revoked</span>`) {
		t.Errorf("People page after revoking: %d", code)
	}
	if code, _ := postForm(t, hq, c.URL+"/people/tokens/"+tok.ID+"/revoke", url.Values{"csrf": {csrf}}); code != http.StatusConflict {
		t.Errorf("revoking twice: %d, want 409", code)
	}
}
