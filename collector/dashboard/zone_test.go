package dashboard_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// A Kiritimati store (UTC+14) and a Honolulu store (UTC−10) keep the same wall clock a
// day apart. Each sees its own "today", from its own local midnight, through the API and
// on the dashboard; a chain view's today is the one furthest ahead (Kiritimati's), so
// that its default period holds both stores' todays, and it says so.
func TestEachStoreSeesItsOwnToday(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		var mu sync.Mutex
		now := time.Date(2026, 12, 1, 9, 50, 0, 0, time.UTC) // both stores at 23:50, Kiritimati on 1 Dec, Honolulu on 30 Nov
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		set := func(t time.Time) { mu.Lock(); defer mu.Unlock(); now = t }
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: clock})
		ctx := context.Background()
		zones := map[string]string{"KIR": "Pacific/Kiritimati", "HNL": "Pacific/Honolulu"}
		links := map[string]storage.Link{}
		for id, zone := range zones {
			c.AddStore(t, storage.Store{ID: id, Name: id, Timezone: zone, Region: "pacific"})
			l, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: id, Channel: "qr"})
			if err != nil {
				t.Fatal(err)
			}
			links[id] = l
		}
		answer := func(store string, at time.Time, score int) {
			t.Helper()
			r := response.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: score, Reasons: []string{}, Locale: "en",
				CreatedAt: at, CompletedAt: at, Outcome: response.OutcomeSkipped}
			if _, err := c.Service.IngestFromLink(ctx, links[store], r); err != nil {
				t.Fatal(err)
			}
		}
		type report struct {
			From, To, Zone       string
			Responses, Promoters int
		}
		api := func(token, query string) report {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, c.URL+"/v1/reports/nps?"+query, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var rep report
			if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&rep) != nil {
				t.Fatalf("GET /v1/reports/nps?%s: %d", query, resp.StatusCode)
			}
			return rep
		}
		tokens := map[string]string{"KIR": c.APIToken(t, "KIR"), "HNL": c.APIToken(t, "HNL"), "": c.APIToken(t, "")}

		// 23:50 in both stores: a detractor at 23:40, local time, in each.
		answer("KIR", time.Date(2026, 12, 1, 9, 40, 0, 0, time.UTC), 0)
		answer("HNL", time.Date(2026, 12, 1, 9, 40, 0, 0, time.UTC), 0)
		for _, tt := range []struct{ store, today string }{{"KIR", "2026-12-01"}, {"HNL", "2026-11-30"}} {
			if rep := api(tokens[tt.store], ""); rep.To != tt.today || rep.Zone != zones[tt.store] || rep.Responses != 1 {
				t.Errorf("%s at 23:50: %+v, want today %s in %s with its 1 answer", tt.store, rep, tt.today, zones[tt.store])
			}
		}

		// 00:30 in both stores, the next local day: a promoter at 00:10 in each.
		set(time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC))
		answer("KIR", time.Date(2026, 12, 1, 10, 10, 0, 0, time.UTC), 10)
		answer("HNL", time.Date(2026, 12, 1, 10, 10, 0, 0, time.UTC), 10)
		for _, tt := range []struct{ store, today, from string }{{"KIR", "2026-12-02", "2026-11-03"}, {"HNL", "2026-12-01", "2026-11-02"}} {
			rep := api(tokens[tt.store], "")
			if rep.To != tt.today || rep.From != tt.from || rep.Zone != zones[tt.store] || rep.Responses != 2 || rep.Promoters != 1 {
				t.Errorf("%s at 00:30: %+v, want %s to %s in %s with both answers", tt.store, rep, tt.from, tt.today, zones[tt.store])
			}
			// Its today alone: only what came since its own midnight.
			if rep := api(tokens[tt.store], "from="+rep.To+"&to="+rep.To); rep.Responses != 1 || rep.Promoters != 1 {
				t.Errorf("%s today: %+v, want the promoter of 00:10 alone", tt.store, rep)
			}
			// A chain reader naming the store sees the store's today too.
			if rep := api(tokens[""], "store="+tt.store); rep.To != tt.today || rep.Zone != zones[tt.store] {
				t.Errorf("the chain on %s: %+v, want today %s", tt.store, rep, tt.today)
			}
		}
		if rep := api(tokens[""], ""); rep.To != "2026-12-02" || rep.Zone != "Pacific/Kiritimati" || rep.Responses != 4 {
			t.Errorf("the chain: %+v, want today 2026-12-02 as in Pacific/Kiritimati, all 4 answers", rep)
		}
		if rep := api(tokens[""], "region=pacific"); rep.To != "2026-12-02" || rep.Zone != "Pacific/Kiritimati" {
			t.Errorf("the region: %+v, want today 2026-12-02 as in Pacific/Kiritimati", rep)
		}

		// The dashboard: each store's people, and the chain's.
		for _, tt := range []struct{ scope, path, today, says string }{
			{"KIR", "/", "2026-12-02", "Days in the store's time zone, Pacific/Kiritimati"},
			{"HNL", "/", "2026-12-01", "Days in the store's time zone, Pacific/Honolulu"},
			{"HNL", "/comments", "2026-12-01", "Days in the store's time zone, Pacific/Honolulu"},
			{"", "/", "2026-12-02", "today as in Pacific/Kiritimati, the stores' zone furthest ahead"},
			{"", "/?store=HNL", "2026-12-01", "Days in the store's time zone, Pacific/Honolulu"},
		} {
			nu := storage.NewUser{Email: strings.ToLower("zone-"+tt.scope+"-"+uuid.NewString()[:8]) + "@example.com", Name: "Zone", Password: "a long test password"}
			if tt.scope != "" {
				nu.ScopeKind, nu.Scope = storage.UserScopeStore, tt.scope
			}
			if _, err := c.DB.AddUser(ctx, nu); err != nil {
				t.Fatal(err)
			}
			page := pageAs(t, c.URL, nu.Email, nu.Password, tt.path)
			if !strings.Contains(page, `name="to" value="`+tt.today+`"`) || !strings.Contains(page, tt.says) {
				t.Errorf("%q on %s: want to = %s and %q\n%s", tt.scope, tt.path, tt.today, tt.says, filters(page))
			}
		}
	})
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// pageAs signs in through the sign-in form, as a browser does, and returns the page at path.
func pageAs(t *testing.T, base, email, password, path string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	get := func(target string) string {
		resp, err := hc.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	m := csrfInput.FindStringSubmatch(get(base + "/login"))
	if m == nil {
		t.Fatal("no CSRF field on the sign-in form")
	}
	resp, err := hc.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in as %s: %d", email, resp.StatusCode)
	}
	return get(base + path)
}

// filters is the period form of a page, for a failure's message.
func filters(page string) string {
	_, form, _ := strings.Cut(page, `class="filters"`)
	form, _, _ = strings.Cut(form, "</form>")
	return form
}
