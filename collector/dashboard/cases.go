package dashboard

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/nps"
)

// storeIndex returns the stores a page may name, by id, for their names and time zones.
func (d *Dashboard) storeIndex(r *http.Request, p page) (map[string]storage.Store, []storage.StoreReport, error) {
	reports, err := d.svc.Stores(r.Context(), storage.Filter{From: p.Filter.From, To: p.Filter.To, StoreID: p.Reader.StoreID, Region: p.Reader.Region})
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]storage.Store, len(reports))
	for _, s := range reports {
		byID[s.ID] = s.Store
	}
	return byID, reports, nil
}

// localTime shows t on the store's wall clock, with the zone's abbreviation so that
// nobody mistakes it for their own.
func localTime(t time.Time, s storage.Store) string {
	return inStore(t, s).Format("Mon 2 Jan 2006, 15:04 MST")
}

// shortTime is localTime without the year, for lists.
func shortTime(t time.Time, s storage.Store) string {
	return inStore(t, s).Format("Mon 2 Jan, 15:04 MST")
}

func inStore(t time.Time, s storage.Store) time.Time {
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil || s.Timezone == "" {
		loc = time.UTC
	}
	return t.In(loc)
}

// humanDuration rounds a duration to what a person compares: minutes, hours or days.
func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%d d %d h", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// caseFilter reads the Follow-ups page's filters: store and region come from the period
// filter, which already holds the reader to their own store.
func caseFilter(r *http.Request, p page) (storage.CaseFilter, error) {
	q := r.URL.Query()
	f := storage.CaseFilter{StoreID: p.Filter.StoreID, Region: p.Filter.Region, Status: followup.Status(q.Get("status")),
		Channel: p.Filter.Channel, Limit: 500}
	if f.Status != "" && !f.Status.Valid() {
		return f, fmt.Errorf("%w: status must be open, contacted, resolved or closed-no-action", storage.ErrInvalid)
	}
	switch q.Get("overdue") {
	case "":
	case "true":
		f.Overdue = true
	default:
		return f, fmt.Errorf("%w: overdue must be true or left out", storage.ErrInvalid)
	}
	return f, nil
}

// caseQuery is the filter as a query, for the export link.
func caseQuery(f storage.CaseFilter) template.URL {
	q := url.Values{}
	for k, v := range map[string]string{"store": f.StoreID, "region": f.Region, "status": string(f.Status), "channel": f.Channel} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Overdue {
		q.Set("overdue", "true")
	}
	return template.URL(q.Encode())
}

type caseRow struct {
	storage.Case
	Store storage.Store
	Due   string // on the store's clock
}

// Category is the response's NPS category, for the score's badge.
func (c caseRow) Category() string { return nps.Score(c.Response.Score).Category().String() }

// StatusLabel is the case's status in words.
func (c caseRow) StatusLabel() string { return statusLabel(c.Status) }

func statusLabel(s followup.Status) string {
	if s == followup.ClosedNoAction {
		return "closed without action"
	}
	return string(s)
}

type caseStatsRow struct {
	storage.CaseStats
	Name string // the store's name, or what the total covers
}

// SLA shows the share handled within the SLA, or a dash when no case is judged yet.
func (s caseStatsRow) SLA() string {
	if s.Judged == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*s.WithinSLARatio())
}

// FirstContact and Resolution show the medians, or a dash when there is none.
func (s caseStatsRow) FirstContact() string {
	if s.FirstContacts == 0 {
		return "–"
	}
	return humanDuration(s.FirstContactMedian)
}

func (s caseStatsRow) Resolution() string {
	if s.Resolutions == 0 {
		return "–"
	}
	return humanDuration(s.ResolutionMedian)
}

type casesData struct {
	Filter   storage.CaseFilter
	Stores   []storage.StoreReport
	Regions  []string
	Statuses []followup.Status
	Cases    []caseRow
	Total    caseStatsRow
	PerStore []caseStatsRow
	Query    template.URL
	// ThankYous are the newest thank-you e-mails to promoters of the stores in view.
	ThankYous []thankYouRow
}

