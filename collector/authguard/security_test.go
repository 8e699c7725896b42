package authguard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/authguard"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// logBuffer is a log the collector writes to while the test reads it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

const password = "correct horse battery"

// client is a browser: cookies kept, redirects shown rather than followed.
func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, c *http.Client, target string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	return do(t, c, req)
}

func post(t *testing.T, c *http.Client, target string, v url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

func bearer(t *testing.T, method, target, token string, body any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, target, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	code, _ := do(t, http.DefaultClient, req)
	return code
}

// formToken is the CSRF field of a page the client fetches.
func formToken(t *testing.T, c *http.Client, target string) string {
	t.Helper()
	code, body := get(t, c, target)
	m := csrfField.FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("GET %s: %d, no CSRF field", target, code)
	}
	return m[1]
}

// signIn posts the sign-in form as a browser does: the form's token and its cookie.
func signIn(t *testing.T, c *http.Client, base, email, pw string) int {
	t.Helper()
	code, _ := post(t, c, base+"/login", url.Values{"csrf": {formToken(t, c, base+"/login")}, "email": {email}, "password": {pw}})
	return code
}

// refusals reads npscollector_auth_refusals_total from the metrics address.
func refusals(t *testing.T, c *collectortest.Collector, reason string) float64 {
	t.Helper()
	_, body := get(t, http.DefaultClient, c.MetricsURL+"/metrics")
	prefix := `npscollector_auth_refusals_total{reason="` + reason + `"} `
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// TestSecurityMatrix tries each door as an attacker would, over real HTTP on both
// backends: every attempt is refused with the documented status, and each refusal is
// logged (level WARN, msg=refused, its reason) and counted in
// npscollector_auth_refusals_total{reason} on the metrics address.
func TestSecurityMatrix(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		var now atomic.Int64
		// Near the real time: the browser's cookie jar expires cookies by the real clock.
		now.Store(time.Now().UnixMilli())
		logs := &logBuffer{}
		c := collectortest.Start(t, collectortest.Options{Backend: b,
			Now:    func() time.Time { return time.UnixMilli(now.Load()) },
			Logger: slog.New(slog.NewTextHandler(logs, nil)),
			AuthRules: map[string]authguard.Rule{
				authguard.SignIn: {PerClient: 3, Global: 100, Window: 15 * time.Minute},
				authguard.Enroll: {PerClient: 3, Global: 100, Window: 15 * time.Minute},
				authguard.Token:  {PerClient: 4, Global: 100, Window: 15 * time.Minute},
			}})
		ctx := context.Background()
		c.AddStore(t, storage.Store{ID: "S042"})
		hq, err := c.DB.AddUser(ctx, storage.NewUser{Email: "hq@example.com", Name: "HQ", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.DB.AddUser(ctx, storage.NewUser{Email: "eve@example.com", Name: "Eve", Password: password,
			ScopeKind: storage.UserScopeStore, Scope: "S042"}); err != nil {
			t.Fatal(err)
		}
		victim, eve := client(), client()
		if code := signIn(t, victim, c.URL, hq.Email, password); code != http.StatusSeeOther {
			t.Fatalf("HQ signs in: %d, want 303", code)
		}
		if code := signIn(t, eve, c.URL, "eve@example.com", password); code != http.StatusSeeOther {
			t.Fatalf("Eve signs in: %d, want 303", code)
		}
		api, err := c.DB.AddAPIToken(ctx, "monitor", "")
		if err != nil {
			t.Fatal(err)
		}
		if code := bearer(t, "GET", c.URL+"/v1/reports/nps", api.Token, nil); code != 200 {
			t.Fatalf("the API token before revocation: %d", code)
		}

		tests := []struct {
			name   string
			reason string // of the log line and the metric
			want   int
			try    func(t *testing.T) int
		}{
			{"API token revoked mid-session", "token_failed", 401, func(t *testing.T) int {
				if err := c.DB.RevokeAPIToken(ctx, api.ID); err != nil {
					t.Fatal(err)
				}
				return bearer(t, "GET", c.URL+"/v1/reports/nps", api.Token, nil)
			}},
			{"API token as the dashboard cookie", "session", 303, func(t *testing.T) int {
				cl := client()
				u, _ := url.Parse(c.URL)
				cl.Jar.SetCookies(u, []*http.Cookie{{Name: "nps_session", Value: c.APIToken(t, "")}})
				code, _ := get(t, cl, c.URL+"/")
				return code
			}},
			{"POST without a CSRF token", "csrf", 403, func(t *testing.T) int {
				code, _ := post(t, victim, c.URL+"/logout", url.Values{})
				return code
			}},
			{"POST with a foreign session's CSRF token", "csrf", 403, func(t *testing.T) int {
				code, _ := post(t, victim, c.URL+"/logout", url.Values{"csrf": {formToken(t, eve, c.URL+"/")}})
				return code
			}},
			{"login CSRF: the attacker's form token without its cookie", "login_csrf", 403, func(t *testing.T) int {
				token := formToken(t, eve, c.URL+"/login")
				code, _ := post(t, client(), c.URL+"/login", url.Values{"csrf": {token}, "email": {"eve@example.com"}, "password": {password}})
				return code
			}},
			{"login CSRF: the attacker's form token beside the victim's own login cookie", "login_csrf", 403, func(t *testing.T) int {
				cl := client()
				formToken(t, cl, c.URL+"/login") // the victim's browser has its own login cookie
				token := formToken(t, eve, c.URL+"/login")
				code, _ := post(t, cl, c.URL+"/login", url.Values{"csrf": {token}, "email": {"eve@example.com"}, "password": {password}})
				return code
			}},
			{"wrong password", "signin_failed", 401, func(t *testing.T) int {
				return signIn(t, client(), c.URL, hq.Email, "guess 1 guess 1")
			}},
			{"sign-in brute force: over the limit even the right password is refused", "signin_limited", 429, func(t *testing.T) int {
				for i := range 2 {
					if code := signIn(t, client(), c.URL, hq.Email, "guess "+strconv.Itoa(i)+" of many"); code != 401 {
						t.Fatalf("guess %d: %d, want 401", i+2, code)
					}
				}
				return signIn(t, client(), c.URL, hq.Email, password)
			}},
			{"wrong enrollment code", "enroll_failed", 401, func(t *testing.T) int {
				return bearer(t, "POST", c.URL+"/v1/enroll", "", wire.EnrollRequest{Code: "AAAA-BBBB-C"})
			}},
			{"enrollment brute force: over the limit even a real code is refused", "enroll_limited", 429, func(t *testing.T) int {
				for i := range 2 {
					if code := bearer(t, "POST", c.URL+"/v1/enroll", "", wire.EnrollRequest{Code: "AAAA-BBBB-" + strconv.Itoa(i)}); code != 401 {
						t.Fatalf("code guess %d: %d, want 401", i+2, code)
					}
				}
				return bearer(t, "POST", c.URL+"/v1/enroll", "", wire.EnrollRequest{Code: c.EnrollmentCode(t, "S042", "Till 9").Code})
			}},
			{"device token brute force", "token_limited", 429, func(t *testing.T) int {
				for i := range 3 { // the revoked API token was the first failure
					if code := bearer(t, "POST", c.URL+"/v1/heartbeat", "dev_guess"+strconv.Itoa(i), wire.Heartbeat{AppVersion: "1"}); code != 401 {
						t.Fatalf("token guess %d: %d, want 401", i+2, code)
					}
				}
				return bearer(t, "POST", c.URL+"/v1/heartbeat", "dev_guess", wire.Heartbeat{AppVersion: "1"})
			}},
			{"/metrics on the public address", "metrics_public", 404, func(t *testing.T) int {
				code, _ := get(t, http.DefaultClient, c.URL+"/metrics")
				return code
			}},
			{"expired session", "session", 303, func(t *testing.T) int {
				now.Add((storage.SessionTTL + time.Minute).Milliseconds())
				code, _ := get(t, victim, c.URL+"/")
				return code
			}},
		}
		for _, tt := range tests {
			before, lines := refusals(t, c, tt.reason), strings.Count(logs.String(), "reason="+tt.reason+" ")
			if got := tt.try(t); got != tt.want {
				t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
			}
			if after := refusals(t, c, tt.reason); after <= before {
				t.Errorf("%s: npscollector_auth_refusals_total{reason=%q} stayed %v", tt.name, tt.reason, after)
			}
			if n := strings.Count(logs.String(), "reason="+tt.reason+" "); n <= lines {
				t.Errorf("%s: no log line with reason=%s", tt.name, tt.reason)
			}
		}
		if !strings.Contains(logs.String(), "level=WARN msg=refused reason=signin_limited") {
			t.Errorf("the log lacks the sign-in limit's refusal line:\n%s", logs.String())
		}
		// The right CSRF token still signs out: the refusals above did not break the form.
		fresh := client()
		if code := signIn(t, fresh, c.URL, "eve@example.com", password); code != http.StatusSeeOther {
			// Sign-ins from this network are still limited in this window; a new window opens.
			now.Add((15 * time.Minute).Milliseconds())
			if code := signIn(t, fresh, c.URL, "eve@example.com", password); code != http.StatusSeeOther {
				t.Fatalf("sign-in in a new window: %d", code)
			}
		}
		if code, _ := post(t, fresh, c.URL+"/logout", url.Values{"csrf": {formToken(t, fresh, c.URL+"/")}}); code != http.StatusSeeOther {
			t.Errorf("sign-out with the session's own token: %d, want 303", code)
		}
	})
}

// TestRateLimitAcrossCollectors: two collectors on one database share the failure
// counts, so guesses spread over both are limited as if sent to one.
func TestRateLimitAcrossCollectors(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		rules := map[string]authguard.Rule{
			authguard.SignIn: {PerClient: 4, Global: 100, Window: 15 * time.Minute},
			authguard.Enroll: {PerClient: 4, Global: 6, Window: 15 * time.Minute},
		}
		one := collectortest.Start(t, collectortest.Options{Backend: b, AuthRules: rules})
		two := collectortest.Start(t, collectortest.Options{DB: one.Path, AuthRules: rules})
		if _, err := one.DB.AddUser(context.Background(), storage.NewUser{Email: "hq@example.com", Name: "HQ", Password: password}); err != nil {
			t.Fatal(err)
		}
		for i, c := range []*collectortest.Collector{one, two, one, two} {
			if code := signIn(t, client(), c.URL, "hq@example.com", "wrong guess "+strconv.Itoa(i)); code != 401 {
				t.Fatalf("guess %d: %d, want 401", i+1, code)
			}
		}
		for name, c := range map[string]*collectortest.Collector{"one": one, "two": two} {
			if code := signIn(t, client(), c.URL, "hq@example.com", password); code != 429 {
				t.Errorf("collector %s after 4 failures spread over both: %d, want 429", name, code)
			}
		}
		// Enrollment codes: 4 guesses on one reach the per-client limit on two as well.
		for i := range 4 {
			if code := bearer(t, "POST", one.URL+"/v1/enroll", "", wire.EnrollRequest{Code: "AAAA-BBBB-" + strconv.Itoa(i)}); code != 401 {
				t.Fatalf("code guess %d: %d", i+1, code)
			}
		}
		if code := bearer(t, "POST", two.URL+"/v1/enroll", "", wire.EnrollRequest{Code: "AAAA-BBBB-X"}); code != 429 {
			t.Errorf("a code guess on the second collector: %d, want 429", code)
		}
	})
}
