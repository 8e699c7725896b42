package dashboard_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// The Invitations page counts what became of the invitations sent in the period, per
// store and touchpoint, with the answer rate; a store's sign-in sees its store only.
func TestDashboardInvitations(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	c := collectortest.Start(t, collectortest.Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	c.AddStore(t, storage.Store{ID: "S1"})
	c.AddStore(t, storage.Store{ID: "S2"})
	invite := func(store, touchpoint, addr string) storage.Invitation {
		t.Helper()
		inv, _, err := c.DB.AddInvitation(ctx, storage.NewInvitation{StoreID: store, Touchpoint: touchpoint, Address: addr,
			Language: "en", ExpiresAt: now.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	for i, addr := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
		inv := invite("S1", "delivery", addr)
		if err := c.DB.MarkInvitationSent(ctx, inv.ID); err != nil {
			t.Fatal(err)
		}
		if i < 3 {
			if err := c.DB.MarkInvitationAnswered(ctx, inv.ID, now); err != nil {
				t.Fatal(err)
			}
		}
		if i == 3 {
			if err := c.DB.Unsubscribe(ctx, inv.ID, "page"); err != nil {
				t.Fatal(err)
			}
		}
	}
	failed := invite("S2", "", "e@example.com")
	if err := c.DB.MarkInvitationFailed(ctx, failed.ID, "550 unknown user"); err != nil {
		t.Fatal(err)
	}
	day := "?from=" + now.Format(time.DateOnly) + "&to=" + now.Format(time.DateOnly)

	code, body := fetch(t, withCookie(c.URL, c.Session(t, "")), c.URL+"/invitations"+day)
	for _, want := range []string{
		`<td><a href="/stores/S1">S1</a></td><td>delivery</td>
<td class="num">4</td><td class="num">3</td><td class="num">75 %</td>
<td class="num">1</td><td class="num">0</td>`,
		`<td><a href="/stores/S2">S2</a></td><td><span class="muted">none</span></td>
<td class="num">0</td><td class="num">0</td><td class="num">–</td>
<td class="num">0</td><td class="num">1</td>`,
		`<th colspan="2">All</th><td class="num">4</td><td class="num">3</td>`,
		`aria-current="page">Invitations<`,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("the chain's page (%d) lacks %q:\n%s", code, want, body)
		}
	}
	code, body = fetch(t, withCookie(c.URL, c.Session(t, "S2")), c.URL+"/invitations"+day)
	if code != 200 || strings.Contains(body, "/stores/S1") || !strings.Contains(body, "/stores/S2") {
		t.Errorf("S2's page (%d) shows another store, or not its own:\n%s", code, body)
	}
	code, body = fetch(t, withCookie(c.URL, c.Session(t, "")), c.URL+"/invitations?from=2026-01-01&to=2026-01-31")
	if code != 200 || !strings.Contains(body, "No invitations were sent in this period") {
		t.Errorf("an empty period (%d):\n%s", code, body)
	}
}
