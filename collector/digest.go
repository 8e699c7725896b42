package collector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// DefaultDigestHour is the local hour at which a store's daily digest goes out.
const DefaultDigestHour = 7

// Digest is what a store's daily digest tells its manager.
type Digest struct {
	StoreID       string            `json:"store_id"`
	StoreName     string            `json:"store_name"`
	Day           string            `json:"day"` // yesterday, in the store's time zone
	NPS           float64           `json:"nps"`
	MarginOfError float64           `json:"margin_of_error"`
	Responses     int64             `json:"responses"`
	Trend         []DigestDay       `json:"trend"` // the 7 days up to Day, oldest first
	NewCases      int64             `json:"new_cases"`
	OverdueCases  int64             `json:"overdue_cases"`
	TopReasons    []DigestReason    `json:"top_detractor_reasons"` // over the 7 days, at most 3
	Week          storage.NPSReport `json:"week"`
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

// digest gathers a store's digest for the local day before now.
func (s *Service) digest(ctx context.Context, st storage.Store, loc *time.Location, now time.Time) (Digest, error) {
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	yesterday := today.AddDate(0, 0, -1)
	d := Digest{StoreID: st.ID, StoreName: st.Name, Day: yesterday.Format(time.DateOnly)}
	week := storage.Filter{StoreID: st.ID, From: today.AddDate(0, 0, -7).Format(time.DateOnly), To: d.Day}
	t, err := s.StoreTally(ctx, st.ID, d.Day, d.Day)
	if err != nil {
		return Digest{}, err
	}
	d.NPS, d.MarginOfError, d.Responses = t.NPS(), t.MarginOfError(), t.Total()
	if d.Week, err = s.NPS(ctx, week); err != nil {
		return Digest{}, err
	}
	points, err := s.Trend(ctx, week, "day")
	if err != nil {
		return Digest{}, err
	}
	byDay := map[string]storage.TrendPoint{}
	for _, p := range points {
		byDay[p.Start] = p
	}
	for day := today.AddDate(0, 0, -7); day.Before(today); day = day.AddDate(0, 0, 1) {
		p := byDay[day.Format(time.DateOnly)]
		d.Trend = append(d.Trend, DigestDay{Day: day.Format(time.DateOnly), NPS: p.NPS, Responses: p.Responses})
	}
	if d.NewCases, d.OverdueCases, err = s.CaseCounts(ctx, st.ID, yesterday, today); err != nil {
		return Digest{}, err
	}
	reasons, err := s.Reasons(ctx, week)
	if err != nil {
		return Digest{}, err
	}
	slices.SortStableFunc(reasons, func(a, b storage.ReasonCount) int { return cmp.Compare(b.Detractors, a.Detractors) })
	for _, r := range reasons {
		if r.Detractors == 0 || len(d.TopReasons) == 3 {
			break
		}
		d.TopReasons = append(d.TopReasons, DigestReason{Reason: r.Reason, Detractors: r.Detractors})
	}
	return d, nil
}

// SendDigests emits the daily digest of every store whose local time has reached hour
// and whose digest for yesterday has not gone out; it returns the stores it sent. Run
// it as often as you like: each store's day is told once.
func (s *Service) SendDigests(ctx context.Context, now time.Time, hour int) ([]string, error) {
	stores, err := s.StoreList(ctx)
	if err != nil {
		return nil, fmt.Errorf("digests: %w", err)
	}
	var (
		sent []string
		errs []error
	)
	for _, st := range stores {
		loc, err := time.LoadLocation(st.Timezone)
		if err != nil {
			errs = append(errs, fmt.Errorf("digest of %s: %w", st.ID, err))
			continue
		}
		local := now.In(loc)
		if local.Hour() < hour {
			continue
		}
		d, err := s.digest(ctx, st, loc, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("digest of %s: %w", st.ID, err))
			continue
		}
		today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
		ok, err := s.RecordDigest(ctx, st.ID, d.Day, today, d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			sent = append(sent, st.ID)
		}
	}
	if len(sent) > 0 {
		s.eventsQueued()
	}
	return sent, errors.Join(errs...)
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
			log.Info("daily digests queued", "stores", len(sent))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
