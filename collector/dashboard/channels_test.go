package dashboard_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// addChannelResponses answers through survey links beside the kiosks, over the last four
// weeks: QR codes at the checkout of S001–S006 do worse than the kiosks, e-mails after
// delivery in S001, S003 and S005 about as well, a handful of web answers at pickup and
// SMS in S001 and S004. S001 has every channel; S008 kiosks only.
func addChannelResponses(t *testing.T, svc *collector.Service) {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(15, 15))
	now := svc.Now()
	comments := map[string]string{"qr": "Scanned the code on my receipt: the till queue again.", "email": "Delivered on time, well packed."}
	add := func(store, channel, touchpoint string, n, bias int) {
		t.Helper()
		l, err := svc.AddLink(ctx, storage.NewLink{StoreID: store, Channel: channel, Touchpoint: touchpoint})
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			r := collectortest.Response(rng, now.Add(-time.Duration(1+rng.IntN(27*24*60))*time.Minute))
			r.Score = retailScore(rng, bias)
			if rng.IntN(3) == 0 {
				r.Comment = comments[channel]
			}
			if _, err := svc.IngestFromLink(ctx, l, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	add("S001", "qr", "checkout", 40, -3)
	add("S001", "email", "delivery", 35, 0)
	add("S001", "web", "pickup", 6, 0)
	add("S001", "sms", "", 4, -1)
	for i := 2; i <= 6; i++ {
		add(fmt.Sprintf("S%03d", i), "qr", "checkout", 25, -2)
	}
	add("S003", "email", "delivery", 20, 0)
	add("S005", "email", "delivery", 20, 0)
	add("S004", "sms", "", 35, -1)
}

// channelRow matches a row of a channel table: its name, NPS and responses.
var channelRow = regexp.MustCompile(`<tr(?: class="(higher|lower)")?>\s*<th scope="row" class="name">(?:<a href="/\?([^"]*)">)?([^<]+)(?:</a>)?</th>\s*` +
	`<td class="num figure"><span class="narrow-only">NPS </span>([^<]+)</td>\s*<td class="num figure"><span class="narrow-only">± </span>([^<]+)</td>\s*` +
	`<td class="num figure"><span class="narrow-only">· n = </span>(\d+)</td>\s*<td class="num diff"><span class="narrow-only">Against the rest: </span>([^<]+)</td>\s*` +
	`<td class="verdict">(.*?)</td>`)

type shownRow struct{ mark, link, name, nps, moe, n, diff, verdict string }

func channelRows(page string) []shownRow {
	var out []shownRow
	for _, m := range channelRow.FindAllStringSubmatch(page, -1) {
		out = append(out, shownRow{m[1], html.UnescapeString(m[2]), m[3], html.UnescapeString(m[4]), m[5], m[6], html.UnescapeString(m[7]),
			regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[8], "")})
	}
	return out
}

