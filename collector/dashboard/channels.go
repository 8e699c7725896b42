package dashboard

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// withLabels fills the choices of the page's channel and touchpoint filters: those with
// responses in the reader's stores and period, and the chosen ones even when they have
// none, so a filter survives a round trip.
func (d *Dashboard) withLabels(r *http.Request, p *page) error {
	f := storage.Filter{StoreID: p.Reader.StoreID, Region: p.Reader.Region, From: p.Filter.From, To: p.Filter.To}
	channels, touchpoints, err := d.svc.Labels(r.Context(), f)
	if err != nil {
		return err
	}
	keep := func(list []string, chosen string) []string {
		if chosen != "" && !slices.Contains(list, chosen) {
			list = append(list, chosen)
			slices.Sort(list)
		}
		return list
	}
	p.Channels, p.Touchpoints = keep(channels, p.Filter.Channel), keep(touchpoints, p.Filter.Touchpoint)
	segments, err := d.svc.Segments(r.Context(), f)
	if err != nil {
		return err
	}
	p.Segments = keep(segments, p.Filter.Segment)
	// Regions and formats are the stores' own, whether or not they have responses: a
	// store's labels are known before its first answer.
	stores, err := d.svc.StoreList(r.Context())
	if err != nil {
		return err
	}
	var regions, formats []string
	for _, s := range stores {
		if !p.Reader.MaySee(s) {
			continue
		}
		if s.Region != "" && !slices.Contains(regions, s.Region) {
			regions = append(regions, s.Region)
		}
		if s.Format != "" && !slices.Contains(formats, s.Format) {
			formats = append(formats, s.Format)
		}
	}
	slices.Sort(regions)
	slices.Sort(formats)
	p.Regions, p.Formats = keep(regions, p.Filter.Region), keep(formats, p.Filter.Format)
	return nil
}

// channelTable is a breakdown as the Channels page and a store's page show it.
type channelTable struct {
	By    string // channel or touchpoint
	Rows  []channelRow
	Total storage.NPSReport
	// others names the rest a row is compared with, in words: "the other channels".
	others string
}

type channelRow struct {
	collector.ChannelRow
	Name    string       // the label in words
	Link    template.URL // the overview filtered to this row; empty when it cannot be
	Verdict string       // the comparison with the rest, in words
	Mark    string       // higher, lower or "" for the CSS class and the arrow
	Bar     template.HTML
}

// verdict says in words what the comparison with the rest shows, never by colour alone.
func verdict(c *collector.Comparison, others string, minN int64) (words, mark string) {
	switch {
	case c == nil:
		return "Nothing to compare with: every response in view is in this row", ""
	case !c.Comparable:
		return fmt.Sprintf("Too few responses to compare (each side needs %d): %s", minN, markTooFew), ""
	case c.Significant && c.Difference > 0:
		return "Higher than " + others + ": a real difference (" + markSignificant + ")", "higher"
	case c.Significant:
		return "Lower than " + others + ": a real difference (" + markSignificant + ")", "lower"
	}
	return "No clear difference from " + others + " (" + markNotSignificant + ")", ""
}

// newChannelTable readies a breakdown for a page; base is the query every row's link
// keeps (the period, the store and the segments), minN what each side of a comparison
// needs.
func newChannelTable(b collector.ChannelBreakdown, by string, base url.Values, minN int64) channelTable {
	t := channelTable{By: by, Total: b.Total, others: "the other " + by + "s"}
	for _, r := range b.Rows {
		row := channelRow{ChannelRow: r, Name: r.Label}
		if r.Label == "" {
			row.Name = "none named"
		} else {
			q := url.Values{}
			for k, v := range base {
				q[k] = v
			}
			q.Set(by, r.Label)
			row.Link = template.URL(q.Encode())
		}
		row.Verdict, row.Mark = verdict(r.VsRest, t.others, minN)
		row.Bar = intervalSVG(r.NPSReport, b.Total)
		t.Rows = append(t.Rows, row)
	}
	return t
}

// TotalBar draws the scope's own NPS and interval, under the rows'.
func (t channelTable) TotalBar() template.HTML { return intervalSVG(t.Total, t.Total) }

// Others names what each row is compared with.
func (t channelTable) Others() string { return t.others }

// Difference shows a comparison's difference with its margin, or a dash.
func (channelTable) Difference(c *collector.Comparison) string {
	if c == nil {
		return "–"
	}
	return fmt.Sprintf("%+.1f ± %.1f", c.Difference, c.DifferenceMargin)
}

