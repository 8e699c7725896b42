package dashboard_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// linksEnv is a dashboard with two stores, a chain-wide person and a region's.
type linksEnv struct {
	c           *collectortest.Collector
	url         string
	hq, north   *http.Client
	storeReader *http.Client
}

func newLinksEnv(t *testing.T, publicURL string) *linksEnv {
	t.Helper()
	ctx := context.Background()
	c := collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S001", Name: "Main Street", Region: "North"})
	c.AddStore(t, storage.Store{ID: "S002", Name: "Harbour", Region: "South", Timezone: "America/New_York"})
	mux := http.NewServeMux()
	dashboard.New(dashboard.Config{Service: c.Service, Logger: slog.New(slog.DiscardHandler), PublicURL: publicURL}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &linksEnv{c: c, url: srv.URL}
	session := func(nu storage.NewUser) *http.Client {
		nu.Password = password
		u, err := c.DB.AddUser(ctx, nu)
		if err != nil {
			t.Fatal(err)
		}
		token, _, err := c.DB.NewSession(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return e.client(token)
	}
	e.hq = session(storage.NewUser{Email: "hq@example.com", Name: "HQ", ScopeKind: storage.UserScopeChain})
	e.north = session(storage.NewUser{Email: "north@example.com", Name: "North", ScopeKind: storage.UserScopeRegion, Scope: "North"})
	e.storeReader = e.client(c.Session(t, "S002"))
	return e
}

func (e *linksEnv) client(secret string) *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.url)
	jar.SetCookies(u, []*http.Cookie{{Name: dashboard.SessionCookie, Value: secret}})
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func (e *linksEnv) csrf(t *testing.T) string {
	t.Helper()
	code, body := fetch(t, e.hq, e.url+"/links")
	m := csrfField.FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("links page: %d, no CSRF field", code)
	}
	return m[1]
}

