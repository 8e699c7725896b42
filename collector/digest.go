package collector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// DefaultDigestHour is the local hour at which a store's daily digest goes out.
const DefaultDigestHour = 7

// Digest is what a daily digest tells: a store's to its manager, or a region's or the
// chain's (StoreID empty) with a line per store.
type Digest struct {
	StoreID       string            `json:"store_id,omitempty"`
	StoreName     string            `json:"store_name,omitempty"`
	ScopeKind     string            `json:"scope_kind"`      // store, region or chain
	Scope         string            `json:"scope,omitempty"` // the store or region id
	Day           string            `json:"day"`             // yesterday, in the store's time zone
	NPS           float64           `json:"nps"`
	MarginOfError float64           `json:"margin_of_error"`
	Responses     int64             `json:"responses"`
	Trend         []DigestDay       `json:"trend"` // the 7 days up to Day, oldest first
	NewCases      int64             `json:"new_cases"`
	OverdueCases  int64             `json:"overdue_cases"`
	TopReasons    []DigestReason    `json:"top_detractor_reasons"` // over the 7 days, at most 3
	Week          storage.NPSReport `json:"week"`
	Stores        []DigestStore     `json:"stores,omitempty"` // a region's or the chain's, lowest NPS first
}

// DigestDay is one day of the digest's trend.
type DigestDay struct {
	Day       string  `json:"day"`
	NPS       float64 `json:"nps"`
	Responses int64   `json:"responses"`
}

// DigestReason is a reason detractors gave, with how many did.
type DigestReason struct {
	Reason     string `json:"reason"`
	Detractors int64  `json:"detractors"`
}

// DigestStore is one store's line in a region's or the chain's digest.
type DigestStore struct {
	StoreID       string  `json:"store_id"`
	StoreName     string  `json:"store_name"`
	NPS           float64 `json:"nps"`
	MarginOfError float64 `json:"margin_of_error"`
	Responses     int64   `json:"responses"`
	NewCases      int64   `json:"new_cases"`
	OverdueCases  int64   `json:"overdue_cases"`
}

// digestFigures fills in what every digest has for a filter covering one day: that
// day's NPS, the 7-day trend up to it, and the detractors' top reasons of the 7 days.
func (s *Service) digestFigures(ctx context.Context, d *Digest, f storage.Filter, day time.Time) error {
	d.Day = day.Format(time.DateOnly)
	f.From, f.To = d.Day, d.Day
	yesterday, err := s.NPS(ctx, f)
	if err != nil {
		return err
	}
	d.NPS, d.MarginOfError, d.Responses = yesterday.NPS, yesterday.MarginOfError, yesterday.Responses
	f.From = day.AddDate(0, 0, -6).Format(time.DateOnly)
	if d.Week, err = s.NPS(ctx, f); err != nil {
		return err
	}
	points, err := s.Trend(ctx, f, "day")
	if err != nil {
		return err
	}
	byDay := map[string]storage.TrendPoint{}
	for _, p := range points {
		byDay[p.Start] = p
	}
	for i := 6; i >= 0; i-- {
		date := day.AddDate(0, 0, -i).Format(time.DateOnly)
		p := byDay[date]
		d.Trend = append(d.Trend, DigestDay{Day: date, NPS: p.NPS, Responses: p.Responses})
	}
	reasons, err := s.Reasons(ctx, f)
	if err != nil {
		return err
	}
	slices.SortStableFunc(reasons, func(a, b storage.ReasonCount) int { return cmp.Compare(b.Detractors, a.Detractors) })
	for _, r := range reasons {
		if r.Detractors == 0 || len(d.TopReasons) == 3 {
			break
		}
		d.TopReasons = append(d.TopReasons, DigestReason{Reason: r.Reason, Detractors: r.Detractors})
	}
	return nil
}

// storeDigest gathers a store's digest of a local day (midnight in the store's zone).
func (s *Service) storeDigest(ctx context.Context, st storage.Store, day time.Time) (Digest, error) {
	d := Digest{StoreID: st.ID, StoreName: st.Name, ScopeKind: storage.ScopeStore, Scope: st.ID}
	if err := s.digestFigures(ctx, &d, storage.Filter{StoreID: st.ID}, day); err != nil {
		return Digest{}, err
	}
	var err error
	if d.NewCases, d.OverdueCases, err = s.CaseCounts(ctx, st.ID, day, day.AddDate(0, 0, 1)); err != nil {
		return Digest{}, err
	}
	return d, nil
}

// digestDay is the local day a store's digest tells of at now: yesterday once the
// digest hour has come, else the day before, whose digest went out this time yesterday.
func digestDay(now time.Time, loc *time.Location, hour int) (day time.Time, ready bool) {
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	if local.Hour() < hour {
		return today.AddDate(0, 0, -2), false
	}
	return today.AddDate(0, 0, -1), true
}

