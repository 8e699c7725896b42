package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/invitations"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// invite reads a CSV list, sends what it may through the SMTP server, says per line
// what became of each row and sums up; a bad row never stops the others, and a failed
// row makes the command fail after the summary. Run again, the quiet period skips all.
func TestInviteCommand(t *testing.T) {
	smtp, mailpit := collectortest.Mailpit(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	created, err := storage.Open(context.Background(), storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append(args, "--db", db), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	if _, _, err := run("store", "add", "--id", "S042", "--name", "Main Street", "--timezone", "Europe/Madrid"); err != nil {
		t.Fatal(err)
	}
	ana, bo := "ana-"+uuid.NewString()[:8]+"@example.com", "bo-"+uuid.NewString()[:8]+"@example.com"
	list := filepath.Join(dir, "customers.csv")
	csv := "email;language;order_id;segment\n" + ana + ";es;P-7;online\n" + strings.ToUpper(ana) + ";es;;\n" +
		"not-an-address;en;;\n" + bo + ";it;;\n"
	if err := os.WriteFile(list, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	invite := []string{"invite", "--store", "S042", "--csv", list, "--touchpoint", "delivery", "--expires", "48h",
		"--quiet-period", "30d", "--public-url", "https://nps.example.com/",
		"--smtp-host", smtp.Host, "--smtp-port", strconv.Itoa(smtp.Port), "--smtp-security", "none", "--smtp-from", smtp.From}
	out, _, err := run(invite...)
	if err == nil || !strings.Contains(err.Error(), "2 of 4 invitations failed") {
		t.Errorf("invite with two bad rows: %v, want a failure after the summary", err)
	}
	for _, want := range []string{
		"line 2  " + ana + "  sent\n",
		"line 3  " + strings.ToUpper(ana) + "  skipped: duplicate in file (the same address as line 2)\n",
		`line 4  not-an-address  failed: invalid ("not-an-address" is not an e-mail address)`,
		`line 5  ` + bo + `  failed: invalid (language "it": invitations are written in en, es, fr and de)`,
		"sent 1, skipped 1 (duplicate in file 1), failed 2 (invalid 2)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	mails := collectortest.MailTo(t, mailpit, ana, 1)
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "Sobre su pedido P-7.") ||
		!strings.Contains(mails[0].Text, "https://nps.example.com/i/") || !strings.Contains(mails[0].Text, "https://nps.example.com/u/") {
		t.Fatalf("the Spanish invitation: %+v", mails)
	}
	// An https public URL offers one-click unsubscribe (RFC 8058).
	resp, err := http.Get(mailpit + "/api/v1/message/" + mails[0].ID + "/headers")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string][]string
	err = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if err != nil || len(h["List-Unsubscribe"]) != 1 || !strings.HasPrefix(h["List-Unsubscribe"][0], "<https://nps.example.com/u/") ||
		len(h["List-Unsubscribe-Post"]) != 1 || h["List-Unsubscribe-Post"][0] != "List-Unsubscribe=One-Click" {
		t.Errorf("unsubscribe headers: %v (%v)", h, err)
	}

	// Again: the one sent is within the quiet period now.
	if err := os.WriteFile(list, []byte("email,language\n"+ana+",es\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(append(invite, "--json")...)
	var sum invitations.Summary
	if err != nil || json.Unmarshal([]byte(out), &sum) != nil || sum.Skipped != 1 || sum.Results[0].Reason != invitations.ReasonQuietPeriod {
		t.Errorf("invite again: %v\n%s", err, out)
	}

	// Refusals before anything is sent.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"invite", "--store", "S042"}, "--store and --csv"},
		{[]string{"invite", "--store", "S042", "--csv", list, "--smtp-from", smtp.From, "--public-url", "https://x.example"}, "no SMTP server"},
		{append(invite[:len(invite):len(invite)], "--public-url", "nps.example.com"), "public URL"},
		{append(invite[:len(invite):len(invite)], "--store", "S999"), "S999"},
		{append(invite[:len(invite):len(invite)], "--quiet-period", "ninety"), "whole days"},
		{append(invite[:len(invite):len(invite)], "--csv", filepath.Join(dir, "missing.csv")), "no such file"},
	} {
		if _, _, err := run(tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error saying %q", tt.args, err, tt.want)
		}
	}
	if err := os.WriteFile(list, []byte("mail,language\n"+ana+",es\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(invite...); err == nil || !strings.Contains(err.Error(), "no email column") {
		t.Errorf("a list without the email column: %v", err)
	}
}

func TestDaysFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "1d": 24 * time.Hour, "36h": 36 * time.Hour} {
		var d days
		if err := d.Set(in); err != nil || time.Duration(d) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, in := range []string{"", "0d", "-1d", "1.5d", "d", "0", "-2h", "ninety"} {
		var d days
		if err := d.Set(in); err == nil {
			t.Errorf("Set(%q) accepted", in)
		}
	}
	if d := days(90 * 24 * time.Hour); d.String() != "90d" {
		t.Errorf("String() = %q", d.String())
	}
}

// serve with an SMTP server and a public URL takes POST /v1/invitations, and serves the
// pages the invitations' links open.
func TestServeSendsInvitations(t *testing.T) {
	smtp, mailpit := collectortest.Mailpit(t)
	db := filepath.Join(t.TempDir(), "c.db")
	created, err := storage.Open(context.Background(), storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := created.AddStore(context.Background(), storage.Store{ID: "S042", Name: "Main Street", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	tok, err := created.AddAPIToken(context.Background(), "crm", "S042")
	created.Close()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--db", db, "--addr", addr, "--metrics-addr", "off", "--public-url", "http://" + addr,
			"--smtp-host", smtp.Host, "--smtp-port", strconv.Itoa(smtp.Port), "--smtp-security", "none", "--smtp-from", smtp.From,
			"--quiet-period", "7d"}, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %v", err)
		}
	}
	eve := "eve-" + uuid.NewString()[:8] + "@example.com"
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/invitations",
		strings.NewReader(`{"store_id":"S042","invitations":[{"email":"`+eve+`","language":"en"}]}`))
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"sent":1`) {
		t.Fatalf("POST /v1/invitations: %s %s", resp.Status, body)
	}
	mails := collectortest.MailTo(t, mailpit, eve, 1)
	if len(mails) != 1 {
		t.Fatalf("%d e-mails to %s", len(mails), eve)
	}
	link := regexp.MustCompile(`http://` + regexp.QuoteMeta(addr) + `/i/[A-Za-z0-9_-]+/7`).FindString(mails[0].Text)
	if link == "" {
		t.Fatalf("no score link in:\n%s", mails[0].Text)
	}
	resp, err = http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `value="7" checked`) {
		t.Errorf("GET %s: %s\n%s", link, resp.Status, page)
	}
}
