// Package collector is the collector's service: the rules it applies between the HTTP
// API (collector/httpapi), the HQ dashboard (collector/dashboard) and the database
// (collector/storage). Ingest checks every response with the domain's rules (package
// response), exactly as the kiosk does, before storage sees it; report filters are read
// here once for the API and the dashboard.
package collector

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/pii"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// MaxClockSkew is how far in the future a device's timestamp may be before the response
// is rejected: device clocks drift, but not by days.
const MaxClockSkew = 10 * time.Minute

// Service is the collector's behaviour over its database. The storage methods it embeds
// are its plain reads and writes (stores, devices, tokens, surveys, reports); what takes
// rules of its own, ingest, is defined here.
type Service struct {
	*storage.DB
	// EventsQueued, when set, is called after a commit that queued events, such as the
	// alert worker's Wake. It must not block.
	EventsQueued func()
	// ContactKeys opens the contacts kiosks seal; its current key is handed to kiosks at
	// enrollment and at GET /v1/contact-key. Nil: the collector has no contact key, so
	// kiosks ask for no contact, and a sealed one is kept sealed.
	ContactKeys *contactseal.Keyring
	// MinResponses is the fewest responses each side of a comparison needs before its
	// difference is called significant, and a store before it is ranked, unless a
	// report asks for another (min_n); zero: nps.DefaultMinResponses.
	MinResponses int64
	// Logger receives what the service notes without failing, such as a sealed contact
	// that does not open; nil: nothing is logged.
	Logger *slog.Logger

	// analyzers tag comments at ingest, one per taxonomy.
	analyzers analyzers
	// noTagging stores responses untagged: only benchmarks set it (export_test.go), to
	// measure what tagging costs.
	noTagging bool
	// retagBatch is how many responses a re-tagging batch takes; zero: retagBatch.
	retagBatch int
	// themeWake wakes the re-tagging worker after a survey change.
	themeWake chan struct{}
	themeOnce sync.Once
	// masked counts the personal data masked at ingest (MaskedCounts).
	masked maskCounts
	// zones caches the stores' time zones by name (location): time.LoadLocation reads
	// and parses the zone's file on every call, and ingest needs one per upload.
	zones sync.Map
}

// location is time.LoadLocation, cached. A zone's rules are read once per process: new
// tzdata installed under a running collector is seen after a restart.
func (s *Service) location(name string) (*time.Location, error) {
	if loc, ok := s.zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	s.zones.Store(name, loc)
	return loc, nil
}

// ContactKey is the key kiosks are to seal contacts to, and false when there is none.
func (s *Service) ContactKey() (wire.ContactKey, bool) {
	if s.ContactKeys == nil {
		return wire.ContactKey{}, false
	}
	return s.ContactKeys.Current(), true
}

// Enroll exchanges an enrollment code or key for the device's identity and token (see
// storage.DB.Enroll), with the key to seal contacts to.
func (s *Service) Enroll(ctx context.Context, req wire.EnrollRequest) (wire.EnrollResponse, error) {
	res, err := s.DB.Enroll(ctx, req)
	if err != nil {
		return res, err
	}
	if k, ok := s.ContactKey(); ok {
		res.ContactKey = &k
	}
	return res, nil
}

// New returns the service over an open database.
func New(db *storage.DB) *Service { return &Service{DB: db} }

func (s *Service) eventsQueued() {
	if s.EventsQueued != nil {
		s.EventsQueued()
	}
}

// Ingest stores a batch from one device. Each response is accepted (new), duplicate (the
// same id with the same content: a retry) or rejected with a reason (invalid, or the same
// id with other content, whose original is kept). A new response that matches the
// store's follow-up rule opens a case, and one that matches its thank-you rule queues a
// thank-you e-mail. The batch, its cases and rollups are stored in one
// transaction, so a retry can never count twice nor open a second case.
func (s *Service) Ingest(ctx context.Context, d storage.EnrolledDevice, batch []wire.Response) (wire.UploadResult, error) {
	return s.IngestUpload(ctx, d, wire.DeviceUpload{UploadRequest: wire.UploadRequest{Responses: batch}})
}

