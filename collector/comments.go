package collector

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/insight"
	"github.com/npskiosk/npskiosk/sync/wire"
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

// KeyLabels names the reason and theme keys of the stores' surveys in one language.
type KeyLabels struct {
	lang    string
	surveys map[string]wire.Survey
	themes  insight.Taxonomy // the defaults: a theme no survey names
}

// KeyLabels reads the surveys of the stores whose keys are to be named in lang (the
// dashboard user's language).
func (s *Service) KeyLabels(ctx context.Context, storeIDs []string, lang string) (KeyLabels, error) {
	k := KeyLabels{lang: lang, surveys: map[string]wire.Survey{}, themes: insight.DefaultTaxonomy()}
	for _, id := range storeIDs {
		if _, ok := k.surveys[id]; ok || id == "" {
			continue
		}
		sv, err := s.Survey(ctx, id)
		if err != nil {
			return k, fmt.Errorf("labels of store %s: %w", id, err)
		}
		k.surveys[id] = sv
	}
	return k, nil
}

// pick is a label in the viewer's language, else the survey's first language, else "".
func (k KeyLabels) pick(labels map[string]string, sv wire.Survey) string {
	if l := labels[k.lang]; l != "" {
		return l
	}
	if l := labels[insight.Language(k.lang)]; l != "" {
		return l
	}
	if len(sv.Languages) > 0 {
		if l := labels[sv.Languages[0]]; l != "" {
			return l
		}
	}
	return labels["en"]
}

// Reason names a reason key of a store's survey; the key itself when it has no label.
func (k KeyLabels) Reason(storeID, key string) string {
	sv := k.surveys[storeID]
	for _, r := range sv.Reasons {
		if r.Key == key {
			if l := k.pick(r.Labels, sv); l != "" {
				return l
			}
		}
	}
	return key
}

// Theme names a theme key of a store's taxonomy, else of the default taxonomy; a theme
// keyed like a reason without labels of its own takes the reason's.
func (k KeyLabels) Theme(storeID, key string) string {
	sv := k.surveys[storeID]
	for _, tax := range []insight.Taxonomy{sv.Taxonomy(), k.themes} {
		if t, ok := tax.Lookup(key); ok {
			if l := k.pick(t.Labels, sv); l != "" {
				return l
			}
		}
	}
	return k.Reason(storeID, key)
}
