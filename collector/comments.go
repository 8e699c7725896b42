package collector

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// ParseCommentFilter reads the comment list's parameters, beside the report filter f
// (ParseFilter), the same for the API and the dashboard: category, score ("7" or
// "0-6"), theme, sentiment (negative, neutral, positive), worth_a_look, contact (only
// responses with a contact), q (the full-text search), after (a page's next cursor),
// limit and offset.
func ParseCommentFilter(f storage.Filter, q url.Values) (storage.CommentFilter, error) {
	cf := storage.CommentFilter{Filter: f, Category: q.Get("category"), Theme: q.Get("theme"), Text: q.Get("q"), After: q.Get("after")}
	var err error
	if v := q.Get("score"); v != "" {
		if cf.Scores, err = storage.ParseScoreRange(v); err != nil {
			return cf, err
		}
	}
	if cf.Sentiment, err = storage.ParseSentiment(q.Get("sentiment")); err != nil {
		return cf, err
	}
	if cf.WorthALook, err = flag(q, "worth_a_look"); err != nil {
		return cf, err
	}
	if cf.HasContact, err = flag(q, "contact"); err != nil {
		return cf, err
	}
	if v := q.Get("limit"); v != "" {
		if cf.Limit, err = strconv.Atoi(v); err != nil || cf.Limit < 1 || cf.Limit > storage.MaxCommentPage {
			return cf, fmt.Errorf("%w: limit must be 1 to %d", storage.ErrInvalid, storage.MaxCommentPage)
		}
	}
	if v := q.Get("offset"); v != "" {
		if cf.Offset, err = strconv.Atoi(v); err != nil || cf.Offset < 0 {
			return cf, fmt.Errorf("%w: offset must be a whole number", storage.ErrInvalid)
		}
	}
	return cf, nil
}

// flag reads a yes-or-no parameter: 1, true or on (a checkbox), else 0, false or empty.
func flag(q url.Values, name string) (bool, error) {
	switch q.Get(name) {
	case "":
		return false, nil
	case "1", "true", "on", "yes":
		return true, nil
	case "0", "false", "off", "no":
		return false, nil
	}
	return false, fmt.Errorf("%w: %s must be 1 or 0", storage.ErrInvalid, name)
}