var statuses = []followup.Status{followup.Open, followup.Contacted, followup.Resolved, followup.ClosedNoAction}

func (d *Dashboard) cases(w http.ResponseWriter, r *http.Request, p page) {
	f, err := caseFilter(r, p)
	if err != nil {
		p.Title, p.Error = "Not allowed", err.Error()
		d.render(w, http.StatusBadRequest, "forbidden", p)
		return
	}
	ctx := r.Context()
	cs, err := d.svc.Cases(ctx, f)
	if err != nil {
		d.fail(w, err)
		return
	}
	for i := range cs {
		p.Reader.HideCaseContact(&cs[i])
	}
	stats, err := d.svc.CaseStats(ctx, f)
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
	data := casesData{Filter: f, Stores: reports, Statuses: statuses, Query: caseQuery(f)}
	for _, s := range reports {
		if s.Region != "" && !slices.Contains(data.Regions, s.Region) {
			data.Regions = append(data.Regions, s.Region)
		}
	}
	slices.Sort(data.Regions)
	for _, c := range cs {
		data.Cases = append(data.Cases, caseRow{Case: c, Store: byID[c.StoreID], Due: shortTime(c.DueAt, byID[c.StoreID])})
	}
	data.Total = caseStatsRow{CaseStats: stats[0], Name: scopeName(f, byID)}
	for _, s := range stats[1:] {
		name := byID[s.StoreID].Name
		if name == "" {
			name = s.StoreID
		}
		data.PerStore = append(data.PerStore, caseStatsRow{CaseStats: s, Name: name})
	}
	if data.ThankYous, err = d.thankYouRows(r, storage.ThankYouFilter{StoreID: f.StoreID, Region: f.Region, Channel: f.Channel,
		Limit: 20}, byID); err != nil {
		d.fail(w, err)
		return
	}
	p.Title, p.Page = "Follow-ups", "cases"
	p.Data = data
	d.render(w, http.StatusOK, "cases", p)
}

// scopeName says what the total of the figures covers.
func scopeName(f storage.CaseFilter, stores map[string]storage.Store) string {
	switch {
	case f.StoreID != "":
		if s, ok := stores[f.StoreID]; ok {
			return s.Name
		}
		return f.StoreID
	case f.Region != "":
		return "Region " + f.Region
	}
	return "All stores"
}

type caseData struct {
	Case  storage.Case
	Store storage.Store
	Due   string
	// Local shows a time on the store's clock.
	Local func(time.Time) string
	// Form holds what was typed into a refused form, so that nobody types it twice.
	Form url.Values
	// Owners are the active users who may see the case's store: whom it may go to.
	Owners []storage.User
	// Contact is what the collector wrote to the shopper about the response: the
	// promoters' thank-you e-mail.
	Contact []thankYouRow
}

// OwnerSelected reports whether u is the owner to show as chosen: the one picked in a
// refused form, else the case's owner, by name.
func (c caseData) OwnerSelected(u storage.User) bool {
	if c.Form.Get("action") == "assign" {
		return c.Form.Get("owner") == u.ID
	}
	return c.Case.Owner == u.Name
}

// Describe says what a history line did, in words.
func (caseData) Describe(e storage.CaseEvent) string {
	switch e.Action {
	case "opened":
		return "Opened"
	case "moved":
		return fmt.Sprintf("Moved from %s to %s", e.From, e.To)
	case "assigned":
		if e.Owner == "" {
			return "Unassigned"
		}
		return "Assigned to " + e.Owner
	case "noted":
		return "Added a note"
	}
	return e.Action
}

// Category is the response's NPS category, for the score's badge.
func (c caseData) Category() string { return nps.Score(c.Case.Response.Score).Category().String() }

// StatusLabel is the case's status in words.
func (c caseData) StatusLabel() string { return statusLabel(c.Case.Status) }

// Typed is what was typed into field of the refused form for action, else "".
func (c caseData) Typed(action, field string) string {
	if c.Form.Get("action") != action {
		return ""
	}
	return c.Form.Get(field)
}

