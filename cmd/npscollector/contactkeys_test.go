package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// contact-key create makes a 0600 file and names its key, refuses to overwrite it;
// rotate adds a current key and keeps the old; list shows both, the current marked.
// None of them touches a database.
func TestContactKeyCommands(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "contact-keys.pem")
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		// --db names a database that does not exist: the commands must not need one.
		err := Run(context.Background(), append(args, "--db", filepath.Join(dir, "none.db")), &out, &errOut)
		return out.String(), err
	}
	var created contactseal.PublicKey
	out, err := run("contact-key", "create", "--file", file, "--json")
	if err != nil || json.Unmarshal([]byte(out), &created) != nil || created.Check() != nil {
		t.Fatalf("contact-key create: %v, %q", err, out)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Error("contact-key create made a database")
	}
	if _, err := run("contact-key", "create", "--file", file); err == nil {
		t.Error("contact-key create overwrote an existing file")
	}
	out, err = run("contact-key", "rotate", "--file", file)
	if err != nil || !strings.Contains(out, "restart") {
		t.Fatalf("contact-key rotate: %v, %q; want it to say to restart", err, out)
	}
	ring, err := contactseal.LoadKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rotated := ring.Current().ID
	if ids := ring.IDs(); len(ids) != 2 || ids[0] != created.ID || rotated == created.ID {
		t.Fatalf("after rotate the file holds %v; want %s then a new one", ids, created.ID)
	}
	out, err = run("contact-key", "list", "--file", file)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 2 || !strings.HasPrefix(lines[0], created.ID+"  created ") || strings.Contains(lines[0], "current") ||
		!strings.HasPrefix(lines[1], rotated+"  created ") || !strings.HasSuffix(lines[1], "current") {
		t.Errorf("contact-key list: %v\n%s", err, out)
	}
	if _, err := run("contact-key", "list"); err == nil || !strings.Contains(err.Error(), "--file") {
		t.Errorf("contact-key list without --file: %v", err)
	}
}

// serve refuses to start with a --contact-keys file that is missing, that every user
// may read, or that holds no key, and says why.
func TestServeContactKeysFlag(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "keys.pem")
	if _, err := contactseal.CreateKeyFile(good, time.Now()); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	open := filepath.Join(dir, "open.pem")
	if err := os.WriteFile(open, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o644) // whatever the umask
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, file, want string
	}{
		{"missing", filepath.Join(dir, "nope.pem"), "contact-key create"},
		{"readable by everyone", open, "chmod o-rwx"},
		{"no key in it", empty, "no key in the file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := Run(context.Background(), []string{"serve", "--db", filepath.Join(dir, "c.db"), "--addr", "127.0.0.1:0",
				"--metrics-addr", "off", "--contact-keys", tt.file}, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), "--contact-keys") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("serve --contact-keys %s: %v; want a refusal naming the flag and %q", tt.file, err, tt.want)
			}
		})
	}
	t.Setenv("NPSCOLLECTOR_CONTACT_KEYS", open)
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"serve", "--db", filepath.Join(dir, "c.db"), "--addr", "127.0.0.1:0", "--metrics-addr", "off"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "chmod") {
		t.Errorf("serve with $NPSCOLLECTOR_CONTACT_KEYS of a world-readable file: %v, want a refusal", err)
	}
}

// serve --contact-keys hands out the file's current key (/healthz names it) and, in the
// background, opens the contacts stored sealed while the collector ran without it.
func TestServeOpensStoredSealedContacts(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys.pem")
	if _, err := contactseal.CreateKeyFile(file, time.Now()); err != nil {
		t.Fatal(err)
	}
	ring, err := contactseal.LoadKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "c.db")
	keyless := collectortest.Start(t, collectortest.Options{DB: db})
	keyless.AddStore(t, storage.Store{ID: "S1"})
	dev := keyless.Enroll(t, "S1", "Till 1")
	now := time.Now().UTC().Truncate(time.Millisecond)
	r := wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: 2, Reasons: []string{"staff"}, Locale: "en", SurveyVersion: 1,
		CreatedAt: now.Add(-time.Minute), CompletedAt: now.Add(-50 * time.Second), Outcome: response.OutcomeSubmitted, ContactConsent: true}
	if r.SealedContact, err = contactseal.Seal(ring.Current(), r.ID, "ana@example.com"); err != nil {
		t.Fatal(err)
	}
	if res, err := keyless.Service.IngestFromDevice(context.Background(), dev.DeviceID, []wire.Response{r}); err != nil || len(res.Accepted) != 1 {
		t.Fatalf("ingest: %+v, %v", res, err)
	}
	keyless.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs syncBuffer
	go func() {
		done <- Run(ctx, []string{"serve", "--db", db, "--addr", addr, "--metrics-addr", "off", "--contact-keys", file}, io.Discard, &logs)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var health map[string]string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&health)
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %v", err)
		}
	}
	if health["contact_key_id"] != ring.Current().ID {
		t.Errorf("/healthz = %v, want contact_key_id %s", health, ring.Current().ID)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		cs, err := keyless.DB.Cases(context.Background(), storage.CaseFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 1 && cs[0].Response.Contact == "ana@example.com" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stored sealed contact was not opened: %+v\nlog:\n%s", cs, logs.String())
		}
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), `msg="stored sealed contacts" opened=1 still_sealed=0`); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line of the contacts opened:\n%s", logs.String())
		}
	}
}

// syncBuffer is a bytes.Buffer that serve's goroutines may write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