// The Channels page shows the same figures as the API's channel report, for the chain and
// for one store, with the verdict in words; its filters survive a round trip into the
// rows' links, and a label that is not one is refused, not echoed.
func TestDashboardChannels(t *testing.T) {
	e := newDashboardEnv(t)
	hq := e.client(t, e.hq)
	for _, scope := range []string{"", "S001"} {
		path := "/channels"
		if scope != "" {
			path += "?store=" + scope
		}
		code, page := fetch(t, hq, e.srv.URL+path)
		if code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		for by, table := range map[string]string{"channel": "channels", "touchpoint": "touchpoints"} {
			var api channelsAPI
			apiGet(t, e.srv.URL, "/v1/reports/"+table+"?store="+scope, e.apiToken, &api)
			start := strings.Index(page, `id="`+by+`-table"`)
			if start < 0 {
				t.Fatalf("%s: no %s table", path, by)
			}
			shown := channelRows(page[start:])
			if by == "channel" {
				shown = shown[:len(api.Rows)] // the touchpoint table follows
			}
			if len(shown) != len(api.Rows) {
				t.Fatalf("%s by %s: %d rows shown, the API has %d", path, by, len(shown), len(api.Rows))
			}
			for i, r := range api.Rows {
				s := shown[i]
				name := r.Label
				if name == "" {
					name = "none named"
				}
				if s.name != name || s.nps != fmt.Sprintf("%+.1f", r.NPS) || s.moe != fmt.Sprintf("%.1f", r.MarginOfError) || s.n != fmt.Sprint(r.Responses) {
					t.Errorf("%s by %s row %d shows %+v; the API has %+v", path, by, i, s, r)
				}
				if r.VsRest != nil && s.diff != fmt.Sprintf("%+.1f ± %.1f", r.VsRest.Difference, r.VsRest.DifferenceMargin) {
					t.Errorf("%s %s: difference %q, the API %+v", path, name, s.diff, *r.VsRest)
				}
				switch c := r.VsRest; {
				case c == nil:
				case c.Significant && c.Difference < 0:
					if s.mark != "lower" || !strings.Contains(s.verdict, "Lower than the other "+by+"s: a real difference") {
						t.Errorf("%s %s: significantly lower, shown as %q %q", path, name, s.mark, s.verdict)
					}
				case c.Significant:
					if s.mark != "higher" || !strings.Contains(s.verdict, "Higher than") {
						t.Errorf("%s %s: significantly higher, shown as %q %q", path, name, s.mark, s.verdict)
					}
				case !c.Comparable:
					if s.mark != "" || !strings.HasPrefix(s.verdict, "Too few responses to compare") {
						t.Errorf("%s %s: %d vs %d responses, shown as %q %q", path, name, r.Responses, c.Responses, s.mark, s.verdict)
					}
				default:
					if s.mark != "" || !strings.HasPrefix(s.verdict, "No clear difference") {
						t.Errorf("%s %s: no significant difference, shown as %q %q", path, name, s.mark, s.verdict)
					}
				}
				if by == "channel" {
					link, _ := url.ParseQuery(s.link)
					if link.Get("channel") != r.Label || link.Get("store") != scope || link.Get("from") == "" {
						t.Errorf("%s %s links to /?%s", path, name, s.link)
					}
				}
			}
			if by == "channel" && scope == "" {
				// The data set is built so: QR much worse than the rest, web too thin to tell.
				verdicts := map[string]string{}
				for _, s := range shown {
					verdicts[s.name] = s.verdict
				}
				if !strings.HasPrefix(verdicts["qr"], "▼ Lower") || !strings.HasPrefix(verdicts["web"], "Too few") {
					t.Errorf("chain verdicts: %q", verdicts)
				}
			}
		}
	}

	// The filters round-trip: chosen options stay chosen and the rows' links keep them.
	from, to := time.Now().AddDate(0, -3, 0).Format(time.DateOnly), time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	code, page := fetch(t, hq, e.srv.URL+"/channels?store=S001&channel=qr&from="+from+"&to="+to)
	if code != 200 {
		t.Fatalf("filtered channels page: %d", code)
	}
	for _, want := range []string{`<option value="S001" selected>`, `<option value="qr" selected>qr</option>`,
		`value="` + from + `"`, `href="/?channel=qr&amp;from=` + from + `&amp;store=S001&amp;to=` + to + `&amp;touchpoint=checkout"`} {
		if !strings.Contains(page, want) {
			t.Errorf("filtered channels page lacks %s", want)
		}
	}
	if rows := channelRows(page); len(rows) != 2 || rows[0].name != "qr" || rows[0].diff != "–" || !strings.HasPrefix(rows[0].verdict, "Nothing to compare") {
		t.Errorf("S001's QR alone: %+v", rows)
	}
	// A label that is not one is refused with 400, and the page does not echo it.
	for _, bad := range []string{"/channels?channel=%3Cx-echo%3E", "/channels?touchpoint=Check%20out%3Cx-echo%3E", "/?channel=QR%3Cx-echo%3E",
		"/stores?touchpoint=%22%3E%3Cx-echo%3E", "/comments?channel=a%27b%3Cx-echo%3E", "/cases?channel=%3Cx-echo%3E",
		"/stores?segment=%3Cx-echo%3E", "/?format=Big%3Cx-echo%3E", "/channels?min_n=%3Cx-echo%3E"} {
		code, page := fetch(t, hq, e.srv.URL+bad)
		if code != 400 || strings.Contains(page, "<x-echo>") {
			t.Errorf("GET %s: %d, want 400 without the value echoed", bad, code)
		}
	}
}

// channelsAPI is the body of GET /v1/reports/channels.
type channelsAPI struct {
	collector.ChannelReport
}

