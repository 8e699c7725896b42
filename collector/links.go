package collector

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/pii"
	"github.com/npskiosk/npskiosk/response"
)

// linkResponse checks a response that came through a survey link, gives it the link's
// channel and touchpoint, and readies it for storage with its case and thank-you if the
// store's rules call for them. The rules are the kiosk's: the one domain package's.
func (s *Service) linkResponse(ctx context.Context, l storage.Link, r response.Response) (storage.NewResponse, pii.Counts, error) {
	now := s.Now()
	if err := l.Open(now); err != nil {
		return storage.NewResponse{}, nil, err
	}
	st, err := s.Store(ctx, l.StoreID)
	if err != nil {
		return storage.NewResponse{}, nil, err
	}
	loc, err := s.location(st.Timezone)
	if err != nil {
		return storage.NewResponse{}, nil, fmt.Errorf("store %s time zone: %w", st.ID, err)
	}
	survey, err := s.Survey(ctx, l.StoreID)
	if err != nil {
		return storage.NewResponse{}, nil, err
	}
	r.Channel, r.Touchpoint = l.Channel, l.Touchpoint
	if err := validate(r, survey, now, true); err != nil {
		return storage.NewResponse{}, nil, err
	}
	rule, err := s.FollowUpRule(ctx, l.StoreID)
	if err != nil {
		return storage.NewResponse{}, nil, err
	}
	thanks, err := s.ThanksRule(ctx, l.StoreID)
	if err != nil {
		return storage.NewResponse{}, nil, err
	}
	row := storage.NewResponse{Response: r, Day: r.CreatedAt.In(loc).Format(time.DateOnly), Hash: r.ContentHash()}
	s.openContact(&row) // after the hash: it is of the contact as sealed, so a retry matches
	masked := mask(s.maskingFor(survey), &row)
	r = row.Response
	if rule.Matches(r, l.Channel) {
		row.Case = &storage.NewCase{ID: uuid.Must(uuid.NewV7()).String(), DueAt: rule.Due(now, loc)}
	}
	row.Thanks = thanksFor(thanks, r, l.Channel)
	tagger, err := s.taggerForIngest(survey)
	if err != nil {
		return storage.NewResponse{}, nil, fmt.Errorf("store %s: %w", l.StoreID, err)
	}
	tagger.tag(&row)
	return row, masked, nil
}

// IngestFromLink stores a response that came through an open survey link: a retry of
// the same content is SameContent, a new content for a stored id Conflict (revise it
// with ReviseFromLink instead). Invalid input wraps response.ErrInvalid; a closed link
// storage.ErrLinkClosed.
func (s *Service) IngestFromLink(ctx context.Context, l storage.Link, r response.Response) (storage.InsertResult, error) {
	row, masked, err := s.linkResponse(ctx, l, r)
	if err != nil {
		return 0, fmt.Errorf("answer through link %s: %w", l.Code, err)
	}
	stored, err := s.InsertBatch(ctx, storage.Origin{StoreID: l.StoreID, LinkID: l.ID}, []storage.NewResponse{row})
	if err != nil {
		return 0, fmt.Errorf("answer through link %s: %w", l.Code, err)
	}
	if stored.Results[0] == storage.Inserted {
		s.countMasked(masked)
	}
	if stored.Events > 0 {
		s.eventsQueued()
	}
	return stored.Results[0], nil
}

// ReviseFromLink replaces a response the same link stored before: the shopper's
// follow-up after the score, or a second answer to one invitation. It is counted once,
// in its new category; see storage.DB.ReviseResponse.
func (s *Service) ReviseFromLink(ctx context.Context, l storage.Link, r response.Response) (storage.Revision, error) {
	row, masked, err := s.linkResponse(ctx, l, r)
	if err != nil {
		return storage.Revision{}, fmt.Errorf("revise through link %s: %w", l.Code, err)
	}
	rev, err := s.ReviseResponse(ctx, storage.Origin{StoreID: l.StoreID, LinkID: l.ID}, row)
	if err != nil {
		return storage.Revision{}, fmt.Errorf("revise through link %s: %w", l.Code, err)
	}
	if rev.Changed {
		s.countMasked(masked)
	}
	if rev.Events > 0 {
		s.eventsQueued()
	}
	return rev, nil
}
