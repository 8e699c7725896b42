package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// key add makes site and app keys (a site key prints its embed code and the CSP lines),
// key list shows them apart from survey links, key disable closes one and refuses a
// survey link.
func TestKeyCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append(args, "--db", db), &out, &errOut)
		return out.String(), err
	}
	created, err := storage.Open(context.Background(), storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	if _, err := run("store", "add", "--id", "WEB", "--name", "Web shop", "--timezone", "Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NPSCOLLECTOR_PUBLIC_URL", "")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"key", "add", "--store", "WEB"}, "--kind site"},
		{[]string{"key", "add", "--kind", "link", "--store", "WEB"}, "--kind site"},
		{[]string{"key", "add", "--kind", "site", "--store", "WEB"}, "origins"},
		{[]string{"key", "add", "--kind", "site", "--store", "WEB", "--origin", "http://shop.example.com"}, "https"},
		{[]string{"key", "add", "--kind", "site", "--store", "NOPE", "--origin", "https://shop.example.com"}, "not found"},
		{[]string{"key", "add", "--kind", "app", "--store", "WEB", "--bundle-id", "not an app"}, "reverse-DNS"},
		{[]string{"key", "add", "--kind", "site", "--store", "WEB", "--origin", "https://shop.example.com", "--public-url", "shop"}, "public URL"},
		{[]string{"key", "disable"}, "one key"},
		{[]string{"key", "disable", "zzzzzzzz"}, "not found"},
	} {
		if _, err := run(tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error about %q", tt.args, err, tt.want)
		}
	}

	text, err := run("key", "add", "--kind", "site", "--store", "WEB", "--touchpoint", "checkout",
		"--origin", "https://shop.example.com", "--origin", "https://www.example.com:443/", "--rate", "120", "--label", "Order confirmation",
		"--public-url", "https://nps.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	var site string
	for _, f := range strings.Fields(text) {
		if k, ok := strings.CutPrefix(f, `data-key="`); ok {
			site = strings.TrimSuffix(k, `"`)
		}
	}
	for _, want := range []string{"site key " + site + " for store WEB (web, checkout), at most 120 posts a minute",
		"answers from https://shop.example.com, https://www.example.com",
		`<script src="https://nps.example.com/w/widget.js" data-key="` + site + `" data-touchpoint="checkout"`,
		`<iframe src="https://nps.example.com/w/frame?key=` + site,
		"script-src https://nps.example.com; connect-src https://nps.example.com; style-src https://nps.example.com; frame-src https://nps.example.com"} {
		if !storage.ValidLinkCode(site) || !strings.Contains(text, want) {
			t.Errorf("key add printed no %q:\n%s", want, text)
		}
	}
	// An app key, by JSON; the channel defaults to app.
	js, err := run("key", "add", "--kind", "app", "--store", "WEB", "--bundle-id", "com.example.shop", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var app storage.Link
	if err := json.Unmarshal([]byte(js), &app); err != nil || app.Kind != "app" || app.Channel != "app" || len(app.BundleIDs) != 1 {
		t.Fatalf("key add --kind app --json: %+v, %v\n%s", app, err, js)
	}
	if _, err := run("link", "add", "--store", "WEB", "--base-url", "https://nps.example.com", "--out", dir); err != nil {
		t.Fatal(err)
	}

	list, err := run("key", "list")
	if err != nil || strings.Count(list, "\n") != 3 || !strings.Contains(list, site) || !strings.Contains(list, app.Code) ||
		!strings.Contains(list, "com.example.shop") || !strings.Contains(list, "https://shop.example.com https://www.example.com") {
		t.Fatalf("key list: %v\n%s", err, list)
	}
	if links, _ := run("link", "list"); strings.Contains(links, site) || strings.Count(links, "\n") != 2 {
		t.Errorf("link list shows keys:\n%s", links)
	}
	var survey storage.Link
	links, _ := run("link", "list", "--json")
	var rows []storage.Link
	if err := json.Unmarshal([]byte(links), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("link list --json: %v\n%s", err, links)
	}
	survey = rows[0]
	if _, err := run("key", "disable", survey.Code); err == nil || !strings.Contains(err.Error(), "link disable") {
		t.Errorf("key disable of a survey link: %v", err)
	}
	if text, err := run("key", "disable", site); err != nil || !strings.Contains(text, "disabled site key "+site) {
		t.Fatalf("key disable: %v, %s", err, text)
	}
	if list, _ := run("key", "list", "--store", "WEB"); !strings.Contains(list, "disabled ") {
		t.Errorf("key list does not say the key is disabled:\n%s", list)
	}
	if list, _ := run("key", "list", "--store", "OTHER", "--json"); strings.TrimSpace(list) != "[]" {
		t.Errorf("key list of a store without keys: %s", list)
	}
}
