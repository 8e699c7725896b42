package dashboard

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
)

// Every difference the dashboard shows carries its 95 % interval and a mark in words
// (DESIGN.md, "Statistics"): colour and arrows only repeat the words.

// Marks of a difference, in words.
const (
	markSignificant    = "significant"
	markNotSignificant = "not significant"
	markTooFew         = "too few to tell"
)

// deltaText shows a difference with the half-width of its interval, or a dash when
// there is none.
func deltaText(d *nps.Difference) string {
	if d == nil {
		return "–"
	}
	return fmt.Sprintf("%+.1f ± %.1f", d.Delta, d.Margin)
}

// markText is a difference's mark: significant, not significant, or too few to tell
// (a side has fewer responses than the minimum, so it is never called significant);
// "" when there is no difference.
func markText(d *nps.Difference) string {
	switch {
	case d == nil:
		return ""
	case !d.Enough:
		return markTooFew
	case d.Significant:
		return markSignificant
	}
	return markNotSignificant
}

// markClass is the CSS class of a significant difference's direction, "" otherwise.
func markClass(d *nps.Difference) string {
	switch {
	case d == nil || !d.Significant:
		return ""
	case d.Delta > 0:
		return "higher"
	}
	return "lower"
}

// pct shows a share with its margin: "42.0 % ± 5.1".
func pct(s nps.Share) string {
	return fmt.Sprintf("%.1f %% ± %.1f", s.Percent, s.Margin)
}

func init() {
	pageFuncs["delta"] = deltaText
	pageFuncs["mark"] = markText
	pageFuncs["markclass"] = markClass
	pageFuncs["pct"] = pct
	pageFuncs["pair"] = func(a, b any) pair { return pair{a, b} }
}

// pair hands a sub-template two values: a row and the page it is on.
type pair struct{ A, B any }

// regionsData is the Regions page: the regions and the formats of the filter, each
// compared with the rest.
type regionsData struct {
	Regions, Formats channelTable
	MinN             int64
}

// regions is the Regions page: the filter's responses split by the region and by the
// format of their stores, each compared with the rest of the stores in view
// (collector.Service.LabelReport).
func (d *Dashboard) regions(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	byRegion, err := d.svc.LabelReport(ctx, p.Filter, storage.ByRegion)
	if err != nil {
		d.fail(w, err)
		return
	}
	byFormat, err := d.svc.LabelReport(ctx, p.Filter, storage.ByFormat)
	if err != nil {
		d.fail(w, err)
		return
	}
	if err := d.withLabels(r, &p); err != nil {
		d.fail(w, err)
		return
	}
	base := channelQuery(p.Filter)
	p.Title, p.Page = "Regions and formats", "regions"
	p.Data = regionsData{MinN: byRegion.MinResponses,
		Regions: newChannelTable(byRegion.ChannelBreakdown, storage.ByRegion, base, byRegion.MinResponses),
		Formats: newChannelTable(byFormat.ChannelBreakdown, storage.ByFormat, base, byFormat.MinResponses)}
	d.render(w, http.StatusOK, "regions", p)
}

// keepQuery is a page's query with one value set: the links that switch a view keep the
// rest of the selection.
func keepQuery(base template.URL, key, value string) template.URL {
	q := parseQuery(base)
	q.Set(key, value)
	return template.URL(q.Encode())
}

// parseQuery reads a query the dashboard built itself; it cannot be malformed.
func parseQuery(q template.URL) url.Values {
	v, _ := url.ParseQuery(string(q))
	return v
}