// IngestUpload is Ingest for a whole upload: when it carries the device's clock
// (DeviceTime, Ages), times off by more than a few seconds are corrected, the device's
// kept beside them, instead of a fast clock's responses being rejected; a time before the
// device's enrollment or still in the future is flagged (suspect, clock_flag).
func (s *Service) IngestUpload(ctx context.Context, d storage.EnrolledDevice, req wire.DeviceUpload) (wire.UploadResult, error) {
	batch := req.Responses
	res := wire.UploadResult{Accepted: []string{}, Duplicate: []string{}, Rejected: []wire.Rejection{}}
	settings, err := s.UploadSettings(ctx, d.ID)
	if err != nil {
		return res, fmt.Errorf("ingest: %w", err)
	}
	enrolled, survey, rule, thanks := settings.EnrolledAt, settings.Survey, settings.FollowUp, settings.Thanks
	loc, err := s.location(d.Timezone)
	if err != nil {
		return res, fmt.Errorf("ingest: store %s time zone: %w", d.StoreID, err)
	}
	tagger, err := s.taggerForIngest(survey)
	if err != nil {
		return res, fmt.Errorf("ingest: store %s: %w", d.StoreID, err)
	}
	masking := s.maskingFor(survey)
	// Each item's fate, in batch order: a rejection or duplicate known before storage,
	// or the index of its row in what storage is asked to insert.
	type fate struct {
		rejected, duplicate string
		row                 int
	}
	now := s.Now()
	clock := newDeviceClock(now, req, enrolled)
	// A device that says what its clock reads has its times corrected rather than refused.
	checkClock := req.DeviceTime.IsZero()
	seen := make(map[string]bool, len(batch))
	fates := make([]fate, len(batch))
	rows := make([]storage.NewResponse, 0, len(batch))
	var masked []pii.Counts // by row
	for i, r := range batch {
		switch err := validate(r, survey, now, checkClock); {
		case err != nil:
			fates[i].rejected = err.Error()
		case r.ChannelOrKiosk() != response.ChannelKiosk:
			fates[i].rejected = fmt.Sprintf("%s: channel %q: a kiosk's responses are channel kiosk", response.ErrInvalid, r.Channel)
		case seen[r.ID]:
			fates[i].duplicate = r.ID
		default:
			seen[r.ID] = true
			fates[i].row = len(rows)
			row := storage.NewResponse{Response: r, Hash: r.ContentHash()}
			row.Channel = response.ChannelKiosk          // after the hash: a kiosk that sends no channel keeps its hashes
			clock.correct(&row)                          // after the hash too: a retry has the same hash
			s.openContact(&row)                          // likewise: the hash is of the contact as sealed
			masked = append(masked, mask(masking, &row)) // likewise: a retry from a kiosk that sent it raw matches
			row.Day = row.CreatedAt.In(loc).Format(time.DateOnly)
			r = row.Response
			if rule.Matches(r, response.ChannelKiosk) {
				// The SLA runs from when the collector hears of the response: a kiosk that
				// was offline for a day does not hand the store an overdue case.
				row.Case = &storage.NewCase{ID: uuid.Must(uuid.NewV7()).String(), DueAt: rule.Due(now, loc)}
			}
			row.Thanks = thanksFor(thanks, r, response.ChannelKiosk)
			tagger.tag(&row)
			rows = append(rows, row)
		}
	}
	stored, err := s.InsertBatch(ctx, storage.Origin{StoreID: d.StoreID, DeviceID: d.ID}, rows)
	if err != nil {
		return res, fmt.Errorf("ingest: %w", err)
	}
	if clock.hasSkew {
		// The devices page and /metrics show it between heartbeats too.
		s.NoteClockSkew(d.ID, clock.skew)
	}
	if stored.Events > 0 {
		s.eventsQueued()
	}
	results := stored.Results
	for i, c := range masked {
		if results[i] == storage.Inserted {
			s.countMasked(c)
		}
	}
	for i, r := range batch {
		f := fates[i]
		switch {
		case f.rejected != "":
			res.Rejected = append(res.Rejected, wire.Rejection{ID: r.ID, Error: f.rejected})
		case f.duplicate != "":
			res.Duplicate = append(res.Duplicate, r.ID)
		case results[f.row] == storage.Inserted:
			res.Accepted = append(res.Accepted, r.ID)
		case results[f.row] == storage.SameContent:
			res.Duplicate = append(res.Duplicate, r.ID)
		default:
			res.Rejected = append(res.Rejected, wire.Rejection{ID: r.ID, Error: "conflict: this id was already stored with other content"})
		}
	}
	return res, nil
}

// ChangeCase applies a change to a case (see storage.DB.ChangeCase) and wakes the alert
// worker for the case.updated event it queued.
func (s *Service) ChangeCase(ctx context.Context, id string, ch storage.CaseChange) (storage.Case, error) {
	c, err := s.DB.ChangeCase(ctx, id, ch)
	if err == nil {
		s.eventsQueued()
	}
	return c, err
}

// ChangeCaseFromDevice applies a kiosk's change to a case (see
// storage.DB.ChangeCaseFromDevice) and wakes the alert worker for its case.updated event.
func (s *Service) ChangeCaseFromDevice(ctx context.Context, d storage.EnrolledDevice, id string, ch storage.DeviceCaseChange) (storage.Case, error) {
	c, err := s.DB.ChangeCaseFromDevice(ctx, d, id, ch)
	if err == nil {
		s.eventsQueued()
	}
	return c, err
}

// validate checks one response: the domain's rules, as the kiosk applies them, then
// what only the collector can check (the store's survey and the collector's clock).
func validate(r wire.Response, survey wire.Survey, now time.Time, checkClock bool) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := r.CheckReasons(survey); err != nil {
		return err
	}
	if err := r.CheckAnswers(survey); err != nil {
		return err
	}
	if !checkClock {
		return nil
	}
	return r.CheckClock(now, MaxClockSkew)
}

// IngestFromDevice stores a batch as if the enrolled device deviceID had posted it: for
// imports and benchmarks that bypass HTTP.
func (s *Service) IngestFromDevice(ctx context.Context, deviceID string, batch []wire.Response) (wire.UploadResult, error) {
	d, err := s.Device(ctx, deviceID)
	if err != nil {
		return wire.UploadResult{}, fmt.Errorf("ingest: %w", err)
	}
	return s.Ingest(ctx, d, batch)
}
