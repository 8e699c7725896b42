package collector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/appapi"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/widget"
	"github.com/npskiosk/npskiosk/pii"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// rawData are what shoppers typed on every channel; none of it may reach storage, the
// comments API or the CSV export.
var rawData = []string{"jo.raw@example.com", "+44 20 7946 0958", "4111 1111 1111 1111", "LC1234567890", "06 12 34 56 78"}

const (
	rawComment = "mail jo.raw@example.com or call +44 20 7946 0958, card 4111 1111 1111 1111, points LC1234567890"
	wantMasked = "mail [email] or call [phone], card [card], points [loyalty]"
	rawAnswer  = "call 06 12 34 56 78"
)

// Every channel's comment and text answer is masked at ingest: a kiosk of a build that
// sent it raw, a survey link (the web survey's path), an e-mail invitation's follow-up,
// the website widget over HTTP, and the app API over HTTP. The comments API, the CSV
// export and /metrics say so.
func TestIngestMasksEveryChannel(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		c.AddStore(t, storage.Store{ID: "S1"})
		sv, err := c.DB.Survey(ctx, "S1")
		if err != nil {
			t.Fatal(err)
		}
		sv.Privacy.Mask = []pii.Pattern{{Name: "loyalty", Pattern: `\bLC\d{10}\b`}}
		sv.Questions = []response.Question{{Key: "better", Kind: response.QuestionText, Labels: map[string]string{sv.Languages[0]: "Better?"}}}
		if _, err := c.Service.SetSurvey(ctx, sv, []string{"S1"}); err != nil {
			t.Fatal(err)
		}
		sv, _ = c.DB.Survey(ctx, "S1")
		now := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
		answer := func() wire.Response {
			return wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: 3, Reasons: []string{}, Locale: "en",
				SurveyVersion: sv.Version, CreatedAt: now, CompletedAt: now.Add(10 * time.Second), Outcome: response.OutcomeSubmitted,
				Comment: rawComment, Answers: map[string][]string{"better": {rawAnswer}}}
		}
		ids := map[string]string{} // channel → response id

		// A kiosk that does not mask, over HTTP.
		dev := c.Enroll(t, "S1", "till 1")
		k := answer()
		res, err := collectortest.Upload(ctx, c.URL, dev.Token, []wire.Response{k})
		if err != nil || len(res.Accepted) != 1 {
			t.Fatalf("kiosk upload: %+v, %v", res, err)
		}
		ids["kiosk"] = k.ID
		// Its retry, raw again, is still the same content.
		if res, err := collectortest.Upload(ctx, c.URL, dev.Token, []wire.Response{k}); err != nil || len(res.Duplicate) != 1 {
			t.Fatalf("kiosk retry: %+v, %v", res, err)
		}

		// A survey link: the score, then the follow-up revising it, as the web survey does.
		link, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: "web"})
		if err != nil {
			t.Fatal(err)
		}
		w := answer()
		w.Comment, w.Answers = "", nil
		if _, err := c.Service.IngestFromLink(ctx, link, w); err != nil {
			t.Fatal(err)
		}
		w.Comment, w.Answers = rawComment, map[string][]string{"better": {rawAnswer}}
		if _, err := c.Service.ReviseFromLink(ctx, link, w); err != nil {
			t.Fatal(err)
		}
		ids["web"] = w.ID

		// An e-mail invitation: the score from the e-mail, then the follow-up page.
		inv, _, err := c.DB.AddInvitation(ctx, storage.NewInvitation{StoreID: "S1", Address: "invited@example.com", Language: "en",
			ExpiresAt: time.Now().Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Service.AnswerInvitation(ctx, inv, 3); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Service.FollowUpInvitation(ctx, inv, response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: rawComment}); err != nil {
			t.Fatal(err)
		}
		ids["email"] = inv.ResponseID

		// The website widget, over HTTP.
		const shop = "https://shop.example.com"
		site, err := c.DB.AddLink(ctx, storage.NewLink{Kind: storage.LinkKindSite, StoreID: "S1", Channel: "site", Origins: []string{shop}})
		if err != nil {
			t.Fatal(err)
		}
		wg, err := widget.New(widget.Config{Service: c.Service, ClientBurst: 100, ClientRate: 100})
		if err != nil {
			t.Fatal(err)
		}
		wg.Register(c.API)
		wa := widget.Answer{ID: uuid.Must(uuid.NewV7()).String(), Score: 3, Locale: "en", SurveyVersion: sv.Version,
			Outcome: "submitted", Comment: rawComment, Answers: map[string][]string{"better": {rawAnswer}}}
		if code, body := post(t, c.URL+"/w/v1/responses?key="+url.QueryEscape(site.Code), map[string]string{"Origin": shop}, wa); code != http.StatusCreated {
			t.Fatalf("widget: %d %s", code, body)
		}
		ids["site"] = wa.ID

		// The app API, over HTTP.
		app := appRig(t, c)
		aa := answer()
		if code, body := post(t, c.URL+"/v1/app/responses", map[string]string{"Authorization": "Bearer " + app.Code,
			appapi.HeaderBundleID: "com.example.shop"}, wire.UploadRequest{Responses: []wire.Response{aa}}); code != http.StatusOK || !strings.Contains(body, aa.ID) {
			t.Fatalf("app API: %d %s", code, body)
		}
		ids["app"] = aa.ID

		// Storage holds the masked text, and the contact-free text answer masked too.
		for channel, id := range ids {
			var comment, answers string
			if err := c.DB.RawQueryRow(ctx, `SELECT comment, answers FROM responses WHERE id = ?`, id).Scan(&comment, &answers); err != nil {
				t.Fatalf("%s: %v", channel, err)
			}
			if comment != wantMasked {
				t.Errorf("%s: stored comment %q, want %q", channel, comment, wantMasked)
			}
			if channel != "email" && !strings.Contains(answers, "call [phone]") {
				t.Errorf("%s: stored answers %s", channel, answers)
			}
			for _, raw := range rawData {
				if strings.Contains(comment+answers, raw) {
					t.Errorf("%s: %q stored", channel, raw)
				}
			}
		}

		// The comments API and the CSV export.
		from, to := time.Now().AddDate(0, 0, -7).Format(time.DateOnly), time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
		code, body := get(t, c.URL+"/v1/comments?from="+from+"&to="+to+"&limit=500", map[string]string{"Authorization": "Bearer " + c.APIToken(t, "")})
		if code != http.StatusOK || strings.Count(body, wantMasked) != len(ids) {
			t.Errorf("comments API: %d, %d masked comments, want %d\n%s", code, strings.Count(body, wantMasked), len(ids), body)
		}
		csvCode, csv := get(t, c.URL+"/export/comments.csv?from="+from+"&to="+to, map[string]string{"Cookie": dashboard.SessionCookie + "=" + c.Session(t, "")})
		if csvCode != http.StatusOK || strings.Count(csv, wantMasked) != len(ids) {
			t.Errorf("comments.csv: %d, %d masked comments, want %d\n%s", csvCode, strings.Count(csv, wantMasked), len(ids), csv)
		}
		for _, raw := range rawData {
			if strings.Contains(body, raw) || strings.Contains(csv, raw) {
				t.Errorf("%q in the comments API or CSV", raw)
			}
		}

		// /metrics counts what was masked, by category: five channels' comments, and the
		// text answers of the four that have one.
		_, metrics := get(t, c.MetricsURL, nil)
		for _, want := range []string{`npscollector_pii_masked_total{category="email"} 5`, `npscollector_pii_masked_total{category="card"} 5`,
			`npscollector_pii_masked_total{category="loyalty"} 5`, `npscollector_pii_masked_total{category="phone"} 9`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s:\n%s", want, grepLines(metrics, "pii"))
			}
		}
	})
}

func post(t *testing.T, target string, header map[string]string, v any) (int, string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, http.MethodPost, target, header, bytes.NewReader(b))
}

func get(t *testing.T, target string, header map[string]string) (int, string) {
	t.Helper()
	return send(t, http.MethodGet, target, header, nil)
}

func send(t *testing.T, method, target string, header map[string]string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// appRig registers the app API on c and returns an app key of store S1.
func appRig(t *testing.T, c *collectortest.Collector) storage.Link {
	t.Helper()
	api, err := appapi.New(appapi.Config{Service: c.Service, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	api.Register(c.API)
	key, err := c.DB.AddLink(context.Background(), storage.NewLink{Kind: storage.LinkKindApp, StoreID: "S1", Channel: "app",
		BundleIDs: []string{"com.example.shop"}, RatePerMinute: 50})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
