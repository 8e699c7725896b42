package dashboard_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/httpapi"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// A wrong password, an unknown e-mail and a disabled user are refused alike; the right
// password signs in and the header names the person.
func TestDashboardSignIn(t *testing.T) {
	e := newDashboardEnv(t)
	if err := e.db.DisableUser(context.Background(), e.ana.Email); err != nil {
		t.Fatal(err)
	}
	const refusal = "That e-mail and password do not match an active user."
	tests := []struct {
		name, email, password string
		status                int
		want                  string
	}{
		{"the right password", "HANA@example.com ", password, 200, `id="who">Hana HQ<`},
		{"a wrong password", e.hq.Email, "correct horse battery!", 401, refusal},
		{"an unknown e-mail", "nobody@example.com", password, 401, refusal},
		{"a disabled user", e.ana.Email, password, 401, refusal},
		{"an API token as the password", e.hq.Email, e.apiToken, 401, refusal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, code, body := tryToSignIn(t, e.srv.URL, tt.email, tt.password)
			if code != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("sign in: %d, want %d and %q in the page", code, tt.status, tt.want)
			}
			if tt.status != 200 && !strings.Contains(body, `value="`+strings.TrimSpace(tt.email)+`"`) {
				t.Errorf("the refused form does not keep the e-mail")
			}
		})
	}
}

