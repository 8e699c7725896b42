package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// Invitations keep hashes of their token and address only; the quiet period and
// unsubscribes refuse an address whatever its case; a failed send does not count
// towards the quiet period; two invitations of one address at once cannot both pass;
// the stats count what became of them per store and touchpoint.
func TestInvitationsStorage(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return now }})
		ctx := context.Background()
		c.AddStore(t, storage.Store{ID: "S1", Timezone: "Europe/Berlin"})
		c.AddStore(t, storage.Store{ID: "S2"})
		quiet := now.Add(-90 * 24 * time.Hour)
		nv := func(store, addr string) storage.NewInvitation {
			return storage.NewInvitation{StoreID: store, Touchpoint: "delivery", Address: addr, Language: "de",
				OrderID: "A-1", ExpiresAt: now.Add(14 * 24 * time.Hour), QuietSince: quiet}
		}
		inv, token, err := c.DB.AddInvitation(ctx, nv("S1", "ana@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if !storage.ValidInvitationToken(token) || inv.Link.Channel != "email" || inv.Link.Touchpoint != "delivery" {
			t.Fatalf("invitation %+v, token %q", inv, token)
		}
		var stored int64
		if err := c.DB.RawQueryRow(ctx, `SELECT COUNT(*) FROM invitations WHERE token_hash = ? OR address_hash LIKE '%@%'`, token).Scan(&stored); err != nil || stored != 0 {
			t.Errorf("the token or the address is stored as it is: %d, %v", stored, err)
		}
		got, err := c.DB.InvitationByToken(ctx, token)
		if err != nil || got.ID != inv.ID || got.Link.ID != inv.Link.ID || got.OrderID != "A-1" || !got.ExpiresAt.Equal(inv.ExpiresAt) {
			t.Fatalf("InvitationByToken = %+v, %v; want %+v", got, err, inv)
		}
		for _, bad := range []string{"", "short", token[:42] + "!"} {
			if _, err := c.DB.InvitationByToken(ctx, bad); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("token %q: %v, want ErrNotFound", bad, err)
			}
		}
		// The same store's link is reused; another touchpoint gets its own.
		second, _, err := c.DB.AddInvitation(ctx, nv("S1", "bo@example.com"))
		if err != nil || second.Link.ID != inv.Link.ID {
			t.Fatalf("second invitation: %+v, %v; want link %s", second, err, inv.Link.ID)
		}
		if _, _, err := c.DB.AddInvitation(ctx, nv("S2", " ANA@Example.com ")); !errors.Is(err, storage.ErrQuietPeriod) {
			t.Errorf("the same address at another store within the quiet period: %v", err)
		}
		later := nv("S2", "ana@example.com")
		later.QuietSince = now.Add(time.Minute)
		if _, _, err := c.DB.AddInvitation(ctx, later); err != nil {
			t.Errorf("after the quiet period: %v", err)
		}
		// A failed send leaves the address free to invite again.
		failed, _, err := c.DB.AddInvitation(ctx, nv("S1", "cy@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.DB.MarkInvitationFailed(ctx, failed.ID, "550 no such mailbox"); err != nil {
			t.Fatal(err)
		}
		retry, _, err := c.DB.AddInvitation(ctx, nv("S1", "cy@example.com"))
		if err != nil {
			t.Fatalf("after a failed send: %v", err)
		}
		for _, id := range []string{inv.ID, second.ID, retry.ID} {
			if err := c.DB.MarkInvitationSent(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.DB.MarkInvitationAnswered(ctx, inv.ID, now); err != nil {
			t.Fatal(err)
		}
		// Unsubscribing is for the whole chain, for good, and may be asked twice.
		for range 2 {
			if err := c.DB.Unsubscribe(ctx, second.ID, "page"); err != nil {
				t.Fatal(err)
			}
		}
		free := nv("S2", "BO@example.com")
		free.QuietSince = time.Time{}
		if _, _, err := c.DB.AddInvitation(ctx, free); !errors.Is(err, storage.ErrUnsubscribed) {
			t.Errorf("an unsubscribed address: %v", err)
		}
		if _, _, err := c.DB.AddInvitation(ctx, nv("S9", "dee@example.com")); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("an unknown store: %v", err)
		}
		// Concurrent invitations of one address: one passes.
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			passed int
		)
		for range 4 {
			wg.Go(func() {
				if _, _, err := c.DB.AddInvitation(ctx, nv("S2", "eve@example.com")); err == nil {
					mu.Lock()
					passed++
					mu.Unlock()
				} else if !errors.Is(err, storage.ErrQuietPeriod) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if passed != 1 {
			t.Errorf("%d of 4 concurrent invitations of one address passed, want 1", passed)
		}

		day := now.Format(time.DateOnly)
		stats, err := c.DB.InvitationStats(ctx, storage.Filter{From: day, To: day})
		if err != nil {
			t.Fatal(err)
		}
		want := []storage.InvitationStat{
			{StoreID: "S1", Touchpoint: "delivery", Invited: 3, Answered: 1, Unsubscribed: 1, Failed: 1},
			{StoreID: "S2", Touchpoint: "delivery", Invited: 0},
		}
		if len(stats) != len(want) || stats[0] != want[0] || stats[1] != want[1] {
			t.Errorf("stats = %+v, want %+v", stats, want)
		}
		if stats, err := c.DB.InvitationStats(ctx, storage.Filter{From: day, To: day, Channel: "qr"}); err != nil || len(stats) != 0 {
			t.Errorf("stats of the qr channel: %+v, %v", stats, err)
		}
	})
}
