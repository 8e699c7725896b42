package kiosk

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
)

// openCases caches two cases as a pull would, then opens the dashboard.
func openCases(t *testing.T) *harness {
	t.Helper()
	return openCasesAt(t, landscape)
}

// openCasesAt is openCases in a window of size, with c1's contact as the collector
// sent it.
func openCasesAt(t *testing.T, size fyne.Size) *harness {
	t.Helper()
	return openCasesWith(t, size, caseContacts{known: true, contacts: map[string][2]string{"c1": {"ana@example.com", ""}}})
}

// caseContacts is the sync worker's memory of the cases' contacts: by case id, the
// contact in clear and the key id of one the collector cannot open.
type caseContacts struct {
	known    bool
	contacts map[string][2]string
}

func (c caseContacts) CaseContact(id string) (string, string, bool) {
	return c.contacts[id][0], c.contacts[id][1], c.known
}

// openCasesWith is openCasesAt with the given case contacts (nil: none).
func openCasesWith(t *testing.T, size fyne.Size, contacts CaseContacts) *harness {
	t.Helper()
	h := newHarness(t, size)
	h.app.cfg.CaseContacts = contacts
	cs := []store.Case{
		{ID: "c1", Status: followup.Open, Version: 1, DueAt: testNow.Add(-time.Hour), Score: 2, Comment: "cold coffee", HasContact: true},
		{ID: "c2", Status: followup.Contacted, Version: 4, DueAt: testNow.Add(5 * time.Hour), Score: 9},
	}
	if _, err := h.db.ReplaceCases(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
	openPIN(h)
	enterPIN(h, "2468")
	h.requireShowing("Follow-ups")
	return h
}

func TestFollowUpsShowCachedCasesWithOverdueInWords(t *testing.T) {
	h := openCases(t)
	for _, want := range []string{"cold coffee", "Contact: ana@example.com", "OVERDUE · Due Nov 20 14:30", "Due Nov 20 20:30", "(no comment)"} {
		h.requireShowing(want)
	}
	for _, label := range []string{"Contacted", "Resolved"} {
		if b := h.button(label); b.MinSize().Height < touchMin {
			t.Errorf("%s is %v high, want at least %d", label, b.MinSize().Height, touchMin)
		}
	}
}

// The case cache on disk holds no contact: the card shows the one the collector sent
// (held in the sync worker's memory), says when it will show before the kiosk has
// reached the collector, and says when the collector cannot open it.
func TestCaseCardShowsTheContactTheCollectorSent(t *testing.T) {
	for _, tt := range []struct {
		name     string
		contacts CaseContacts
		want     string
	}{
		{"sent by the collector", caseContacts{known: true, contacts: map[string][2]string{"c1": {"ana@example.com", ""}}}, "Contact: ana@example.com"},
		{"not pulled since the start", caseContacts{}, "Contact: shown when the kiosk reaches the collector"},
		{"not enrolled", nil, "Contact: shown when the kiosk reaches the collector"},
		{"sealed to a key the collector lacks", caseContacts{known: true, contacts: map[string][2]string{"c1": {"", "0123456789abcdef"}}},
			"Contact left, but the collector cannot open it (key 0123456789abcdef)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := openCasesWith(t, landscape, tt.contacts)
			h.requireShowing(tt.want)
			if got := h.app.caseContactLine(store.Case{ID: "c2"}); got != "" {
				t.Errorf("c2, which has no contact, says %q", got)
			}
		})
	}
}

func TestManagerResolvesACaseWithANoteOffline(t *testing.T) {
	h := openCases(t)
	test.Tap(h.button("Contacted")) // only the open case offers it
	h.requireShowing("Note · Contacted")
	h.typeOnKeyboard("left a message")
	test.Tap(h.button(h.app.t("keyboard.done")))
	h.requireShowing("Contacted (not synced yet)")

	pending, err := h.db.PendingCaseChanges(context.Background())
	if err != nil || len(pending) != 1 {
		t.Fatalf("queued changes: %+v, %v", pending, err)
	}
	if p := pending[0]; p.CaseID != "c1" || p.Status != followup.Contacted || p.Note != "left a message" || p.Version != 1 {
		t.Fatalf("queued change: %+v", p)
	}

	// Cancel leaves the case as it was.
	test.Tap(h.buttons("Resolved")[0])
	test.Tap(h.button("Cancel"))
	if pending, _ = h.db.PendingCaseChanges(context.Background()); len(pending) != 1 {
		t.Fatalf("Cancel queued a change: %+v", pending)
	}
}

// The note editor fits the kiosk's screens, with a short comment and with the longest.
// One taller than the window grew it past a 1280x800 screen, the keyboard's bottom row
// (Done) cut off; full screen, its title and Cancel were drawn over the top edge.
func TestNoteEditorFitsTheScreen(t *testing.T) {
	for _, size := range []fyne.Size{landscape, fyne.NewSize(800, 1280)} {
		for _, comment := range []string{"cold coffee", strings.Repeat("the queue was long ", response.MaxCommentRunes/19)} {
			t.Run(fmt.Sprintf("%s/%d_runes", sizeString(size), len(comment)), func(t *testing.T) {
				h := openCasesAt(t, size)
				cs := []store.Case{{ID: "c1", Status: followup.Open, Version: 1, DueAt: testNow.Add(time.Hour), Score: 2, Comment: comment}}
				if _, err := h.db.ReplaceCases(context.Background(), cs); err != nil {
					t.Fatal(err)
				}
				h.app.showManager()
				test.Tap(h.button("Resolved"))
				h.requireShowing("Note · Resolved")
				if got := h.win.Content().MinSize(); got.Width > size.Width || got.Height > size.Height {
					t.Errorf("the note editor needs %v, more than the %v screen", got, size)
				}
			})
		}
	}
}

func TestRefusedMoveIsToldWithTheNoteKept(t *testing.T) {
	h := openCases(t)
	ctx := context.Background()
	ch, err := h.db.QueueCaseChange(ctx, "c2", followup.Resolved, "voucher sent")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.MarkCaseChangeRejected(ctx, ch.ID, "stale", followup.ClosedNoAction); err != nil {
		t.Fatal(err)
	}
	h.app.showManager()
	h.requireShowing("Changed at HQ: now Closed without action. Your note was not sent: “voucher sent”")
	test.Tap(h.button("OK"))
	if h.showing("Changed at HQ") {
		t.Fatal("the notice stays after OK")
	}
}

func TestFollowUpStringsAreTranslated(t *testing.T) {
	h := newHarness(t, landscape)
	keys := []string{"manager.followups", "manager.no_cases", "case.open", "case.contacted", "case.resolved", "case.closed-no-action",
		"case.score", "case.status", "case.pending", "case.due", "case.overdue", "case.contact", "case.contact_offline", "case.contact_sealed", "case.no_comment",
		"case.note_title", "case.cancel", "case.dismiss", "case.rejected_hq", "case.rejected"}
	for _, lang := range []string{"en", "es", "fr", "de"} {
		for _, k := range keys {
			if got := h.app.cfg.Catalog.T(lang, k); got == k || (lang != "en" && k != "case.status" && got == h.app.cfg.Catalog.T("en", k)) {
				t.Errorf("%s: %s is not translated (%q)", lang, k, got)
			}
		}
	}
}

// buttons finds every button labelled label on screen.
func (h *harness) buttons(label string) []*button {
	var out []*button
	for _, o := range objects(h.win.Content()) {
		if b, ok := o.(*button); ok && b.text == label {
			out = append(out, b)
		}
	}
	return out
}
