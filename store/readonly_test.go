package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenReadOnlyCreatesAndChangesNothing: status and doctor must be able to look at a
// kiosk's database, running or not, without creating one where none is, and without
// touching what is there.
func TestOpenReadOnlyCreatesAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "kiosk.db")

	if _, err := OpenReadOnly(ctx, Config{Path: path, Logger: quiet}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenReadOnly created %s", filepath.Dir(path))
	}

	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte("this is not a database, just some text long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := OpenReadOnly(ctx, Config{Path: garbage, Logger: quiet}); err == nil {
		db.Close()
		t.Fatal("a file that is not a database opened")
	}

	// Beside a live writer: it sees committed rows, and its writes fail.
	w := openTest(t, Config{Path: path})
	id := mustRecord(t, w, 9)
	ro, err := OpenReadOnly(ctx, Config{Path: path, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if ob, err := ro.Outbox(ctx); err != nil || ob.Open != 1 {
		t.Errorf("read-only outbox: %+v, %v; want the open response", ob, err)
	}
	if err := ro.SetSetting(ctx, "k", "v"); err == nil {
		t.Error("a write through a read-only store succeeded")
	}
	if _, err := ro.MarkSynced(ctx, []string{id}); err == nil {
		t.Error("MarkSynced through a read-only store succeeded")
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	// After the kiosk closed: still readable, and nothing left behind.
	ro, err = OpenReadOnly(ctx, Config{Path: path, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.CheckIntegrity(ctx); err != nil {
		t.Error(err)
	}
	ro.Close()
	for _, suffix := range []string{"-wal", "-shm"} {
		if st, err := os.Stat(path + suffix); err == nil && st.Size() > 0 {
			t.Errorf("%s left behind with %d bytes", suffix, st.Size())
		}
	}
}
