package alerts_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

func TestCaseAlertArrivesByEmailInTheRecipientsLanguage(t *testing.T) {
	smtp, api := collectortest.Mailpit(t)
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
	msgs := collectortest.MailTo(t, api, address, 1)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "Nachfassen in S1: ein Kunde hat ") {
		t.Fatalf("messages to %s: %+v", address, msgs)
	}
	for _, want := range []string{"Bewertung: ", "Kommentar: the queue was too long", "Bitte erledigen bis: "} {
		if !strings.Contains(msgs[0].Text, want) || !strings.Contains(msgs[0].HTML, want) {
			t.Errorf("the e-mail lacks %q in text or HTML:\n%s\n%s", want, msgs[0].Text, msgs[0].HTML)
		}
	}
}
