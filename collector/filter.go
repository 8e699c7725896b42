package collector

import (
	"net/http"
	"net/url"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// FilterError says why a report filter was refused: for API clients and for people.
type FilterError struct {
	Status       int    // the HTTP status
	Code, Detail string // the API's error code and detail
	Human        string // a sentence for the dashboard
}

func (e *FilterError) Error() string { return e.Detail }

// ParseFilter reads store, region, from and to from a query, applying the reader's
// store or region limit; the days default to the 30 up to today. The API and the dashboard both
// read their filters with it.
func ParseFilter(q url.Values, rd storage.Reader, now time.Time) (storage.Filter, *FilterError) {
	f := storage.Filter{StoreID: q.Get("store"), Region: q.Get("region"), From: q.Get("from"), To: q.Get("to"),
		Channel: q.Get("channel"), Touchpoint: q.Get("touchpoint")}
	for what, label := range map[string]string{"channel": f.Channel, "touchpoint": f.Touchpoint} {
		if label == "" {
			continue
		}
		if err := response.CheckLabel(what, label); err != nil {
			return storage.Filter{}, &FilterError{http.StatusBadRequest, "bad_request", err.Error(),
				"The " + what + " is not valid: use lowercase letters, digits, - and _."}
		}
	}
	if rd.StoreID != "" {
		if f.StoreID != "" && f.StoreID != rd.StoreID {
			return storage.Filter{}, &FilterError{http.StatusForbidden, "forbidden",
				"this token may read store " + rd.StoreID + " only", "You may see your own store only."}
		}
		f.StoreID = rd.StoreID
	}
	if rd.Region != "" {
		if f.Region != "" && f.Region != rd.Region {
			return storage.Filter{}, &FilterError{http.StatusForbidden, "forbidden",
				"this reader may read region " + rd.Region + " only", "You may see region " + rd.Region + " only."}
		}
		// A store of another region is not refused here (that needs the database) but
		// shows nothing: storage applies store and region together.
		f.Region = rd.Region
	}
	badDates := func(detail string) *FilterError {
		return &FilterError{http.StatusBadRequest, "bad_request", detail,
			"The dates are not valid: use YYYY-MM-DD, from before to, at most three years apart."}
	}
	if f.To == "" {
		f.To = now.UTC().Format(time.DateOnly)
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
