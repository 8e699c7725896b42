package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/response"
)

// sealedBatch is how many sealed contacts OpenSealedContacts opens per transaction.
const sealedBatch = 500

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// openContact opens the contact a kiosk sealed to the collector's key. It runs after the
// response's content hash is taken: the hash is of what was sent, so a retry of the same
// upload is still a duplicate. A contact that does not open stays sealed and the response
// is stored all the same: the score and the comment count whatever became of the
// contact. Without the key (none given, or one not restored yet) that is expected; a box
// that does not open under a key the collector holds was altered, and is logged.
func (s *Service) openContact(row *storage.NewResponse) {
	if row.SealedContact == "" {
		return
	}
	contact, err := openSealed(s.ContactKeys, row.ID, row.SealedContact)
	switch {
	case err == nil:
		row.Contact, row.SealedContact = contact, ""
	case errors.Is(err, contactseal.ErrUnknownKey):
	default:
		s.logger().Warn("a sealed contact does not open: the response is kept, its contact stays sealed",
			"response", row.ID, "err", err)
	}
}

// openSealed opens a sealed contact and checks what it holds with the domain's rules
// for a contact: the kiosk that sealed it is trusted no more than one that sent it in
// clear.
func openSealed(keys *contactseal.Keyring, responseID, sealed string) (string, error) {
	contact, err := keys.Open(responseID, sealed)
	if err != nil {
		return "", err
	}
	f := response.FollowUp{Outcome: response.OutcomeSubmitted, Contact: contact, ContactConsent: true}
	if err := f.Validate(); err != nil {
		return "", fmt.Errorf("the opened contact: %w", err)
	}
	return contact, nil
}

// OpenSealedContacts opens the stored contacts that were sealed to a key the collector
// did not hold when they arrived and holds now (a key file restored from a backup, or
// given to a collector that ran without one), batch by batch. It returns how many it
// opened and how many are still sealed. It is safe beside ingest and on several
// collectors at once: a row is only replaced while it still holds the same envelope.
func (s *Service) OpenSealedContacts(ctx context.Context) (opened, still int, err error) {
	after := ""
	for {
		batch, err := s.SealedContacts(ctx, after, sealedBatch)
		if err != nil {
			return opened, still, fmt.Errorf("open sealed contacts: %w", err)
		}
		if len(batch) == 0 {
			return opened, still, nil
		}
		after = batch[len(batch)-1].ResponseID
		var open []storage.OpenedContact
		for _, sc := range batch {
			contact, err := openSealed(s.ContactKeys, sc.ResponseID, sc.Sealed)
			switch {
			case err == nil:
				open = append(open, storage.OpenedContact{ResponseID: sc.ResponseID, Sealed: sc.Sealed, Contact: contact})
				continue
			case !errors.Is(err, contactseal.ErrUnknownKey):
				s.logger().Warn("a stored sealed contact does not open: it stays sealed", "response", sc.ResponseID, "err", err)
			}
			still++
		}
		n, err := s.StoreOpenedContacts(ctx, open)
		if err != nil {
			return opened, still, fmt.Errorf("open sealed contacts: %w", err)
		}
		opened += n
		still += len(open) - n // changed meanwhile: counted as still sealed, the next pass looks again
	}
}
