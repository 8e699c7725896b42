package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/store"
)

// TestRequeue: npskiosk requeue puts the quarantined responses back in the outbox and
// says how many; status is healthy again.
func TestRequeue(t *testing.T) {
	conf, dbPath, _ := enrolledKiosk(t)
	kioskDB(t, dbPath, 3)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: dbPath, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.Pending(ctx, 2)
	if err != nil || len(p) != 2 {
		t.Fatalf("pending: %v, %v", p, err)
	}
	for _, r := range p {
		if err := db.Quarantine(ctx, r.ID, "invalid input: created_at is in the future"); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	var out, errOut bytes.Buffer
	if err := Run(ctx, []string{"requeue", "--config", conf}, nil, &out, &errOut); err != nil {
		t.Fatalf("requeue: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "2 quarantined responses put back in the outbox") {
		t.Fatalf("requeue said %q", out.String())
	}
	out.Reset()
	if err := Run(ctx, []string{"status", "--config", conf, "--max-unsynced", "0"}, nil, &out, &errOut); err != nil {
		t.Fatalf("status after requeue: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "waiting:      3") {
		t.Fatalf("status after requeue:\n%s", out.String())
	}
}