// Can reports whether the case may move to status (as a string, from the template).
func (c caseData) Can(status string) bool { return c.Case.Status.CanMove(followup.Status(status)) }

// caseFor reads a case the reader may see, or renders why not: 404 for an unknown case,
// 403 for another store's.
func (d *Dashboard) caseFor(w http.ResponseWriter, r *http.Request, p page) (storage.Case, bool) {
	c, err := d.svc.Case(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		p.Title, p.Error = "No such case", "There is no case "+r.PathValue("id")+"."
		d.render(w, http.StatusNotFound, "forbidden", p)
		return c, false
	}
	if err != nil {
		d.fail(w, err)
		return c, false
	}
	if !p.Reader.Chain() {
		// storeIndex holds the stores the user may see.
		byID, _, err := d.storeIndex(r, p)
		if err != nil {
			d.fail(w, err)
			return c, false
		}
		if _, ok := byID[c.StoreID]; !ok {
			p.Title, p.Error = "Not allowed", "This case belongs to a store you may not see."
			d.render(w, http.StatusForbidden, "forbidden", p)
			return c, false
		}
	}
	p.Reader.HideCaseContact(&c)
	return c, true
}

func (d *Dashboard) caseDetail(w http.ResponseWriter, r *http.Request, p page) {
	c, ok := d.caseFor(w, r, p)
	if !ok {
		return
	}
	d.renderCase(w, r, p, http.StatusOK, c, nil)
}

// renderCase shows a case; a refused change shows it as it now stands, with the error.
func (d *Dashboard) renderCase(w http.ResponseWriter, r *http.Request, p page, status int, c storage.Case, form url.Values) {
	byID, _, err := d.storeIndex(r, p)
	if err != nil {
		d.fail(w, err)
		return
	}
	st, ok := byID[c.StoreID]
	if !ok {
		st = storage.Store{ID: c.StoreID, Name: c.StoreID}
	}
	owners, err := d.owners(r, st)
	if err != nil {
		d.fail(w, err)
		return
	}
	contact, err := d.thankYouRows(r, storage.ThankYouFilter{ResponseID: c.Response.ID}, map[string]storage.Store{st.ID: st})
	if err != nil {
		d.fail(w, err)
		return
	}
	p.Title, p.Page = fmt.Sprintf("Case: %d from %s", c.Response.Score, st.Name), "cases"
	p.Data = caseData{Case: c, Store: st, Due: localTime(c.DueAt, st), Form: form, Owners: owners, Contact: contact,
		Local: func(t time.Time) string { return localTime(t, st) }}
	d.render(w, status, "case", p)
}

// owners are the active users who may see a store, by name.
func (d *Dashboard) owners(r *http.Request, st storage.Store) ([]storage.User, error) {
	users, err := d.svc.Users(r.Context())
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(users, func(u storage.User) bool { return u.Disabled() || !u.Reader().MaySee(st) }), nil
}

