package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// ContactKeyStore keeps the collector's key the kiosk seals contacts to (store.DB does).
type ContactKeyStore interface {
	ContactKey(ctx context.Context) (contactseal.PublicKey, bool, error)
	SetContactKey(ctx context.Context, k contactseal.PublicKey) error
	ForgetContactKey(ctx context.Context) error
}

func (w *Worker) contactKeys() ContactKeyStore {
	if w.cfg.ContactKeys != nil {
		return w.cfg.ContactKeys
	}
	ks, _ := w.cfg.Store.(ContactKeyStore)
	return ks
}

// PullContactKey asks the collector for its current contact key and keeps it when it
// changed, so a rotation reaches the kiosk with the next survey pull. A collector that
// has none (404) could not open a contact sealed now: the kiosk forgets its key and
// stops asking shoppers for contacts. Without a ContactKeyStore it does nothing.
func (w *Worker) PullContactKey(ctx context.Context) error {
	ks := w.contactKeys()
	if ks == nil {
		return nil
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, w.cfg.CollectorURL+"/v1/contact-key", nil)
	if err != nil {
		return fmt.Errorf("build contact key request: %w", err)
	}
	resp, raw, err := w.send(req)
	if err != nil {
		return err
	}
	have, had, err := ks.ContactKey(ctx)
	if err != nil {
		return fmt.Errorf("read the kiosk's contact key: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		// "no_contact_key", or a collector from before contact keys: neither opens one.
		if had {
			if err := ks.ForgetContactKey(ctx); err != nil {
				return err
			}
			w.log.Warn("the collector has no contact key any more: contacts are no longer asked for", "was", have.ID)
		}
		return nil
	default:
		return w.fail(fmt.Errorf("the collector refused the contact key request (%s)", resp.Status), true)
	}
	var k wire.ContactKey
	if err := json.Unmarshal(raw, &k); err != nil {
		return w.fail(fmt.Errorf("read the collector's contact key: %w", err), true)
	}
	if err := k.Check(); err != nil {
		return w.fail(fmt.Errorf("the collector sent an unusable contact key, keeping the current one: %w", err), true)
	}
	if had && have.ID == k.ID {
		return nil
	}
	if err := ks.SetContactKey(ctx, k); err != nil {
		return err
	}
	w.log.Info("new contact key from the collector", "key", k.ID, "was", have.ID)
	return nil
}

// noteTLS records when the collector's certificate expires, as this answer showed it,
// for the heartbeat; an answer over plain HTTP clears it.
func (w *Worker) noteTLS(resp *http.Response) {
	var expiry time.Time
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		expiry = resp.TLS.PeerCertificates[0].NotAfter
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.certExpiry = expiry
}

// CollectorCertExpiry is when the collector's TLS certificate expires, as last seen;
// zero over plain HTTP or before the first answer.
func (w *Worker) CollectorCertExpiry() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.certExpiry
}

// caseContact is a case's contact as the collector sent it with the case.
type caseContact struct {
	contact string // opened by the collector
	sealed  string // the key id of a contact the collector cannot open
}

// keepCaseContacts replaces the contacts held in memory with those of a pull. They are
// never written to disk.
func (w *Worker) keepCaseContacts(cs []wire.Case) {
	m := make(map[string]caseContact, len(cs))
	for _, c := range cs {
		if c.Response.Contact != "" || c.Response.ContactSealed != "" {
			m[c.ID] = caseContact{contact: c.Response.Contact, sealed: c.Response.ContactSealed}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.caseContacts = m
}

// keepCaseContact updates one case's contact held in memory, from the collector's answer
// to a move, when the cases have been pulled.
func (w *Worker) keepCaseContact(c wire.Case) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.caseContacts == nil {
		return
	}
	delete(w.caseContacts, c.ID)
	if c.Response.Contact != "" || c.Response.ContactSealed != "" {
		w.caseContacts[c.ID] = caseContact{contact: c.Response.Contact, sealed: c.Response.ContactSealed}
	}
}

// CaseContact is the contact of a case as the collector last sent it: contact in clear,
// or sealedKeyID when the collector could not open it (sealed to a key it does not
// hold). known is false until the worker has pulled the cases since it started: the
// kiosk keeps contacts in memory only, so after a restart it learns them from the
// collector again.
func (w *Worker) CaseContact(caseID string) (contact, sealedKeyID string, known bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.caseContacts == nil {
		return "", "", false
	}
	c := w.caseContacts[caseID]
	return c.contact, c.sealed, true
}