// get fetches a file and says its type and disposition.
func (e *linksEnv) get(t *testing.T, c *http.Client, path string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := c.Get(e.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

var addedCode = regexp.MustCompile(`id="added"[\s\S]*?/s/([a-z0-9]{8})`)

// rowOf is a link's row in the page.
func rowOf(body, code string) string {
	_, rest, ok := strings.Cut(body, `id="link-`+code+`"`)
	if !ok {
		return ""
	}
	row, _, _ := strings.Cut(rest, "</tr>")
	return row
}

// The Links page lists links with their channel, touchpoint, state and answers; adds one
// (CSRF, checked input), disables one, and serves its QR code and posters; only
// chain-wide sign-ins may see it.
func TestLinksPage(t *testing.T) {
	e := newLinksEnv(t, "https://nps.example.com")
	ctx := context.Background()
	if code, body := fetch(t, e.hq, e.url+"/links"); code != 200 || !strings.Contains(body, `id="no-links"`) || !strings.Contains(body, `href="/links"`) {
		t.Fatalf("empty links page: %d\n%s", code, body)
	}
	form := url.Values{"store": {"S001"}, "channel": {"qr"}, "touchpoint": {"checkout"}, "label": {"Receipt footer"}, "expires": {"2099-12-31"}}

	// Without the CSRF token nothing is added.
	if code, _ := postForm(t, e.hq, e.url+"/links", form); code != http.StatusForbidden {
		t.Errorf("add without CSRF: %d, want 403", code)
	}
	if links, _ := e.c.DB.Links(ctx, ""); len(links) != 0 {
		t.Fatalf("a link was added without CSRF: %+v", links)
	}
	form.Set("csrf", e.csrf(t))

	// Refused input comes back with what was typed.
	for _, tt := range []struct {
		field, value, want string
	}{
		{"channel", "QR!", "channel"},
		{"channel", "kiosk", "kiosk"},
		{"touchpoint", "check out", "touchpoint"},
		{"expires", "31.12.2099", "YYYY-MM-DD"},
		{"store", "S999", "no store"},
	} {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set(tt.field, tt.value)
		code, body := postForm(t, e.hq, e.url+"/links", bad)
		if code != http.StatusBadRequest || !strings.Contains(body, "The link was not added") || !strings.Contains(body, tt.want) ||
			!strings.Contains(body, `value="Receipt footer"`) {
			t.Errorf("%s %q: %d\n%s", tt.field, tt.value, code, body)
		}
	}

	code, body := postForm(t, e.hq, e.url+"/links", form)
	m := addedCode.FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("add: %d\n%s", code, body)
	}
	link, err := e.c.DB.LinkByCode(ctx, m[1])
	if err != nil || link.StoreID != "S001" || link.Channel != "qr" || link.Touchpoint != "checkout" || link.Label != "Receipt footer" {
		t.Fatalf("the link added: %+v, %v", link, err)
	}
	row := rowOf(body, link.Code)
	for _, want := range []string{"https://nps.example.com/s/" + link.Code, "S001", "Main Street", ">qr<", ">checkout<", "Open until 2099-12-31", "</span>0</td>", "Disable"} {
		if !strings.Contains(row, want) {
			t.Errorf("the new link's row lacks %q:\n%s", want, row)
		}
	}

	// Answers through the link are counted.
	rng := rand.New(rand.NewPCG(9, 9))
	for range 3 {
		if _, err := e.c.Service.IngestFromLink(ctx, link, collectortest.Response(rng, time.Now().Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if _, body := fetch(t, e.hq, e.url+"/links"); !strings.Contains(rowOf(body, link.Code), "</span>3</td>") {
		t.Errorf("3 answers not shown:\n%s", rowOf(body, link.Code))
	}

	// Downloads: the QR code scans to the link's public address; the posters are PDFs.
	status, h, b := e.get(t, e.hq, "/links/"+link.Code+"/qr.png?download=1")
	img, err := png.Decode(bytes.NewReader(b))
	if status != 200 || h.Get("Content-Type") != "image/png" || !strings.Contains(h.Get("Content-Disposition"), link.Code+"-qr.png") || err != nil {
		t.Fatalf("QR PNG: %d %v %v", status, h, err)
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
	if res, err := gozxingqr.NewQRCodeReader().Decode(bmp, nil); err != nil || res.GetText() != "https://nps.example.com/s/"+link.Code {
		t.Errorf("the QR code scans as %v, %v", res, err)
	}
	for kind, want := range map[string]string{"qr.svg": "image/svg+xml", "poster-a4.pdf": "application/pdf", "poster-letter.pdf": "application/pdf"} {
		status, h, b := e.get(t, e.hq, "/links/"+link.Code+"/"+kind)
		if status != 200 || h.Get("Content-Type") != want || len(b) < 1000 {
			t.Errorf("%s: %d %s, %d bytes", kind, status, h.Get("Content-Type"), len(b))
		}
	}
	for _, path := range []string{"/links/" + link.Code + "/poster.docx", "/links/zzzzzzzz/qr.png", "/links/nope/qr.png"} {
		if status, _, _ := e.get(t, e.hq, path); status != 404 {
			t.Errorf("%s: %d, want 404", path, status)
		}
	}

	// Disable: CSRF first, then the link closes and says so.
	if code, _ := postForm(t, e.hq, e.url+"/links/"+link.Code+"/disable", url.Values{}); code != http.StatusForbidden {
		t.Errorf("disable without CSRF: %d", code)
	}
	code, body = postForm(t, e.hq, e.url+"/links/"+link.Code+"/disable", url.Values{"csrf": {form.Get("csrf")}})
	row = rowOf(body, link.Code)
	if code != 200 || !strings.Contains(row, "Disabled ") || strings.Contains(row, ">Disable<") || strings.Contains(row, `class="qr"`) {
		t.Errorf("after disabling: %d\n%s", code, row)
	}
	if l, _ := e.c.DB.LinkByCode(ctx, link.Code); l.Open(time.Now()) == nil {
		t.Error("the link still takes answers")
	}
	if code, _ := postForm(t, e.hq, e.url+"/links/zzzzzzzz/disable", url.Values{"csrf": {form.Get("csrf")}}); code != http.StatusNotFound {
		t.Errorf("disable an unknown link: %d", code)
	}

	// A region's person and a store's token may not see or change links.
	for name, c := range map[string]*http.Client{"region": e.north, "store token": e.storeReader} {
		if code, body := fetch(t, c, e.url+"/links"); code != http.StatusForbidden || !strings.Contains(body, "whole chain") {
			t.Errorf("%s: links page %d", name, code)
		}
		if code, _ := postForm(t, c, e.url+"/links", form); code != http.StatusForbidden {
			t.Errorf("%s: add %d", name, code)
		}
		if status, _, _ := e.get(t, c, "/links/"+link.Code+"/qr.png"); status != http.StatusForbidden {
			t.Errorf("%s: download %d", name, status)
		}
		if _, body := fetch(t, c, e.url+"/"); strings.Contains(body, `href="/links"`) {
			t.Errorf("%s: the menu offers Links", name)
		}
	}
	if n := len(mustLinks(t, e)); n != 1 {
		t.Errorf("%d links, want 1", n)
	}
}

func mustLinks(t *testing.T, e *linksEnv) []storage.Link {
	t.Helper()
	l, err := e.c.DB.Links(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Without a public URL the page says the addresses are the ones it was opened at.
func TestLinksPageWithoutPublicURL(t *testing.T) {
	e := newLinksEnv(t, "")
	l, err := e.c.DB.AddLink(context.Background(), storage.NewLink{StoreID: "S002", Channel: "sms"})
	if err != nil {
		t.Fatal(err)
	}
	_, body := fetch(t, e.hq, e.url+"/links")
	if !strings.Contains(body, `id="base-guess"`) || !strings.Contains(rowOf(body, l.Code), e.url+"/s/"+l.Code) {
		t.Errorf("links page without --public-url:\n%s", body)
	}
	// A New York store's link added with its last day: the day on its own clock.
	code, body := postForm(t, e.hq, e.url+"/links", url.Values{"csrf": {e.csrf(t)}, "store": {"S002"}, "channel": {"web"}, "expires": {"2099-06-30"}})
	m := addedCode.FindStringSubmatch(body)
	if code != 200 || m == nil || !strings.Contains(rowOf(body, m[1]), "Open until 2099-06-30") {
		t.Errorf("a New York link until 2099-06-30: %d\n%s", code, body)
	}
}

// TestLinksPageScreenshots renders the Links page at desktop and phone width. With
// UPDATE_SCREENSHOTS=1 it writes them to docs/screenshots (make screenshots does).
func TestLinksPageScreenshots(t *testing.T) {
	e := newLinksEnv(t, "https://nps.example.com")
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(4, 4))
	for i, nl := range []storage.NewLink{
		{StoreID: "S001", Channel: "qr", Touchpoint: "checkout", Label: "Receipt footer, tills 1–4"},
		{StoreID: "S002", Channel: "qr", Touchpoint: "returns", Label: "Returns desk poster", ExpiresAt: time.Now().AddDate(0, 2, 0)},
		{StoreID: "S001", Channel: "sms", Touchpoint: "pickup", Label: "Click & collect text"},
	} {
		l, err := e.c.DB.AddLink(ctx, nl)
		if err != nil {
			t.Fatal(err)
		}
		for range []int{23, 7, 41}[i] {
			if _, err := e.c.Service.IngestFromLink(ctx, l, collectortest.Response(rng, time.Now().Add(-time.Hour))); err != nil {
				t.Fatal(err)
			}
		}
		if i == 2 {
			if _, err := e.c.DB.DisableLink(ctx, l.Code); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := browser(t)
	if err := signIn(b, e.url, e.c.Session(t, "")); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int64{1280, 390} {
		var png []byte
		if err := chromedp.Run(b,
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(e.url+"/links"),
			chromedp.WaitVisible("#links", chromedp.ByID),
			chromedp.FullScreenshot(&png, 100),
		); err != nil {
			t.Fatal(err)
		}
		if len(png) < 1000 {
			t.Fatalf("links at %d: empty screenshot", width)
		}
		if os.Getenv("UPDATE_SCREENSHOTS") != "" {
			if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", fmt.Sprintf("dashboard_links_%d.png", width)), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
