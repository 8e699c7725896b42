package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

func TestAddUserRefusesBadInput(t *testing.T) {
	c := collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S001", Region: "North"})
	ctx := context.Background()
	ok := storage.NewUser{Email: "ana@example.com", Name: "Ana", Password: "long enough password"}
	if _, err := c.DB.AddUser(ctx, ok); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*storage.NewUser)
		want error
	}{
		{"the same e-mail in capitals", func(u *storage.NewUser) { u.Email = " ANA@Example.com " }, storage.ErrExists},
		{"no e-mail", func(u *storage.NewUser) { u.Email = "" }, storage.ErrInvalid},
		{"a name and an address", func(u *storage.NewUser) { u.Email = "Bo <bo@example.com>" }, storage.ErrInvalid},
		{"no name", func(u *storage.NewUser) { u.Name = "  " }, storage.ErrInvalid},
		{"a short password", func(u *storage.NewUser) { u.Password = "123456789" }, storage.ErrInvalid},
		{"an unknown language", func(u *storage.NewUser) { u.Language = "xx" }, storage.ErrInvalid},
		{"an unknown store", func(u *storage.NewUser) { u.ScopeKind, u.Scope = storage.UserScopeStore, "S999" }, storage.ErrNotFound},
		{"a region without its name", func(u *storage.NewUser) { u.ScopeKind = storage.UserScopeRegion }, storage.ErrInvalid},
		{"a chain user with a scope", func(u *storage.NewUser) { u.Scope = "North" }, storage.ErrInvalid},
		{"an unknown scope", func(u *storage.NewUser) { u.ScopeKind = "planet" }, storage.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nu := ok
			nu.Email = "bo@example.com"
			tt.edit(&nu)
			if _, err := c.DB.AddUser(ctx, nu); !errors.Is(err, tt.want) {
				t.Errorf("AddUser: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUsersAndSessions(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return now }})
		c.AddStore(t, storage.Store{ID: "S001", Region: "North"})
		const password = "correct horse battery"
		add := func(nu storage.NewUser) storage.User {
			t.Helper()
			nu.Password = password
			u, err := c.DB.AddUser(ctx, nu)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		ana := add(storage.NewUser{Email: "Ana@Example.com", Name: "Ana", Language: "de", ScopeKind: storage.UserScopeStore, Scope: "S001"})
		bo := add(storage.NewUser{Email: "bo@example.com", Name: "Bo", ScopeKind: storage.UserScopeRegion, Scope: "North"})
		add(storage.NewUser{Email: "cy@example.com", Name: "Cy"})

		users, err := c.DB.Users(ctx)
		if err != nil || len(users) != 3 || users[0].Email != "ana@example.com" || users[0].Language != "de" || users[2].ScopeKind != storage.UserScopeChain {
			t.Fatalf("Users: %+v, %v", users, err)
		}
		if r := ana.Reader(); r.StoreID != "S001" || r.Name != "Ana" || r.Region != "" {
			t.Errorf("a store user reads as %+v", r)
		}
		if r := bo.Reader(); r.Region != "North" || r.StoreID != "" {
			t.Errorf("a region user reads as %+v", r)
		}

		// Unknown e-mail, wrong password: the same refusal.
		for _, try := range []struct{ email, password string }{{"nobody@example.com", password}, {"ana@example.com", "wrong password!"}, {"", ""}} {
			if _, err := c.DB.AuthenticateUser(ctx, try.email, try.password); err != storage.ErrUnauthorized {
				t.Errorf("sign-in as %q with %q: %v, want exactly ErrUnauthorized", try.email, try.password, err)
			}
		}
		got, err := c.DB.AuthenticateUser(ctx, " ANA@example.com", password)
		if err != nil || got.ID != ana.ID {
			t.Fatalf("sign-in with the right password: %+v, %v", got, err)
		}

		token, expires, err := c.DB.NewSession(ctx, ana.ID)
		if err != nil || !expires.Equal(now.Add(storage.SessionTTL)) || len(token) < 40 {
			t.Fatalf("NewSession: %q until %v, %v", token, expires, err)
		}
		if u, err := c.DB.SessionUser(ctx, token); err != nil || u.ID != ana.ID {
			t.Fatalf("SessionUser: %+v, %v", u, err)
		}
		for _, bad := range []string{"", "not a session", token + "x"} {
			if _, err := c.DB.SessionUser(ctx, bad); err != storage.ErrUnauthorized {
				t.Errorf("SessionUser(%q): %v", bad, err)
			}
		}

		// Expired: refused at the expiry, not one millisecond later.
		now = now.Add(storage.SessionTTL - time.Millisecond)
		if _, err := c.DB.SessionUser(ctx, token); err != nil {
			t.Errorf("a session a moment before its expiry: %v", err)
		}
		now = now.Add(time.Millisecond)
		if _, err := c.DB.SessionUser(ctx, token); err != storage.ErrUnauthorized {
			t.Errorf("an expired session: %v", err)
		}

		// Ended: refused.
		token, _, _ = c.DB.NewSession(ctx, ana.ID)
		if err := c.DB.EndSession(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DB.SessionUser(ctx, token); err != storage.ErrUnauthorized {
			t.Errorf("an ended session: %v", err)
		}

		// Disabled: the open session stops at once, and the password no longer works.
		token, _, _ = c.DB.NewSession(ctx, bo.ID)
		if err := c.DB.DisableUser(ctx, "BO@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DB.SessionUser(ctx, token); err != storage.ErrUnauthorized {
			t.Errorf("a disabled user's session: %v", err)
		}
		if _, err := c.DB.AuthenticateUser(ctx, "bo@example.com", password); err != storage.ErrUnauthorized {
			t.Errorf("a disabled user's sign-in: %v", err)
		}
		if err := c.DB.DisableUser(ctx, "bo@example.com"); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("disabling twice: %v", err)
		}
		if err := c.DB.DisableUser(ctx, "nobody@example.com"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("disabling nobody: %v", err)
		}
		if u, err := c.DB.User(ctx, bo.ID); err != nil || !u.Disabled() {
			t.Errorf("Bo after disabling: %+v, %v", u, err)
		}
	})
}
