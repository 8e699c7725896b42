package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// link add makes a link, prints its URL and writes its QR code and posters; link list
// shows it with its state and answers; link disable closes it.
func TestLinkCommands(t *testing.T) {
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
	if _, err := run("store", "add", "--id", "S042", "--name", "Main Street", "--timezone", "Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NPSCOLLECTOR_PUBLIC_URL", "")

	// Refusals, before anything is made.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"link", "add", "--store", "S042"}, "--base-url"},
		{[]string{"link", "add", "--store", "S042", "--base-url", "nps.example.com"}, "public URL"},
		{[]string{"link", "add", "--store", "S042", "--base-url", "https://nps.example.com", "--channel", "QR"}, "channel"},
		{[]string{"link", "add", "--store", "S042", "--base-url", "https://nps.example.com", "--channel", "kiosk"}, "kiosk"},
		{[]string{"link", "add", "--store", "S999", "--base-url", "https://nps.example.com"}, "not found"},
		{[]string{"link", "add", "--store", "S042", "--base-url", "https://nps.example.com", "--expires", "31/01/2027"}, "YYYY-MM-DD"},
		{[]string{"link", "add", "--store", "S042", "--base-url", "https://nps.example.com", "--expires", "2020-01-31"}, "expire before"},
		{[]string{"link", "add", "--store", "S042", "--base-url", "https://nps.example.com", "--expires", "2099-01-31", "--ttl", "1h"}, "not both"},
		{[]string{"link", "disable"}, "one link code"},
		{[]string{"link", "disable", "zzzzzzzz"}, "not found"},
	} {
		if _, err := run(tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error about %q", tt.args, err, tt.want)
		}
	}
	if out, _ := run("link", "list"); strings.Count(out, "\n") != 1 {
		t.Fatalf("links made by refused commands:\n%s", out)
	}

	out := filepath.Join(dir, "print")
	text, err := run("link", "add", "--store", "S042", "--channel", "qr", "--touchpoint", "checkout", "--label", "Receipt footer",
		"--expires", "2099-01-31", "--out", out, "--base-url", "https://nps.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	var code string
	for _, f := range strings.Fields(text) {
		if c, ok := strings.CutPrefix(f, "https://nps.example.com/s/"); ok {
			code = c
		}
	}
	if !storage.ValidLinkCode(code) || !strings.Contains(text, "(qr, checkout), open until 2099-01-31T23:00:00Z") {
		t.Fatalf("link add printed:\n%s", text)
	}
	// The PNG decodes and scans back to the link; the SVG and the posters are there.
	f, err := os.Open(filepath.Join(out, code+"-qr.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("the PNG does not decode: %v", err)
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
	// The PNG is the code alone on its quiet zone: read it as such. gozxing's finder-pattern
	// search, made for photos, misread an occasional code's size (dimension 27) in CI.
	pure := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}
	if res, err := gozxingqr.NewQRCodeReader().Decode(bmp, pure); err != nil || res.GetText() != "https://nps.example.com/s/"+code {
		t.Errorf("the QR code scans as %v, %v", res, err)
	}
	for name, prefix := range map[string]string{"-qr.svg": "<svg ", "-poster-a4.pdf": "%PDF-", "-poster-letter.pdf": "%PDF-"} {
		b, err := os.ReadFile(filepath.Join(out, code+name))
		if err != nil || !strings.HasPrefix(string(b), prefix) || len(b) < 2000 {
			t.Errorf("%s: %d bytes starting %.10q, %v", name, len(b), b, err)
		}
	}

	// JSON, and a second link by --ttl and the environment's public URL.
	t.Setenv("NPSCOLLECTOR_PUBLIC_URL", "https://fb.example.com")
	js, err := run("link", "add", "--store", "S042", "--channel", "sms", "--ttl", "720h", "--out", out, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var added struct {
		Code, URL, Channel string
		ExpiresAt          string `json:"expires_at"`
		Files              []string
	}
	if err := json.Unmarshal([]byte(js), &added); err != nil || added.Channel != "sms" || added.URL != "https://fb.example.com/s/"+added.Code ||
		added.ExpiresAt == "" || len(added.Files) != 4 {
		t.Fatalf("link add --json: %+v, %v\n%s", added, err, js)
	}

	list, err := run("link", "list", "--store", "S042")
	if err != nil || !strings.Contains(list, code) || !strings.Contains(list, "Receipt footer") || !strings.Contains(list, "https://fb.example.com/s/"+code) {
		t.Fatalf("link list: %v\n%s", err, list)
	}
	if text, err := run("link", "disable", code); err != nil || !strings.Contains(text, "disabled link "+code) {
		t.Fatalf("link disable: %v, %s", err, text)
	}
	if _, err := run("link", "disable", code); err == nil {
		t.Error("disabling twice should say it already is")
	}
	list, _ = run("link", "list", "--json")
	var rows []struct {
		Code       string
		DisabledAt string `json:"disabled_at"`
		Answers    int64
	}
	if err := json.Unmarshal([]byte(list), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("link list --json: %v\n%s", err, list)
	}
	for _, r := range rows {
		if (r.Code == code) != (r.DisabledAt != "") {
			t.Errorf("link %s disabled at %q", r.Code, r.DisabledAt)
		}
	}
	if list, _ := run("link", "list"); !strings.Contains(list, "disabled ") {
		t.Errorf("link list does not say the link is disabled:\n%s", list)
	}
}