// changeCase applies one of the page's forms: assign, contacted, resolve or close.
func (d *Dashboard) changeCase(w http.ResponseWriter, r *http.Request, p page) {
	if !readForm(w, r, 16<<10) {
		return
	}
	c, ok := d.caseFor(w, r, p)
	if !ok {
		return
	}
	if !csrfOK(r) {
		p.Error = "The form expired. Nothing was changed; please try again."
		d.renderCase(w, r, p, http.StatusForbidden, c, r.PostForm)
		return
	}
	version, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || version < 1 {
		p.Error = "The form lacks the case's version. Nothing was changed; please try again."
		d.renderCase(w, r, p, http.StatusBadRequest, c, r.PostForm)
		return
	}
	ch := storage.CaseChange{Actor: p.Reader.Name, Version: version, Note: strings.TrimSpace(r.PostFormValue("note"))}
	switch r.PostFormValue("action") {
	case "assign":
		// The form offers people, by id; the case keeps the name, as histories show it.
		owner := ""
		if id := r.PostFormValue("owner"); id != "" {
			u, ok := d.ownerByID(w, r, p, c, id)
			if !ok {
				return
			}
			owner = u.Name
		}
		ch.Owner = &owner
	case "contacted":
		ch.To = followup.Contacted
	case "resolve":
		ch.To = followup.Resolved
	case "close":
		ch.To = followup.ClosedNoAction
	default:
		p.Error = "Unknown action. Nothing was changed."
		d.renderCase(w, r, p, http.StatusBadRequest, c, r.PostForm)
		return
	}
	if _, err := d.svc.ChangeCase(r.Context(), c.ID, ch); err != nil {
		status := http.StatusConflict
		switch {
		case errors.Is(err, storage.ErrConflict):
			p.Error = "Someone changed this case after you opened it, so nothing was changed. " +
				"Here it is as it stands now: check it, then try again."
		case errors.Is(err, followup.ErrTransition):
			p.Error = "Not changed: " + transitionMessage(err)
		case errors.Is(err, storage.ErrInvalid):
			status = http.StatusBadRequest
			p.Error = "Not changed: " + strings.TrimPrefix(err.Error(), "change case "+c.ID+": ")
		case errors.Is(err, storage.ErrNotFound):
			status = http.StatusNotFound
			p.Error = "This case no longer exists."
		default:
			d.fail(w, err)
			return
		}
		d.log.Info("dashboard: case change refused", "case", c.ID, "actor", p.Reader.Name, "err", err)
		if now, err := d.svc.Case(r.Context(), c.ID); err == nil {
			c = now
			p.Reader.HideCaseContact(&c)
		}
		d.renderCase(w, r, p, status, c, r.PostForm)
		return
	}
	http.Redirect(w, r, "/cases/"+url.PathEscape(c.ID), http.StatusSeeOther)
}

// ownerByID finds the chosen owner among those who may own the case, or renders why not.
func (d *Dashboard) ownerByID(w http.ResponseWriter, r *http.Request, p page, c storage.Case, id string) (storage.User, bool) {
	byID, _, err := d.storeIndex(r, p)
	if err != nil {
		d.fail(w, err)
		return storage.User{}, false
	}
	st, ok := byID[c.StoreID]
	if !ok {
		st = storage.Store{ID: c.StoreID}
	}
	owners, err := d.owners(r, st)
	if err != nil {
		d.fail(w, err)
		return storage.User{}, false
	}
	i := slices.IndexFunc(owners, func(u storage.User) bool { return u.ID == id })
	if i < 0 {
		p.Error = "Not changed: choose an active person who may see this store."
		d.renderCase(w, r, p, http.StatusBadRequest, c, r.PostForm)
		return storage.User{}, false
	}
	return owners[i], true
}

// transitionMessage is the reason of a refused move, as followup words it.
func transitionMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, followup.ErrTransition.Error()+": "); i >= 0 {
		msg = msg[i+len(followup.ErrTransition.Error())+2:]
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// caseRows is the CSV export of the Follow-ups page.
func (d *Dashboard) caseRows(r *http.Request, p page) ([][]string, error) {
	f, err := caseFilter(r, p)
	if err != nil {
		return nil, err
	}
	cs, err := d.svc.Cases(r.Context(), f)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		p.Reader.HideCaseContact(&cs[i])
	}
	byID, _, err := d.storeIndex(r, p)
	if err != nil {
		return nil, err
	}
	rows := [][]string{{"id", "store_id", "status", "overdue", "owner", "opened_at", "due_at", "due_local", "score", "reasons", "comment", "contact", "version", "channel", "touchpoint"}}
	for _, c := range cs {
		rows = append(rows, []string{c.ID, c.StoreID, string(c.Status), strconv.FormatBool(c.Overdue), storage.CSVCell(c.Owner),
			c.OpenedAt.UTC().Format(time.RFC3339), c.DueAt.UTC().Format(time.RFC3339), localTime(c.DueAt, byID[c.StoreID]),
			strconv.Itoa(c.Response.Score), strings.Join(c.Response.Reasons, ";"), storage.CSVCell(c.Response.Comment),
			contactCell(c.Response.Contact, c.Response.ContactSealed), strconv.FormatInt(c.Version, 10), c.Response.Channel, c.Response.Touchpoint})
	}
	return rows, nil
}
