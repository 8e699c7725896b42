package kiosk

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
)

// fillableStore is the kiosk's store on a disk a test can fill: while full, taps are
// refused as store.DB refuses them and StorageFull says so.
type fillableStore struct {
	*store.DB
	full atomic.Bool
}

func (s *fillableStore) StorageFull() bool { return s.full.Load() }

func (s *fillableStore) Record(ctx context.Context, tap response.Tap) (store.Recorded, error) {
	if s.full.Load() {
		return store.Recorded{}, fmt.Errorf("record tap: %w: database or disk is full", store.ErrStorageFull)
	}
	return s.DB.Record(ctx, tap)
}

// fillable puts a fillableStore, full or not, under the harness's app and shows the
// rating screen.
func (h *harness) fillable(full bool) *fillableStore {
	s := &fillableStore{DB: h.db}
	s.full.Store(full)
	h.app.cfg.Capture, h.app.cfg.Storage = s, s
	h.app.showRating()
	return s
}

// TestOutOfServiceWhileStorageFull: a tap the store cannot keep turns the rating screen
// into "out of service" (not a tap lost behind an error line), which stays while the
// disk is full and gives way to the scores by itself once space returns.
func TestOutOfServiceWhileStorageFull(t *testing.T) {
	h := newHarness(t, landscape)
	disk := h.fillable(false)

	disk.full.Store(true) // the disk fills while the scores show
	test.Tap(h.button("7"))
	h.requireShowing("Out of service")
	h.requireShowing("Storage is full")
	if h.showingExactly("7") {
		t.Fatalf("scores still offered on a full disk: %q", h.texts())
	}

	h.clock.Advance(storageRecheck)
	h.requireShowing("Out of service")

	disk.full.Store(false) // space returns
	h.clock.Advance(storageRecheck)
	test.Tap(h.button("7"))
	if ob := h.outbox(); ob.Open != 1 {
		t.Fatalf("after space returned, outbox %+v, want the tap stored (open)", ob)
	}
	h.requireShowing("Submit")
}

// TestOutOfServiceAtStart: a kiosk that starts on a full disk shows "out of service" in
// the shopper's language rather than scores.
func TestOutOfServiceAtStart(t *testing.T) {
	h := newHarness(t, landscape)
	h.app.cfg.Language = "de"
	h.fillable(true)
	h.requireShowing("Außer Betrieb")
	h.requireShowing("Der Speicher ist voll")
}
