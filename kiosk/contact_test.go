package kiosk

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

// Without the collector's contact key a contact could not be kept safely: the follow-up
// does not offer consent or a contact field. With the key, the shopper is asked.
func TestContactIsAskedOnlyWithAKey(t *testing.T) {
	for _, tt := range []struct {
		name    string
		withKey bool
	}{{"with the collector's key", true}, {"without a key", false}} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, landscape)
			if !tt.withKey {
				if err := h.db.ForgetContactKey(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			test.Tap(h.button("8"))
			h.requireShowing("Add a comment (optional)")
			if got := h.showing("You may contact me about my feedback"); got != tt.withKey {
				t.Fatalf("consent offered = %v, want %v", got, tt.withKey)
			}
			test.Tap(h.button("Submit"))
			if r := h.rows(); len(r) != 1 || r[0].ContactConsent || r[0].SealedContact != "" {
				t.Fatalf("rows = %+v, want one without contact", r)
			}
		})
	}
}

// The must-show: a contact typed on the kiosk is nowhere readable in the
// database's files (the file, its -wal and -shm), while the box stored in its place
// opens with the collector's key to the contact.
func TestTypedContactIsNowhereInTheDatabaseFiles(t *testing.T) {
	const contact = "zoe.quixote+nps@example.com" // what the on-screen keyboard types
	h := newHarness(t, landscape)
	test.Tap(h.button("2"))
	h.tapField("Add a comment (optional)")
	h.typeOnKeyboard("cold coffee")
	test.Tap(h.button("Done"))
	test.Tap(h.button("You may contact me about my feedback"))
	h.tapField("Email or phone")
	h.typeOnKeyboard(contact)
	test.Tap(h.button("Done"))
	test.Tap(h.button("Submit"))
	h.requireShowing("Thank you!")

	rows := h.rows()
	if len(rows) != 1 || rows[0].Contact != "" || !rows[0].ContactConsent {
		t.Fatalf("rows = %+v, want one with consent and no contact in clear", rows)
	}
	if got, err := h.ring.Open(rows[0].ID, rows[0].SealedContact); err != nil || got != contact {
		t.Fatalf("the stored box opens to %q, %v; want %q", got, err, contact)
	}
	requireNotInFiles(t, h.path, contact)
	h.db.Close() // the checkpoint at close moves the WAL into the file
	requireNotInFiles(t, h.path, contact)
}

// requireNotInFiles fails if the database at path, its -wal or its -shm holds contact,
// in any case, or its distinctive part.
func requireNotInFiles(t *testing.T, path, contact string) {
	t.Helper()
	local, _, _ := strings.Cut(contact, "@")
	needles := []string{contact, strings.ToLower(contact), strings.ToUpper(contact), local, strings.ToLower(local)}
	if !bytes.Contains(mustRead(t, path), []byte("cold coffee")) && !bytes.Contains(mustRead(t, path+"-wal"), []byte("cold coffee")) {
		t.Fatal("the comment is in neither file: the search would find nothing anyway")
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		b := mustRead(t, f)
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				t.Errorf("%s holds %q", f, n)
			}
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}