// sessionCookie is the session token a signed-in client holds.
func sessionCookie(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == dashboard.SessionCookie {
			return k.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// withCookie is a fresh client that holds only the given session token, and shows a
// redirect to the sign-in form rather than following it.
func withCookie(base, token string) *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{{Name: dashboard.SessionCookie, Value: token}})
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Signing out ends the session on the server: a copy of the cookie no longer works.
// Disabling a user ends their sessions at once.
func TestDashboardSessionsEndOnTheServer(t *testing.T) {
	e := newDashboardEnv(t)
	hq := e.client(t, e.hq)
	token := sessionCookie(t, hq, e.srv.URL)
	if code, _ := fetch(t, withCookie(e.srv.URL, token), e.srv.URL+"/stores"); code != 200 {
		t.Fatalf("a copy of the session cookie: %d", code)
	}
	_, page := fetch(t, hq, e.srv.URL+"/")
	resp, err := hq.PostForm(e.srv.URL+"/logout", url.Values{"csrf": {csrfField.FindStringSubmatch(page)[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, _ := fetch(t, withCookie(e.srv.URL, token), e.srv.URL+"/stores"); code != http.StatusSeeOther {
		t.Errorf("the session after signing out: %d, want a redirect to sign in", code)
	}

	north := e.client(t, e.north)
	token = sessionCookie(t, north, e.srv.URL)
	if err := e.db.DisableUser(context.Background(), e.north.Email); err != nil {
		t.Fatal(err)
	}
	if code, _ := fetch(t, withCookie(e.srv.URL, token), e.srv.URL+"/"); code != http.StatusSeeOther {
		t.Errorf("a disabled user's session: %d, want a redirect to sign in", code)
	}
}

// A region's user sees that region's stores and cases only.
func TestDashboardRegionUser(t *testing.T) {
	e := newDashboardEnv(t)
	north := e.client(t, e.north)
	ctx := context.Background()
	stores, err := e.db.Stores(ctx, storage.Filter{From: "2000-01-01", To: "2999-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	var inNorth []string
	for _, s := range stores {
		if s.Region == "North" {
			inNorth = append(inNorth, s.ID)
		}
	}
	_, body := fetch(t, north, e.srv.URL+"/stores")
	var shown []string
	for _, m := range regexp.MustCompile(`href="/stores/(S\d+)"`).FindAllStringSubmatch(body, -1) {
		shown = append(shown, m[1])
	}
	slices.Sort(shown)
	if !slices.Equal(shown, inNorth) {
		t.Errorf("the stores page shows %v to North's user, want %v", shown, inNorth)
	}
	southCases, err := e.db.Cases(ctx, storage.CaseFilter{Region: "South", Limit: 1})
	if err != nil || len(southCases) == 0 {
		t.Fatalf("no South case: %v", err)
	}
	for path, want := range map[string]int{"/stores/S001": 200, "/stores/S002": 403, "/?region=South": 403, "/cases?region=South": 403,
		"/cases/" + southCases[0].ID: 403, "/cases/" + e.freshCase: 200, "/people": 403, "/devices": 200} {
		if code, _ := fetch(t, north, e.srv.URL+path); code != want {
			t.Errorf("GET %s as North's user: %d, want %d", path, code, want)
		}
	}
	want, err := e.db.Cases(ctx, storage.CaseFilter{Region: "North", Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	_, body = fetch(t, north, e.srv.URL+"/cases")
	if n := len(caseLink.FindAllString(body, -1)); n != len(want) {
		t.Errorf("North's Follow-ups list shows %d cases, storage has %d in North", n, len(want))
	}
	_, body = fetch(t, north, e.srv.URL+"/devices")
	if strings.Contains(body, "<td>S002</td>") || !strings.Contains(body, "<td>S001</td>") {
		t.Errorf("North's devices page shows another region's devices, or not its own")
	}
}

// The case page offers as owners the active people who may see the case's store.
func TestDashboardCaseOwnerChoices(t *testing.T) {
	e := newDashboardEnv(t)
	_, body := fetch(t, e.client(t, e.hq), e.srv.URL+"/cases/"+e.freshCase)
	i := strings.Index(body, `<select id="owner-input"`)
	if i < 0 {
		t.Fatal("no owner choice on the case page")
	}
	sel := body[i : i+strings.Index(body[i:], "</select>")]
	for _, u := range []storage.User{e.hq, e.north, e.ana} {
		if !strings.Contains(sel, `value="`+u.ID+`"`) {
			t.Errorf("%s, who may see S001, is not offered as owner", u.Name)
		}
	}
	if strings.Contains(sel, e.store2.ID) {
		t.Errorf("Harbour's manager is offered as owner of an S001 case")
	}
	if strings.Contains(body, `<input id="owner-input"`) {
		t.Errorf("the owner is still typed in")
	}
}

// HQ adds a person, who can sign in at once and sees their store; HQ disables them and
// their session ends. Nobody else may manage people.
func TestDashboardPeople(t *testing.T) {
	e := newDashboardEnv(t)
	hq := e.client(t, e.hq)
	csrf := func(c *http.Client) string {
		_, body := fetch(t, c, e.srv.URL+"/")
		return csrfField.FindStringSubmatch(body)[1]
	}
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
	person := url.Values{"name": {"Otto Old Town"}, "email": {"otto@example.com"}, "language": {"fr"}, "scope": {"store:S003"}, "password": {"a long first password"},
		"alerts": {"case.opened", "digest.daily"}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for key, vs := range person {
			out[key] = vs
		}
		out.Set(k, v)
		return out
	}
	tests := []struct {
		name   string
		values url.Values
		status int
		want   string
	}{
		{"no CSRF token", with("csrf", "forged-token-forged-token-forged-token"), 403, "The form expired"},
		{"a short password", with("password", "short"), 400, "A password needs at least 10 characters."},
		{"an unknown store", with("scope", "store:S999"), 400, "Not added"},
		{"an e-mail in use", with("email", "HANA@example.com"), 400, "someone already signs in with that e-mail"},
		{"a good form", with("csrf", ""), 200, "Added otto@example.com"},
	}
	for _, tt := range tests {
		if tt.values.Get("csrf") == "" {
			tt.values.Set("csrf", csrf(hq))
		}
		code, body := post(hq, "/people", tt.values)
		if code != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d, want %d and %q", tt.name, code, tt.status, tt.want)
		}
		if strings.Contains(body, "a long first password") {
			t.Errorf("%s: the page shows the password back", tt.name)
		}
	}
	users, err := e.db.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(users, func(u storage.User) bool { return u.Email == "otto@example.com" })
	if i < 0 || users[i].Language != "fr" || users[i].ScopeKind != storage.UserScopeStore || users[i].Scope != "S003" ||
		!slices.Equal(users[i].Alerts, []string{"case.opened", "digest.daily"}) {
		t.Fatalf("Otto in storage: %+v", users)
	}
	otto := signInForm(t, e.srv.URL, "otto@example.com", "a long first password")
	if code, _ := fetch(t, otto, e.srv.URL+"/stores/S003"); code != 200 {
		t.Errorf("Otto's own store: %d", code)
	}

	// HQ changes what Otto is e-mailed; the page says so and shows it.
	alertsPath := "/people/" + users[i].ID + "/alerts"
	if code, _ := post(hq, alertsPath, url.Values{"csrf": {"nope"}, "alerts": {"nps.dropped"}}); code != 403 {
		t.Errorf("alerts without CSRF: %d, want 403", code)
	}
	if code, body := post(hq, alertsPath, url.Values{"csrf": {csrf(hq)}, "alerts": {"response.created"}}); code != 400 || !strings.Contains(body, "cannot be e-mailed to a person") {
		t.Errorf("alerts a person cannot get: %d", code)
	}
	if code, body := post(hq, "/people/nobody/alerts", url.Values{"csrf": {csrf(hq)}}); code != 404 || !strings.Contains(body, "There is no such person") {
		t.Errorf("alerts of nobody: %d", code)
	}
	code, body := post(hq, alertsPath, url.Values{"csrf": {csrf(hq)}, "alerts": {"nps.dropped", "case.updated"}})
	if code != 200 || !strings.Contains(body, "Saved the alerts of otto@example.com") || !strings.Contains(body, `</span>case.updated, nps.dropped <span class="change">`) {
		t.Errorf("saving Otto's alerts: %d\n%s", code, body)
	}
	if u, err := e.db.User(context.Background(), users[i].ID); err != nil || !slices.Equal(u.Alerts, []string{"case.updated", "nps.dropped"}) {
		t.Errorf("Otto's alerts in storage: %v, %v", u.Alerts, err)
	}

	// An API token is no session: set as the cookie, it is sent to sign in.
	if code, _ := fetch(t, withCookie(e.srv.URL, e.apiToken), e.srv.URL+"/people"); code != http.StatusSeeOther {
		t.Errorf("GET /people with an API token as the cookie: %d, want 303 to the sign-in form", code)
	}
	// Only people who see the chain manage people.
	for name, c := range map[string]*http.Client{"a store's manager": otto, "a region's user": e.client(t, e.north)} {
		if code, _ := fetch(t, c, e.srv.URL+"/people"); code != 403 {
			t.Errorf("GET /people as %s: %d, want 403", name, code)
		}
		if code, _ := post(c, "/people", with("csrf", csrf(c))); code != 403 {
			t.Errorf("POST /people as %s: %d, want 403", name, code)
		}
		if code, _ := post(c, alertsPath, url.Values{"csrf": {csrf(c)}, "alerts": {"case.opened"}}); code != 403 {
			t.Errorf("POST %s as %s: %d, want 403", alertsPath, name, code)
		}
	}

	if code, body := post(hq, "/people/"+e.hq.ID+"/disable", url.Values{"csrf": {csrf(hq)}}); code != 409 || !strings.Contains(body, "You cannot disable yourself") {
		t.Errorf("disabling oneself: %d", code)
	}
	if code, _ := post(hq, "/people/"+users[i].ID+"/disable", url.Values{"csrf": {"nope"}}); code != 403 {
		t.Errorf("disabling without CSRF: %d", code)
	}
	if code, body := post(hq, "/people/"+users[i].ID+"/disable", url.Values{"csrf": {csrf(hq)}}); code != 200 || !strings.Contains(body, "Disabled") {
		t.Errorf("disabling Otto: %d", code)
	}
	if code, _ := fetch(t, withCookie(e.srv.URL, sessionCookie(t, otto, e.srv.URL)), e.srv.URL+"/"); code != http.StatusSeeOther {
		t.Errorf("Otto's session after he was disabled: %d, want a redirect to sign in", code)
	}
}

// Two collectors over one database, as behind a load balancer: a session made on one
// works on the other, and signing out on the second ends it on the first.
func TestDashboardSessionOnSecondCollector(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		path := b.Path(t)
		var servers []*httptest.Server
		var first *storage.DB
		for range 2 {
			db, err := storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if first == nil {
				first = db
			}
			api := httpapi.New(httpapi.Config{Service: collector.New(db), Logger: slog.New(slog.DiscardHandler)})
			dashboard.New(dashboard.Config{Service: collector.New(db), Logger: slog.New(slog.DiscardHandler)}).Register(api)
			srv := httptest.NewServer(api)
			t.Cleanup(srv.Close)
			servers = append(servers, srv)
		}
		if err := first.AddStore(ctx, storage.Store{ID: "S001", Name: "Main Street", Timezone: "UTC"}); err != nil {
			t.Fatal(err)
		}
		if _, err := first.AddUser(ctx, storage.NewUser{Email: "hana@example.com", Name: "Hana HQ", Password: password}); err != nil {
			t.Fatal(err)
		}
		one := signInForm(t, servers[0].URL, "hana@example.com", password)
		token := sessionCookie(t, one, servers[0].URL)
		two := withCookie(servers[1].URL, token)
		code, body := fetch(t, two, servers[1].URL+"/")
		if code != 200 || !strings.Contains(body, `id="who">Hana HQ<`) {
			t.Fatalf("the session on the second collector: %d", code)
		}
		resp, err := two.PostForm(servers[1].URL+"/logout", url.Values{"csrf": {csrfField.FindStringSubmatch(body)[1]}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if code, _ := fetch(t, withCookie(servers[0].URL, token), servers[0].URL+"/"); code != http.StatusSeeOther {
			t.Errorf("signed out on the second collector, the first still serves the session: %d", code)
		}
	})
}
