package dashboard

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
)

// driversData is the Drivers page: the themes (or reasons) of the filter ranked by their
// impact on its NPS (collector.Service.Drivers).
type driversData struct {
	collector.DriversReport
	// Ranked have at least MinResponses mentions; Few fewer, listed apart and unranked.
	Ranked, Few []collector.Driver
	// Retag is the re-tagging progress of the stores in view while a job runs; nil when
	// every store's comments are tagged with their current taxonomy.
	Retag *retagProgress
	// ThemeQuery and ReasonQuery switch the page between themes and reasons, keeping the
	// rest of the selection; WorthALookQuery opens those comments.
	ThemeQuery, ReasonQuery, WorthALookQuery template.URL
	ranks                                    map[int]int
}

// retagProgress sums the unfinished re-tagging jobs of the stores in view.
type retagProgress struct {
	Done, Total int64
	Stores      int
}

// Percent is how far the re-tagging is, in whole per cent.
func (r retagProgress) Percent() int64 {
	if r.Total == 0 {
		return 0
	}
	return 100 * r.Done / r.Total
}

// RankText shows a driver's rank, a shared one as a tie: "1", "=2".
func (dd driversData) RankText(dr collector.Driver) string {
	if dr.Rank == 0 {
		return "–"
	}
	if dd.ranks[dr.Rank] > 1 {
		return "=" + strconv.Itoa(dr.Rank)
	}
	return strconv.Itoa(dr.Rank)
}

// Diff is the NPS with the driver minus without, for the marks.
func (driversData) Diff(dr collector.Driver) *nps.Difference { return &dr.Difference }

// ImpactText is "+X ± m" (NPS points) when the chain's median is known, else a dash.
func (driversData) ImpactText(dr collector.Driver) string {
	if dr.Impact == nil {
		return "–"
	}
	return fmt.Sprintf("%+.1f ± %.1f", dr.Impact.Points, dr.Impact.Margin)
}

// What names the page's kind in words: themes or reasons.
func (dd driversData) What() string {
	if dd.Kind == storage.KindReason {
		return "reason"
	}
	return "theme"
}

// drivers is the Drivers page. kind=reason switches it from the comments' themes to the
// reasons shoppers picked.
func (d *Dashboard) drivers(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	kind := r.URL.Query().Get("kind")
	rep, err := d.svc.Drivers(ctx, p.Filter, kind, p.Lang, p.Filter.MinResponses)
	if errors.Is(err, storage.ErrInvalid) {
		p.Title, p.Error = "Not allowed", "The kind must be theme or reason."
		d.render(w, http.StatusBadRequest, "forbidden", p)
		return
	}
	if err != nil {
		d.fail(w, err)
		return
	}
	retag, err := d.retagProgress(r, p)
	if err != nil {
		d.fail(w, err)
		return
	}
	if err := d.withLabels(r, &p); err != nil {
		d.fail(w, err)
		return
	}
	data := driversData{DriversReport: rep, Retag: retag, ranks: map[int]int{},
		ThemeQuery:      keepQuery(p.Query, "kind", storage.KindTheme),
		ReasonQuery:     keepQuery(p.Query, "kind", storage.KindReason),
		WorthALookQuery: keepQuery(p.Nav, "worth_a_look", "1")}
	for _, dr := range rep.Drivers {
		if dr.Rank > 0 {
			data.Ranked = append(data.Ranked, dr)
			data.ranks[dr.Rank]++
		} else {
			data.Few = append(data.Few, dr)
		}
	}
	p.Title, p.Page = "Drivers", "drivers"
	p.Keep = map[string]string{"kind": rep.Kind}
	p.Data = data
	d.render(w, http.StatusOK, "drivers", p)
}

// retagProgress is the progress of the re-tagging jobs running for the stores the reader
// may see, or nil when none is running: until one finishes, the figures mix taxonomies.
func (d *Dashboard) retagProgress(r *http.Request, p page) (*retagProgress, error) {
	jobs, err := d.svc.ThemeJobs(r.Context())
	if err != nil {
		return nil, err
	}
	stores, err := d.svc.StoreList(r.Context())
	if err != nil {
		return nil, err
	}
	visible := map[string]bool{}
	for _, s := range stores {
		visible[s.ID] = p.Reader.MaySee(s)
	}
	var out retagProgress
	for _, j := range jobs {
		if !visible[j.StoreID] || j.Finished() {
			continue
		}
		out.Done += j.Done
		out.Total += j.Total
		out.Stores++
	}
	if out.Stores == 0 {
		return nil, nil
	}
	return &out, nil
}