// The channel and touchpoint filters reach every page and export: the overview, the
// stores table, a store's page (which compares its channels when it has more than kiosks),
// comments with their channel, the follow-ups with theirs, and the CSV links.
func TestDashboardChannelFilters(t *testing.T) {
	e := newDashboardEnv(t)
	hq := e.client(t, e.hq)
	var qr storage.NPSReport
	apiGet(t, e.srv.URL, "/v1/reports/nps?channel=qr&touchpoint=checkout", e.apiToken, &qr)
	if qr.Responses != 165 {
		t.Fatalf("QR at checkout: %d responses, want 165", qr.Responses)
	}
	_, overview := fetch(t, hq, e.srv.URL+"/?channel=qr&touchpoint=checkout")
	for _, want := range []string{fmt.Sprintf(`<div class="value" id="nps">%+.1f</div>`, qr.NPS), fmt.Sprintf(`id="responses">%d<`, qr.Responses),
		"<h1>Overview · qr at checkout</h1>", `<option value="qr" selected>`, `<option value="checkout" selected>`} {
		if !strings.Contains(overview, want) {
			t.Errorf("overview filtered to QR lacks %s", want)
		}
	}

	// The segment, format and min_n the address chose stay in the page's links.
	_, segStores := fetch(t, hq, e.srv.URL+"/stores?segment=vip&format=express&min_n=10")
	for _, want := range []string{"format=express", "segment=vip", "min_n=10"} {
		if !strings.Contains(segStores, `href="/export/stores.csv?`) || !strings.Contains(segStores, want) {
			t.Errorf("the stores page's links drop %s", want)
		}
	}

	_, stores := fetch(t, hq, e.srv.URL+"/stores?channel=email&sort=-nps")
	if !strings.Contains(stores, `href="/export/stores.csv?channel=email&amp;`) {
		t.Error("the stores export link drops the channel")
	}
	rows := exportRows(t, hq, e.srv.URL+"/export/stores.csv?channel=email")
	withEmail := 0
	for _, r := range rows[1:] {
		if r[5] != "0" {
			withEmail++
		}
	}
	if withEmail != 3 {
		t.Errorf("stores with e-mail answers in the CSV: %d, want 3 (S001, S003, S005)", withEmail)
	}

	_, s1 := fetch(t, hq, e.srv.URL+"/stores/S001")
	if !strings.Contains(s1, `<h2 id="by-channel">Channels</h2>`) || len(channelRows(s1)) != 5 {
		t.Errorf("S001's page compares %d channels, want kiosk, qr, email, web and sms", len(channelRows(s1)))
	}
	if _, s8 := fetch(t, hq, e.srv.URL+"/stores/S008"); strings.Contains(s8, `id="by-channel"`) {
		t.Error("S008 has kiosks only, yet its page shows a channel table")
	}

	_, comments := fetch(t, hq, e.srv.URL+"/comments?channel=qr")
	if n := strings.Count(comments, `<div class="comment">`); n == 0 || n != strings.Count(comments, " · qr at checkout") {
		t.Errorf("QR comments: %d shown, %d of them said to be from QR at checkout", n, strings.Count(comments, " · qr at checkout"))
	}
	if !strings.Contains(comments, `href="/export/comments.csv?channel=qr&amp;`) {
		t.Error("the comments export link drops the channel")
	}
	for _, r := range exportRows(t, hq, e.srv.URL+"/export/comments.csv?channel=qr")[1:] {
		if r[9] != "qr" || r[10] != "checkout" {
			t.Fatalf("comments.csv for QR has %v", r)
		}
	}

	cases, err := e.db.Cases(context.Background(), storage.CaseFilter{Channel: "qr", Limit: 500})
	if err != nil || len(cases) == 0 {
		t.Fatalf("QR cases: %d, %v", len(cases), err)
	}
	_, list := fetch(t, hq, e.srv.URL+"/cases?channel=qr")
	if n := len(caseLink.FindAllString(list, -1)); n != len(cases) || strings.Count(list, "qr</span>")+strings.Count(list, "qr at checkout</span>") != n {
		t.Errorf("the Follow-ups page for QR lists %d cases (%d said to be QR); storage has %d", n, strings.Count(list, "qr at checkout</span>"), len(cases))
	}
	if !strings.Contains(list, `<option value="qr" selected>`) || !strings.Contains(list, `href="/export/cases.csv?channel=qr"`) {
		t.Error("the Follow-ups page loses the channel filter")
	}
	csvCases := exportRows(t, hq, e.srv.URL+"/export/cases.csv?channel=qr")
	if len(csvCases) != len(cases)+1 || csvCases[1][13] != "qr" {
		t.Errorf("cases.csv for QR: %d rows, want %d", len(csvCases)-1, len(cases))
	}
	_, one := fetch(t, hq, e.srv.URL+"/cases/"+cases[0].ID)
	if !strings.Contains(one, `<dd id="channel">qr at checkout</dd>`) {
		t.Error("a QR case's page does not say its channel")
	}
}

// exportRows reads a CSV export.
func exportRows(t *testing.T, c *http.Client, target string) [][]string {
	t.Helper()
	code, body := fetch(t, c, target)
	if code != 200 {
		t.Fatalf("GET %s: %d", target, code)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("GET %s: %d rows, %v", target, len(rows), err)
	}
	return rows
}
