package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
)

// FilterError says why a report filter was refused: for API clients and for people.
type FilterError struct {
	Status       int    // the HTTP status
	Code, Detail string // the API's error code and detail
	Human        string // a sentence for the dashboard
	Err          error  // the cause of a 503 (the database's), for the log
}

func (e *FilterError) Error() string { return e.Detail }

// ParseFilter reads store, region, format, channel, touchpoint, segment, from, to and
// min_n (the minimum responses of a comparison or a ranking) from a query, applying the reader's
// store or region limit. The API and the dashboard both read their filters with it.
//
// The days default to the 30 up to today, and today is a store's own: in the store's
// time zone when the filter names a store (a store's reader always does), else, for a
// chain or region, in the zone of the stores in view that is furthest ahead, so that
// the default period holds every store's today. Days themselves are always each
// store's local days, as responses are counted; the filter's Zone names the zone used.
func (s *Service) ParseFilter(ctx context.Context, q url.Values, rd storage.Reader) (storage.Filter, *FilterError) {
	f, ferr := parseFilter(q, rd)
	if ferr != nil {
		return storage.Filter{}, ferr
	}
	if f.MinResponses == 0 {
		f.MinResponses = s.minResponses()
	}
	today, zone, err := s.today(ctx, f)
	if err != nil {
		return storage.Filter{}, &FilterError{http.StatusServiceUnavailable, "unavailable", "try again later",
			"The collector could not read its database; try again shortly.", err}
	}
	f.Zone = zone
	return defaultDays(f, today)
}

// today is the date today in the zone the filter's default days are in, and that zone.
func (s *Service) today(ctx context.Context, f storage.Filter) (time.Time, string, error) {
	var zones []string
	if f.StoreID != "" {
		st, err := s.Store(ctx, f.StoreID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			zones = []string{"UTC"} // no store in view: the report is empty
		case err != nil:
			return time.Time{}, "", fmt.Errorf("filter: %w", err)
		default:
			zones = []string{st.Timezone}
		}
	} else {
		var err error
		if zones, err = s.StoreZones(ctx, f.Region); err != nil {
			return time.Time{}, "", fmt.Errorf("filter: %w", err)
		}
	}
	return furthestAhead(s.Now(), zones)
}

// furthestAhead returns the local date and the zone, of those given, whose wall clock
// reads latest at now: UTC when there are none.
func furthestAhead(now time.Time, zones []string) (time.Time, string, error) {
	var best time.Time
	zone := "UTC"
	for _, z := range zones {
		loc, err := time.LoadLocation(z)
		if err != nil {
			return time.Time{}, "", fmt.Errorf("filter: time zone %q: %w", z, err)
		}
		l := now.In(loc)
		wall := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
		if best.IsZero() || wall.After(best) {
			best, zone = wall, z
		}
	}
	if best.IsZero() {
		best = now.UTC()
	}
	return time.Date(best.Year(), best.Month(), best.Day(), 0, 0, 0, 0, time.UTC), zone, nil
}

// MaxMinResponses bounds min_n: a larger minimum would only ever hide every comparison.
const MaxMinResponses = 1_000_000

// minResponses is the collector's default minimum n of comparisons and rankings.
func (s *Service) minResponses() int64 {
	if s.MinResponses > 0 {
		return s.MinResponses
	}
	return nps.DefaultMinResponses
}

// parseFilter reads everything but the default days.
func parseFilter(q url.Values, rd storage.Reader) (storage.Filter, *FilterError) {
	f := storage.Filter{StoreID: q.Get("store"), Region: q.Get("region"), From: q.Get("from"), To: q.Get("to"),
		Channel: q.Get("channel"), Touchpoint: q.Get("touchpoint"), Segment: q.Get("segment"), Format: q.Get("format")}
	for _, l := range []struct{ what, label string }{
		{"channel", f.Channel}, {"touchpoint", f.Touchpoint}, {"segment", f.Segment}, {"format", f.Format},
	} {
		if l.label == "" {
			continue
		}
		if err := response.CheckLabel(l.what, l.label); err != nil {
			return storage.Filter{}, &FilterError{http.StatusBadRequest, "bad_request", err.Error(),
				"The " + l.what + " is not valid: use lowercase letters, digits, - and _.", nil}
		}
	}
	if v := q.Get("min_n"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > MaxMinResponses {
			return storage.Filter{}, &FilterError{http.StatusBadRequest, "bad_request",
				fmt.Sprintf("min_n must be a whole number from 1 to %d", MaxMinResponses),
				fmt.Sprintf("The minimum number of responses must be a whole number from 1 to %d.", MaxMinResponses), nil}
		}
		f.MinResponses = n
	}
	if rd.StoreID != "" {
		if f.StoreID != "" && f.StoreID != rd.StoreID {
			return storage.Filter{}, &FilterError{http.StatusForbidden, "forbidden",
				"this token may read store " + rd.StoreID + " only", "You may see your own store only.", nil}
		}
		f.StoreID = rd.StoreID
	}
	if rd.Region != "" {
		if f.Region != "" && f.Region != rd.Region {
			return storage.Filter{}, &FilterError{http.StatusForbidden, "forbidden",
				"this reader may read region " + rd.Region + " only", "You may see region " + rd.Region + " only.", nil}
		}
		// A store of another region is not refused here (that needs the database) but
		// shows nothing: storage applies store and region together.
		f.Region = rd.Region
	}
	return f, nil
}

// defaultDays fills in the days the query left out (the 30 up to today) and checks them.
func defaultDays(f storage.Filter, today time.Time) (storage.Filter, *FilterError) {
	badDates := func(detail string) *FilterError {
		return &FilterError{http.StatusBadRequest, "bad_request", detail,
			"The dates are not valid: use YYYY-MM-DD, from before to, at most three years apart.", nil}
	}
	if f.To == "" {
		f.To = today.Format(time.DateOnly)
	}
	to, err := time.Parse(time.DateOnly, f.To)
	if err != nil {
		return storage.Filter{}, badDates("to must be a date, YYYY-MM-DD")
	}
	if f.From == "" {
		f.From = to.AddDate(0, 0, -29).Format(time.DateOnly)
	}
	from, err := time.Parse(time.DateOnly, f.From)
	if err != nil {
		return storage.Filter{}, badDates("from must be a date, YYYY-MM-DD")
	}
	if from.After(to) || to.Sub(from) > 3*366*24*time.Hour {
		return storage.Filter{}, badDates("from must not be after to, and the range at most three years")
	}
	return f, nil
}
