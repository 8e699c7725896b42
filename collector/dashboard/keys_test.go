package dashboard_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

var addedKey = regexp.MustCompile(`id="added-key"[\s\S]*?Site key ([a-z0-9]{8}) added`)

// keyRowOf is a key's row in the page.
func keyRowOf(body, code string) string {
	_, rest, ok := strings.Cut(body, `id="key-`+code+`"`)
	if !ok {
		return ""
	}
	row, _, _ := strings.Cut(rest, "</tr>")
	return row
}

// The Links page lists site and app keys apart from survey links (kind, store, channel,
// touchpoint, origins or apps, answers), adds a site key (CSRF, checked input) and shows
// its embed code with the public URL, disables one; keys have no QR code to print, and
// only chain-wide sign-ins may add them.
func TestKeysOnTheLinksPage(t *testing.T) {
	e := newLinksEnv(t, "https://nps.example.com")
	ctx := context.Background()
	app, err := e.c.DB.AddLink(ctx, storage.NewLink{Kind: "app", StoreID: "S002", Channel: "app", BundleIDs: []string{"com.example.shop"}})
	if err != nil {
		t.Fatal(err)
	}
	code, body := fetch(t, e.hq, e.url+"/links")
	if code != 200 || !strings.Contains(body, `id="no-links"`) || !strings.Contains(keyRowOf(body, app.Code), "com.example.shop") {
		t.Fatalf("links page with an app key: %d\n%s", code, body)
	}
	form := url.Values{"store": {"S001"}, "origins": {"https://shop.example.com\nhttps://www.example.com"}, "touchpoint": {"checkout"},
		"rate": {"120"}, "label": {"Order confirmation"}}
	if code, _ := postForm(t, e.hq, e.url+"/links/keys", form); code != http.StatusForbidden {
		t.Errorf("add without CSRF: %d, want 403", code)
	}
	form.Set("csrf", e.csrf(t))
	for _, tt := range []struct{ field, value, want string }{
		{"origins", "", "origins"},
		{"origins", "http://shop.example.com", "https"},
		{"origins", "https://shop.example.com/checkout", "scheme://host"},
		{"rate", "fast", "whole number"},
		{"touchpoint", "Check Out", "touchpoint"},
		{"store", "S999", "no store"},
	} {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set(tt.field, tt.value)
		code, body := postForm(t, e.hq, e.url+"/links/keys", bad)
		if code != http.StatusBadRequest || !strings.Contains(body, "The key was not added") || !strings.Contains(body, tt.want) ||
			!strings.Contains(body, `value="Order confirmation"`) {
			t.Errorf("%s %q: %d\n%s", tt.field, tt.value, code, body)
		}
	}
	if code, _ := postForm(t, e.north, e.url+"/links/keys", form); code != http.StatusForbidden {
		t.Errorf("a region's sign-in adds a key: %d", code)
	}
	code, body = postForm(t, e.hq, e.url+"/links/keys", form)
	m := addedKey.FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("add: %d\n%s", code, body)
	}
	key, err := e.c.DB.LinkByCode(ctx, m[1])
	if err != nil || key.Kind != "site" || key.Channel != "web" || key.Touchpoint != "checkout" || key.RatePerMinute != 120 || len(key.Origins) != 2 {
		t.Fatalf("the key added: %+v, %v", key, err)
	}
	for _, want := range []string{`&lt;script src=&#34;https://nps.example.com/w/widget.js&#34; data-key=&#34;` + key.Code,
		"https://nps.example.com/w/frame?key=" + key.Code, "connect-src https://nps.example.com"} {
		if !strings.Contains(body, want) {
			t.Errorf("the embed code lacks %q", want)
		}
	}
	row := keyRowOf(body, key.Code)
	for _, want := range []string{">site<", "S001", ">web<", ">checkout<", "https://shop.example.com", "https://www.example.com", "120 a minute", "Open", "</span>0</td>"} {
		if !strings.Contains(row, want) {
			t.Errorf("the key's row lacks %q:\n%s", want, row)
		}
	}
	if rowOf(body, key.Code) != "" || strings.Contains(body, "/s/"+key.Code) {
		t.Error("a key is listed as a survey link")
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for range 2 {
		if _, err := e.c.Service.IngestFromLink(ctx, key, collectortest.Response(rng, time.Now().Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if _, body := fetch(t, e.hq, e.url+"/links"); !strings.Contains(keyRowOf(body, key.Code), "</span>2</td>") {
		t.Errorf("2 answers not shown:\n%s", keyRowOf(body, key.Code))
	}
	if status, _, _ := e.get(t, e.hq, "/links/"+key.Code+"/qr.png"); status != http.StatusNotFound {
		t.Errorf("a key's QR code: %d, want 404", status)
	}
	code, body = postForm(t, e.hq, e.url+"/links/"+key.Code+"/disable", url.Values{"csrf": {form.Get("csrf")}})
	if row := keyRowOf(body, key.Code); code != 200 || !strings.Contains(row, "Disabled") || strings.Contains(row, "Embed code") {
		t.Errorf("disable: %d\n%s", code, row)
	}
}