// SendDigests emits the daily digest of every store whose local time has reached hour
// and whose digest for yesterday has not gone out. Then each region's and the chain's:
// they tell of a day once every one of their stores has had its own digest of it, so a
// chain across time zones gets its digest when its last store's hour comes. It returns
// what it sent ("S042", "region:North", "chain"). Run it as often as you like: each
// day is told once.
func (s *Service) SendDigests(ctx context.Context, now time.Time, hour int) ([]string, error) {
	stores, err := s.StoreList(ctx)
	if err != nil {
		return nil, fmt.Errorf("digests: %w", err)
	}
	var (
		sent []string
		errs []error
		days = map[string]time.Time{} // each store's digest day, at local midnight
	)
	for _, st := range stores {
		loc, err := time.LoadLocation(st.Timezone)
		if err != nil {
			errs = append(errs, fmt.Errorf("digest of %s: %w", st.ID, err))
			continue
		}
		day, ready := digestDay(now, loc, hour)
		days[st.ID] = day
		if !ready {
			continue
		}
		d, err := s.storeDigest(ctx, st, day)
		if err != nil {
			errs = append(errs, fmt.Errorf("digest of %s: %w", st.ID, err))
			continue
		}
		ok, err := s.RecordDigest(ctx, st.ID, d.Day, day.AddDate(0, 0, 1), d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			sent = append(sent, st.ID)
		}
	}
	scopes := map[[2]string][]storage.Store{}
	for _, st := range stores {
		if _, ok := days[st.ID]; !ok {
			continue
		}
		scopes[[2]string{storage.ScopeChain, ""}] = append(scopes[[2]string{storage.ScopeChain, ""}], st)
		if st.Region != "" {
			scopes[[2]string{storage.ScopeRegion, st.Region}] = append(scopes[[2]string{storage.ScopeRegion, st.Region}], st)
		}
	}
	for _, key := range slices.SortedFunc(maps.Keys(scopes), func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	}) {
		ok, err := s.sendScopeDigest(ctx, key[0], key[1], scopes[key], days)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			sent = append(sent, strings.TrimSuffix(key[0]+":"+key[1], ":"))
		}
	}
	if len(sent) > 0 {
		s.eventsQueued()
	}
	return sent, errors.Join(errs...)
}

// sendScopeDigest emits a region's or the chain's digest for the earliest of its
// stores' digest days, unless it went out already.
func (s *Service) sendScopeDigest(ctx context.Context, kind, scope string, stores []storage.Store, days map[string]time.Time) (bool, error) {
	day := ""
	for _, st := range stores {
		if d := days[st.ID].Format(time.DateOnly); day == "" || d < day {
			day = d
		}
	}
	if done, err := s.ScopeDigestSent(ctx, kind, scope, day); err != nil || done {
		return false, err
	}
	date, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return false, fmt.Errorf("digest of %s %s: %w", kind, scope, err)
	}
	// It waits for the stores' own digests of the day: a store that was not ready, or
	// whose digest failed, holds its region's back rather than be left out of it.
	for _, st := range stores {
		midnight := days[st.ID]
		midnight = time.Date(date.Year(), date.Month(), date.Day()+1, 0, 0, 0, 0, midnight.Location())
		ok, err := s.DigestEmitted(ctx, st.ID, midnight, midnight.AddDate(0, 0, 1))
		if err != nil || !ok {
			return false, err
		}
	}
	d := Digest{ScopeKind: kind, Scope: scope}
	if err := s.digestFigures(ctx, &d, storage.Filter{Region: scope}, date); err != nil {
		return false, fmt.Errorf("digest of %s %s: %w", kind, scope, err)
	}
	for _, st := range stores {
		// Each store's own local day: the same date, its own midnight.
		local := days[st.ID]
		local = time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, local.Location())
		one, err := s.NPS(ctx, storage.Filter{StoreID: st.ID, From: day, To: day})
		if err != nil {
			return false, fmt.Errorf("digest of %s %s: %w", kind, scope, err)
		}
		line := DigestStore{StoreID: st.ID, StoreName: st.Name, NPS: one.NPS, MarginOfError: one.MarginOfError, Responses: one.Responses}
		if line.NewCases, line.OverdueCases, err = s.CaseCounts(ctx, st.ID, local, local.AddDate(0, 0, 1)); err != nil {
			return false, fmt.Errorf("digest of %s %s: %w", kind, scope, err)
		}
		d.NewCases += line.NewCases
		d.OverdueCases += line.OverdueCases
		d.Stores = append(d.Stores, line)
	}
	// The stores that need attention first; the quiet ones (no answers) last.
	slices.SortStableFunc(d.Stores, func(a, b DigestStore) int {
		if (a.Responses == 0) != (b.Responses == 0) {
			return cmp.Compare(b.Responses, a.Responses)
		}
		return cmp.Or(cmp.Compare(a.NPS, b.NPS), cmp.Compare(a.StoreID, b.StoreID))
	})
	return s.RecordScopeDigest(ctx, kind, scope, day, d)
}

// RunDailyJobs runs the drop check and the daily digests every interval until ctx ends.
func (s *Service) RunDailyJobs(ctx context.Context, interval time.Duration, digestHour int, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		now := s.Now()
		emitted, err := s.CheckDrops(ctx, now)
		if err != nil && ctx.Err() == nil {
			log.Error("NPS drop check", "err", err)
		}
		for store, typ := range emitted {
			log.Warn("NPS drop check", "store", store, "event", typ)
		}
		sent, err := s.SendDigests(ctx, now, digestHour)
		if err != nil && ctx.Err() == nil {
			log.Error("daily digests", "err", err)
		}
		if len(sent) > 0 {
			log.Info("daily digests queued", "digests", sent)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
