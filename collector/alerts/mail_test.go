package alerts_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// mailpit returns the test SMTP server's settings and API, started by
// scripts/with-mailpit.sh; CI must have it.
func mailpit(t *testing.T) (alerts.SMTPConfig, string) {
	t.Helper()
	smtp, api := os.Getenv("NPS_TEST_SMTP"), os.Getenv("NPS_TEST_MAILPIT")
	if smtp == "" || api == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must test e-mail against a real SMTP server: run the tests through scripts/with-mailpit.sh (make test does)")
		}
		t.Skip("no SMTP server: run through scripts/with-mailpit.sh")
	}
	host, port, _ := net.SplitHostPort(smtp)
	p, _ := strconv.Atoi(port)
	return alerts.SMTPConfig{Host: host, Port: p, Security: "none", From: "NPS alerts <nps@example.com>"}, api
}

type mailpitMessage struct {
	ID      string
	Subject string
	To      []struct{ Address string }
}

// messagesTo lists the messages Mailpit holds for an address.
func messagesTo(t *testing.T, api, address string) []mailpitMessage {
	t.Helper()
	resp, err := http.Get(api + "/api/v1/search?query=" + "to:" + address)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Messages []mailpitMessage }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	return list.Messages
}

func TestCaseAlertArrivesByEmailInTheRecipientsLanguage(t *testing.T) {
	smtp, api := mailpit(t)
	mailer, err := alerts.NewMailer(smtp)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, collectortest.SQLite)
	address := "filialleitung-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@example.com"
	if _, err := r.c.Service.AddEmailAlert(context.Background(), storage.Subscription{ScopeKind: storage.ScopeStore, Scope: "S1",
		Events: []string{storage.EventCaseOpened}}, address, "de"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.Service.AddEmailAlert(context.Background(), storage.Subscription{ScopeKind: storage.ScopeChain}, "not an address", "de"); err == nil {
		t.Error("a malformed address was accepted")
	}
	w, err := alerts.New(alerts.Config{DB: r.c.DB, Policy: r.policy, Mailer: mailer, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return time.UnixMilli(r.clock.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	r.detractors(t, 1)
	r.runUntil(t, w, func() bool { return r.rcv.distinct() == 1 }) // the webhook, and the e-mail beside it
	var msgs []mailpitMessage
	for deadline := time.Now().Add(10 * time.Second); len(msgs) == 0 && time.Now().Before(deadline); {
		msgs = messagesTo(t, api, address)
		time.Sleep(50 * time.Millisecond)
	}
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "Nachfassen in S1: ein Kunde hat ") {
		t.Fatalf("messages to %s: %+v", address, msgs)
	}
	resp, err := http.Get(api + "/api/v1/message/" + msgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct{ Text, HTML string }
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Bewertung: ", "Kommentar: the queue was too long", "Bitte erledigen bis: "} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
			t.Errorf("the e-mail lacks %q in text or HTML:\n%s\n%s", want, m.Text, m.HTML)
		}
	}
}
