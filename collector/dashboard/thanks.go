package dashboard

import (
	"net/http"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
)

// thankYouRow is a promoter's thank-you e-mail as the Follow-ups page and a case's
// contact history show it: what became of it, in words, on the store's clock.
type thankYouRow struct {
	storage.ThankYouLine
	Store storage.Store
}

// Category is the response's NPS category, for the score's badge.
func (t thankYouRow) Category() string { return nps.Score(t.Score).Category().String() }

// When is when it was sent, or else queued, on the store's clock.
func (t thankYouRow) When() string {
	if !t.SentAt.IsZero() {
		return shortTime(t.SentAt, t.Store)
	}
	return shortTime(t.CreatedAt, t.Store)
}

// Outcome says what became of the e-mail.
func (t thankYouRow) Outcome() string {
	switch t.Status {
	case storage.ThankYouSent:
		return "Thank-you e-mail sent"
	case storage.ThankYouPending:
		if t.Attempts > 0 {
			return "Thank-you e-mail waiting to be tried again"
		}
		return "Thank-you e-mail queued"
	case storage.ThankYouSkipped:
		return "Thank-you e-mail not sent: " + t.LastError
	case storage.ThankYouCancelled:
		return "Thank-you e-mail not sent: " + t.LastError
	case storage.ThankYouFailed:
		return "Thank-you e-mail failed: " + t.LastError
	}
	return t.Status
}

// Flagged reports an e-mail that did not go out for a reason someone should look at.
func (t thankYouRow) Flagged() bool {
	return t.Status == storage.ThankYouFailed || t.Status == storage.ThankYouPending && t.Attempts > 0
}

// thankYouRows reads thank-you e-mails for a page, with the stores the reader may see.
func (d *Dashboard) thankYouRows(r *http.Request, f storage.ThankYouFilter, stores map[string]storage.Store) ([]thankYouRow, error) {
	ls, err := d.svc.ThankYous(r.Context(), f)
	if err != nil {
		return nil, err
	}
	out := make([]thankYouRow, 0, len(ls))
	for _, l := range ls {
		st, ok := stores[l.StoreID]
		if !ok {
			st = storage.Store{ID: l.StoreID, Name: l.StoreID}
		}
		out = append(out, thankYouRow{ThankYouLine: l, Store: st})
	}
	return out, nil
}