// intervalSVG draws a row's NPS as a dot on −100…+100 with its 95 % interval as a bar,
// and the scope's NPS as a dashed line, so rows can be compared at a glance. The numbers
// are in the row beside it, so it is hidden from screen readers.
func intervalSVG(r, total storage.NPSReport) template.HTML {
	if r.Responses == 0 {
		return ""
	}
	const w, h = 200.0, 24.0
	x := func(v float64) float64 { return w * (max(-100, min(100, v)) + 100) / 200 }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="interval" viewBox="0 0 %.0f %.0f" aria-hidden="true" focusable="false">`, w, h)
	fmt.Fprintf(&b, `<line x1="0" x2="%.0f" y1="12" y2="12" stroke="#d5d9e0" stroke-width="2"/>`, w)
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="2" y2="22" stroke="#5f6670" stroke-width="1"/>`, x(0), x(0))
	if total.Responses > 0 {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="0" y2="24" stroke="#111" stroke-width="2" stroke-dasharray="3 2"/>`, x(total.NPS), x(total.NPS))
	}
	lo, hi := x(r.NPS-r.MarginOfError), x(r.NPS+r.MarginOfError)
	fmt.Fprintf(&b, `<rect x="%.1f" y="8" width="%.1f" height="8" rx="4" fill="#8fb3e8"/>`, lo, max(hi-lo, 2))
	fmt.Fprintf(&b, `<circle cx="%.1f" cy="12" r="6" fill="#0b3d91"/></svg>`, x(r.NPS))
	return template.HTML(b.String())
}

type channelsData struct {
	Scope       string // the store's name, or "" for every store in view
	Stores      []storage.StoreReport
	Channels    channelTable
	Touchpoints channelTable
	MinN        int64
}

// channelQuery is the page's period, store, region, format, segment, channel and
// touchpoint, for the rows' links to the overview.
func channelQuery(f storage.Filter) url.Values {
	q := url.Values{"from": {f.From}, "to": {f.To}}
	for k, v := range map[string]string{"store": f.StoreID, "channel": f.Channel, "touchpoint": f.Touchpoint,
		"region": f.Region, "format": f.Format, "segment": f.Segment} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// channels is the Channels page: the channels and the touchpoints of the filter side by
// side, each compared with the rest (see collector.Comparison), for every store in view
// or for one.
func (d *Dashboard) channels(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	byChannel, err := d.svc.ChannelReport(ctx, p.Filter, storage.ByChannel, false)
	if err != nil {
		d.fail(w, err)
		return
	}
	byTouchpoint, err := d.svc.ChannelReport(ctx, p.Filter, storage.ByTouchpoint, false)
	if err != nil {
		d.fail(w, err)
		return
	}
	byID, reports, err := d.storeIndex(r, p)
	if err != nil {
		d.fail(w, err)
		return
	}
	if err := d.withLabels(r, &p); err != nil {
		d.fail(w, err)
		return
	}
	base := channelQuery(p.Filter)
	minN := minResponses(p.Filter)
	data := channelsData{Stores: reports, MinN: minN,
		Channels:    newChannelTable(byChannel.ChannelBreakdown, storage.ByChannel, base, minN),
		Touchpoints: newChannelTable(byTouchpoint.ChannelBreakdown, storage.ByTouchpoint, base, minN)}
	if s, ok := byID[p.Filter.StoreID]; ok {
		data.Scope = s.Name
	} else if p.Filter.StoreID != "" {
		data.Scope = p.Filter.StoreID
	}
	p.Title, p.Page = "Channels", "channels"
	p.Data = data
	d.render(w, http.StatusOK, "channels", p)
}

// storeChannels is a store's channel table for its page, or nil when the store has
// kiosk responses only in the period: a table of one kiosk row tells nothing.
func (d *Dashboard) storeChannels(r *http.Request, f storage.Filter) (*channelTable, error) {
	rep, err := d.svc.ChannelReport(r.Context(), f, storage.ByChannel, false)
	if err != nil {
		return nil, err
	}
	if len(rep.Rows) == 0 || len(rep.Rows) == 1 && rep.Rows[0].Label == response.ChannelKiosk {
		return nil, nil
	}
	t := newChannelTable(rep.ChannelBreakdown, storage.ByChannel, channelQuery(f), minResponses(f))
	return &t, nil
}

// Heading names the table's first column.
func (t channelTable) Heading() string {
	switch t.By {
	case storage.ByTouchpoint:
		return "Touchpoint"
	case storage.ByRegion:
		return "Region"
	case storage.ByFormat:
		return "Format"
	}
	return "Channel"
}

// minResponses is what each side of the filter's comparisons needs (its min_n).
func minResponses(f storage.Filter) int64 {
	if f.MinResponses > 0 {
		return f.MinResponses
	}
	return collector.ComparisonMinResponses
}
