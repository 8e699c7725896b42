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
