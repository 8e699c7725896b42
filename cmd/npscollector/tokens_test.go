package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// TestTokenListRevoke adds a token, uses it, lists it with its last use, revokes it and
// sees it refused.
func TestTokenListRevoke(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(ctx, append(args, "--db", path), &out, &errOut)
		return out.String(), err
	}
	out, err := run("token", "add", "--name", "hq", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var tok storage.APIToken
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token add --json: %q, %v", out, err)
	}
	out, err = run("token", "list")
	if err != nil || !strings.Contains(out, tok.ID) || !strings.Contains(out, "never") || !strings.Contains(out, "active") {
		t.Fatalf("token list before use: %q, %v", out, err)
	}
	db, err = storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.AuthenticateReader(ctx, tok.Token); err != nil {
		t.Fatal(err)
	}
	out, err = run("token", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list []storage.APITokenInfo
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].LastUsed.IsZero() || list[0].Revoked() {
		t.Fatalf("token list --json after use: %q, %v", out, err)
	}
	if _, err := run("token", "revoke", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AuthenticateReader(ctx, tok.Token); !errors.Is(err, storage.ErrUnauthorized) {
		t.Fatalf("a revoked token authenticated: %v", err)
	}
	if _, err := run("token", "revoke", tok.ID); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("revoking twice: %v, want a conflict", err)
	}
	if _, err := run("token", "revoke", "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("revoking an unknown id: %v, want not found", err)
	}
	out, err = run("token", "list")
	if err != nil || !strings.Contains(out, "revoked ") {
		t.Fatalf("token list after revoke: %q, %v", out, err)
	}
}

// token add --scope takes scopes repeated or comma-separated, refuses an unknown one,
// and without any gives what tokens could do before scopes; token list shows them.
func TestTokenAddScopes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(ctx, append(args, "--db", path), &out, &errOut)
		return out.String(), err
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"read:reports", "read:contacts", "write:cases"}},
		{[]string{"--scope", "read:responses"}, []string{"read:responses"}},
		{[]string{"--scope", "admin,read:reports", "--scope", "read:contacts", "--scope", "admin"}, []string{"read:reports", "read:contacts", "admin"}},
	} {
		out, err := run(append([]string{"token", "add", "--name", "bi", "--json"}, tc.args...)...)
		if err != nil {
			t.Fatalf("token add %q: %v", tc.args, err)
		}
		var tok storage.APIToken
		if err := json.Unmarshal([]byte(out), &tok); err != nil || strings.Join(tok.Scopes, " ") != strings.Join(tc.want, " ") {
			t.Errorf("token add %q: %q, %v; want scopes %q", tc.args, out, err, tc.want)
		}
	}
	if _, err := run("token", "add", "--name", "bi", "--scope", "read:everything"); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("an unknown scope: %v, want ErrInvalid", err)
	}
	out, err := run("token", "list")
	if err != nil || !strings.Contains(out, "SCOPES") || !strings.Contains(out, "read:reports,read:contacts,admin") {
		t.Errorf("token list: %q, %v", out, err)
	}
}
