package sync

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// CaseStore is the part of the kiosk's store that keeps the store's follow-up cases and
// the manager's queued moves of them.
type CaseStore interface {
	ReplaceCases(ctx context.Context, cs []store.Case) (changed bool, err error)
	PendingCaseChanges(ctx context.Context) ([]store.CaseChange, error)
	MarkCaseChangeSynced(ctx context.Context, changeID string, now store.Case) error
	MarkCaseChangeRejected(ctx context.Context, changeID, reason string, now followup.Status) error
}

// SyncCases sends the manager's queued moves of cases, oldest first, then pulls the
// store's open cases. A move the collector refuses for good (HQ changed the case first,
// or it no longer exists) is marked rejected with the case's status at HQ, so the
// manager is told; a network failure or a busy collector leaves the rest queued and
// skips the pull, to try again next round. Without a CaseStore it does nothing.
func (w *Worker) SyncCases(ctx context.Context) error {
	_, err := w.syncCases(ctx)
	return err
}

// syncCases is SyncCases; moved says whether a queued move was sent or the pulled cases
// differ from the cached ones.
func (w *Worker) syncCases(ctx context.Context) (moved bool, err error) {
	cs := w.cases()
	if cs == nil {
		return false, nil
	}
	pending, err := cs.PendingCaseChanges(ctx)
	if err != nil {
		return false, fmt.Errorf("read queued case changes: %w", err)
	}
	for _, ch := range pending {
		if err := w.pushCaseChange(ctx, cs, ch); err != nil {
			return true, err
		}
	}
	changed, err := w.pullCases(ctx)
	return changed || len(pending) > 0, err
}

func (w *Worker) cases() CaseStore {
	if w.cfg.Cases != nil {
		return w.cfg.Cases
	}
	cs, _ := w.cfg.Store.(CaseStore)
	return cs
}

func (w *Worker) pushCaseChange(ctx context.Context, cs CaseStore, ch store.CaseChange) error {
	body, err := json.Marshal(wire.CaseChange{ChangeID: ch.ID, Status: string(ch.Status), Note: ch.Note, Version: ch.Version})
	if err != nil {
		return fmt.Errorf("encode case change %s: %w", ch.ID, err)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost,
		w.cfg.CollectorURL+"/v1/device/cases/"+url.PathEscape(ch.CaseID), body)
	if err != nil {
		return fmt.Errorf("build case change request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, raw, err := w.send(req)
	if err != nil {
		return err
	}
	// The collector has decided; apply its answer even if a shutdown is under way, so
	// the move is not sent again for nothing.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	switch resp.StatusCode {
	case http.StatusOK:
		var c wire.Case
		if err := json.Unmarshal(raw, &c); err != nil {
			return w.fail(fmt.Errorf("read the collector's answer to case change %s: %w", ch.ID, err), true)
		}
		w.keepCaseContact(c)
		if err := cs.MarkCaseChangeSynced(actx, ch.ID, fromWireCase(c)); err != nil {
			return fmt.Errorf("mark case change %s synced: %w", ch.ID, err)
		}
		return nil
	case http.StatusConflict:
		var c wire.CaseConflict
		json.Unmarshal(raw, &c)
		var now followup.Status
		if c.Case != nil {
			now = followup.Status(c.Case.Status)
		}
		w.log.Warn("the collector refused a case change: the case changed at HQ", "case", ch.CaseID, "change", ch.ID, "now", now, "detail", c.Detail)
		if err := cs.MarkCaseChangeRejected(actx, ch.ID, c.Detail, now); err != nil {
			return fmt.Errorf("mark case change %s rejected: %w", ch.ID, err)
		}
		return nil
	}
	// Another store's, unknown or malformed: sending it again would fail the same way.
	var e wire.Error
	json.Unmarshal(raw, &e)
	reason := cmp.Or(e.Detail, e.Error, resp.Status)
	w.log.Warn("the collector refused a case change", "case", ch.CaseID, "change", ch.ID, "status", resp.Status, "detail", reason)
	if err := cs.MarkCaseChangeRejected(actx, ch.ID, reason, ""); err != nil {
		return fmt.Errorf("mark case change %s rejected: %w", ch.ID, err)
	}
	return nil
}

// PullCases replaces the cached cases with the store's open ones at the collector.
func (w *Worker) PullCases(ctx context.Context) error {
	_, err := w.pullCases(ctx)
	return err
}

// pullCases is PullCases; changed says whether the pulled cases differ from the cached
// ones.
func (w *Worker) pullCases(ctx context.Context) (changed bool, err error) {
	cs := w.cases()
	if cs == nil {
		return false, nil
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, w.cfg.CollectorURL+"/v1/device/cases", nil)
	if err != nil {
		return false, fmt.Errorf("build cases request: %w", err)
	}
	resp, raw, err := w.send(req)
	if err != nil {
		return false, err
	}
	if resp.StatusCode == http.StatusNotFound {
		// A collector from before follow-up cases: nothing to show, nothing wrong.
		return false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return false, w.fail(fmt.Errorf("the collector refused the cases request (%s)", resp.Status), true)
	}
	var list wire.CaseList
	if err := json.Unmarshal(raw, &list); err != nil {
		return false, w.fail(fmt.Errorf("read the store's cases: %w", err), true)
	}
	out := make([]store.Case, 0, len(list.Cases))
	for _, c := range list.Cases {
		out = append(out, fromWireCase(c))
	}
	changed, err = cs.ReplaceCases(ctx, out)
	if err != nil {
		return false, fmt.Errorf("cache the store's cases: %w", err)
	}
	w.keepCaseContacts(list.Cases)
	return changed, nil
}

// send makes a request whose 4xx answers the caller reads itself. It returns an error,
// recorded in the status, when the collector cannot be reached, is busy or failing
// (the request may succeed later), or refuses the token.
func (w *Worker) send(req *retryablehttp.Request) (*http.Response, []byte, error) {
	req.Header.Set("Authorization", "Bearer "+w.cfg.Token)
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, nil, w.fail(fmt.Errorf("cannot reach the collector at %s: %w", w.cfg.CollectorURL, err), false)
	}
	defer resp.Body.Close()
	w.noteTLS(resp)
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, nil, w.fail(fmt.Errorf("read the collector's answer: %w", err), false)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		w.update(func(s *Status) { s.Revoked = true })
		return nil, nil, w.fail(ErrRevoked, true)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		var e wire.Error
		json.Unmarshal(raw, &e)
		return nil, nil, w.fail(fmt.Errorf("the collector is busy or failing (%s): %s", resp.Status, e.Detail), false)
	}
	w.update(func(s *Status) { s.Online, s.LastError = true, "" })
	return resp, raw, nil
}

// fromWireCase is a case as the kiosk caches it: without its contact, which the worker
// keeps in memory only (keepCaseContacts).
func fromWireCase(c wire.Case) store.Case {
	return store.Case{ID: c.ID, Status: c.Status, Version: c.Version, OpenedAt: c.OpenedAt, DueAt: c.DueAt,
		Score: c.Response.Score, Reasons: c.Response.Reasons, Comment: c.Response.Comment,
		HasContact: c.Response.Contact != "" || c.Response.ContactSealed != "", Locale: c.Response.Locale}
}
