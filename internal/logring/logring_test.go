package logring

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// The ring keeps the newest lines, oldest first, passes every record on, and keeps no
// secret attribute's value, whether given with the record or with the logger.
func TestRingKeepsRecentLinesWithoutSecrets(t *testing.T) {
	var out bytes.Buffer
	r := New(3, nil)
	log := slog.New(r.Handler(slog.NewTextHandler(&out, nil)))
	log.Debug("not kept: below the level")
	for i := range 5 {
		log.Info(fmt.Sprintf("line %d", i))
	}
	got := r.Lines()
	if len(got) != 3 || !strings.Contains(got[0], "line 2") || !strings.Contains(got[2], "line 4") {
		t.Fatalf("lines %q, want lines 2 to 4", got)
	}
	log.With("device_token", "dev_SECRET1").WithGroup("cfg").Info("enrolled", "manager_pin_hash", "$argon2id$SECRET2",
		"Password", "SECRET3", "contact_key_id", "k1", "shipping", "ok")
	last := r.Lines()[2]
	for _, s := range []string{"SECRET1", "SECRET2", "SECRET3"} {
		if strings.Contains(last, s) {
			t.Errorf("the ring kept a secret %s: %q", s, last)
		}
	}
	if !strings.Contains(last, "contact_key_id=k1") || !strings.Contains(last, "shipping=ok") || !strings.Contains(last, Redacted) {
		t.Errorf("the ring's line %q hides too much or too little", last)
	}
	if !strings.Contains(out.String(), "line 0") || strings.Contains(out.String(), "not kept") {
		t.Errorf("records were not passed on as the next handler's level says: %q", out.String())
	}
	log.Info(strings.Repeat("x", 3*MaxLine))
	if l := r.Lines()[2]; len(l) > MaxLine+len("…") {
		t.Errorf("a long line was kept whole: %d bytes", len(l))
	}
	if err := r.Handler(nil).Handle(context.Background(), slog.Record{Level: slog.LevelWarn, Message: "alone"}); err != nil {
		t.Errorf("a ring with no next handler: %v", err)
	}
}

func TestSecret(t *testing.T) {
	for key, want := range map[string]bool{
		"token": true, "device_token": true, "pin_hash": true, "ManagerPINHash": true, "DeviceToken": true, "manager-pin": true,
		"key": true, "contact_key_id": false, "shipping": false, "opinion": false, "err": false, "Authorization": true,
	} {
		if got := Secret(key); got != want {
			t.Errorf("Secret(%q) = %v, want %v", key, got, want)
		}
	}
}
