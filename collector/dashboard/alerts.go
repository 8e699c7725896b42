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

	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// registerAlerts adds the Alerts pages: subscriptions, the forms that add them, and the
// delivery log. Their templates are parsed here so the pages stay in files of their own.
func (d *Dashboard) registerAlerts(mux Router) {
	for _, name := range []string{"alerts", "alerts_added", "alerts_delivery"} {
		d.pages[name] = template.Must(template.ParseFS(webFiles, "web/layout.html", "web/"+name+".html"))
	}
	mux.Handle("GET /alerts", secure(d.signedIn(d.alertsOnly(d.alerts))))
	mux.Handle("POST /alerts/webhooks", secure(d.signedIn(d.alertsOnly(d.addWebhook))))
	mux.Handle("POST /alerts/emails", secure(d.signedIn(d.alertsOnly(d.addEmailAlert))))
	mux.Handle("POST /alerts/subscriptions/{id}/resume", secure(d.signedIn(d.alertsOnly(d.resumeSubscription))))
	mux.Handle("GET /alerts/deliveries/{id}", secure(d.signedIn(d.alertsOnly(d.delivery))))
}

// chainOnly lets through readers of the whole chain, and with needPerson only a person
// signed in, never a machine's API token; anyone else gets refusal on a 403 page.
// Alerts, links and people are the chain's business, not one store's or region's.
func (d *Dashboard) chainOnly(refusal string, needPerson bool, next pageHandler) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p page) {
		if !p.Reader.Chain() || needPerson && p.Reader.UserID == "" {
			p.Title, p.Error = "Not allowed", refusal
			d.render(w, http.StatusForbidden, "forbidden", p)
			return
		}
		next(w, r, p)
	}
}

// alertsOnly guards the Alerts pages: a subscription may cover any store, and its URL and
// errors are the chain's.
func (d *Dashboard) alertsOnly(next pageHandler) pageHandler {
	return d.chainOnly("Alerts are managed for the whole chain: this sign-in may read its own store or region only.", false, next)
}

// alertLogSize is how many of the newest deliveries the page lists.
const alertLogSize = 100

// subscriptionRow is a subscription as the page shows it.
type subscriptionRow struct {
	storage.Subscription
	Email *alerts.EmailTarget // set for an e-mail subscription
	Where string              // the scope in words
}

// Target says where the events go, in words.
func (s subscriptionRow) Target() string {
	if s.User.ID != "" {
		return "E-mail to " + s.User.Name + " <" + s.Email.Address + "> in " + languageNames[s.Email.Lang] + ", as set on People"
	}
	if s.Email != nil {
		return "E-mail to " + s.Email.Address + " in " + languageNames[s.Email.Lang]
	}
	return s.URL
}

// EventList names the events, or says it is all of them.
func (s subscriptionRow) EventList() string {
	if len(s.Events) == 0 {
		return "every event"
	}
	return strings.Join(s.Events, ", ")
}

var languageNames = map[string]string{"en": "English", "es": "Spanish", "fr": "French", "de": "German"}

// deliveryRow is a line of the delivery log.
type deliveryRow struct {
	storage.DeliveryLogLine
	Sub    subscriptionRow
	Paused bool // its subscription is paused: a pending delivery waits for a resume
}

// State says where the delivery stands, in words.
func (l deliveryRow) State() string {
	switch {
	case l.Status == "delivered":
		return "Delivered"
	case l.Status == "failed":
		return "FAILED: gave up"
	case l.Paused:
		return "Waiting: subscription paused"
	case l.Attempts > 0:
		return "Retrying"
	}
	return "Pending"
}

// subscriptionView is how the page shows a subscription whose stores it knows.
func subscriptionView(s storage.Subscription, stores []storage.Store) subscriptionRow {
	row := subscriptionRow{Subscription: s, Where: scopeWords(s, stores)}
	if e, ok := alerts.ParseEmailURL(s.URL); ok {
		row.Email = &e
	}
	if s.User.ID != "" {
		row.Email = &alerts.EmailTarget{Address: s.User.Email, Lang: s.User.Language}
	}
	return row
}

// eventWords says when each event is sent, beside its box on the forms.
var eventWords = map[string]string{
	storage.EventCaseOpened:      "a response opened a follow-up case",
	storage.EventCaseUpdated:     "a case was moved, assigned or noted",
	storage.EventResponseCreated: "every response stored: many, for integrations",
	storage.EventNPSDropped:      "a store's NPS dropped beyond its margin of error",
	storage.EventNPSRecovered:    "a store's drop has ended",
	storage.EventDigest:          "yesterday's figures, once a day: a store's, a region's or the chain's, with a line per store",
}

// defaultEvents are ticked on a fresh form: what needs someone's attention. Responses
// and digests come one per response or per store and day, so they are asked for.
var defaultEvents = []string{storage.EventCaseOpened, storage.EventCaseUpdated, storage.EventNPSDropped, storage.EventNPSRecovered}

type alertsData struct {
	Subscriptions []subscriptionRow
	Paused        int
	Log           []deliveryRow
	LogSize       int
	Stores        []storage.Store
	Regions       []string
	EventTypes    []string
	Languages     []string
	LanguageNames map[string]string
	// Form is what was typed into the refused form; Refused names it ("webhook" or
	// "email"), so that nobody types it twice.
	Form    url.Values
	Refused string
}

// When shows an instant on the collector's clock.
func (alertsData) When(t time.Time) string { return when(t) }

// Describe says when an event is sent.
func (alertsData) Describe(event string) string { return eventWords[event] }

// formView is one of the two forms, for the fields they share.
type formView struct {
	Form string // "webhook" or "email"
	A    alertsData
}

// For hands the shared fields their form.
func (a alertsData) For(form string) formView { return formView{Form: form, A: a} }

// Typed is what was typed into field of the refused form, else "".
func (a alertsData) Typed(form, field string) string {
	if a.Refused != form {
		return ""
	}
	return a.Form.Get(field)
}

// Checked reports whether an event box of the form is ticked: what was ticked on a
// refused form, else the events every new subscription starts with.
func (a alertsData) Checked(form, event string) bool {
	if a.Refused == form {
		return slices.Contains(a.Form["events"], event)
	}
	return slices.Contains(defaultEvents, event)
}

// Scoped reports whether value is the scope chosen on the refused form ("chain" by default).
func (a alertsData) Scoped(form, value string) bool {
	if a.Refused == form {
		return a.Form.Get("scope") == value
	}
	return value == storage.ScopeChain
}

// when shows an instant in UTC, the collector's own clock, for a chain across zones.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func (d *Dashboard) alerts(w http.ResponseWriter, r *http.Request, p page) {
	d.renderAlerts(w, r, p, http.StatusOK, "", nil)
}

// renderAlerts shows the page; a refused form comes back with what was typed in it.
func (d *Dashboard) renderAlerts(w http.ResponseWriter, r *http.Request, p page, status int, refused string, form url.Values) {
	ctx := r.Context()
	subs, err := d.svc.Subscriptions(ctx)
	if err != nil {
		d.fail(w, err)
		return
	}
	log, err := d.svc.DeliveryLog(ctx, alertLogSize)
	if err != nil {
		d.fail(w, err)
		return
	}
	stores, err := d.svc.StoreList(ctx)
	if err != nil {
		d.fail(w, err)
		return
	}
	data := alertsData{LogSize: alertLogSize, Stores: stores, EventTypes: storage.EventTypes,
		Languages: []string{"en", "es", "fr", "de"}, LanguageNames: languageNames, Form: form, Refused: refused}
	for _, s := range stores {
		if s.Region != "" && !slices.Contains(data.Regions, s.Region) {
			data.Regions = append(data.Regions, s.Region)
		}
	}
	slices.Sort(data.Regions)
	byID := map[string]subscriptionRow{}
	for _, s := range subs {
		row := subscriptionView(s, stores)
		if s.Paused {
			data.Paused++
		}
		byID[s.ID] = row
		data.Subscriptions = append(data.Subscriptions, row)
	}
	for _, l := range log {
		sub := byID[l.Subscription]
		data.Log = append(data.Log, deliveryRow{DeliveryLogLine: l, Sub: sub, Paused: sub.Paused})
	}
	p.Title, p.Page = "Alerts", "alerts"
	p.Data = data
	d.render(w, status, "alerts", p)
}

// scopeWords says which stores' events a subscription gets.
func scopeWords(s storage.Subscription, stores []storage.Store) string {
	switch s.ScopeKind {
	case storage.ScopeRegion:
		return "Region " + s.Scope
	case storage.ScopeStore:
		for _, st := range stores {
			if st.ID == s.Scope && st.Name != "" {
				return "Store " + st.ID + " (" + st.Name + ")"
			}
		}
		return "Store " + s.Scope
	}
	return "All stores"
}

// subscriptionForm reads the scope and events that both forms share. The scope is one
// choice, "chain", "region:R" or "store:S", so a form cannot name a region and a store.
func subscriptionForm(r *http.Request) (storage.Subscription, error) {
	var sub storage.Subscription
	kind, id, _ := strings.Cut(r.PostFormValue("scope"), ":")
	switch kind {
	case storage.ScopeChain:
		sub.ScopeKind = storage.ScopeChain
	case storage.ScopeRegion, storage.ScopeStore:
		if id == "" {
			return sub, fmt.Errorf("%w: choose which %s", storage.ErrInvalid, kind)
		}
		sub.ScopeKind, sub.Scope = kind, id
	default:
		return sub, fmt.Errorf("%w: choose all stores, a region or a store", storage.ErrInvalid)
	}
	sub.Events = r.PostForm["events"]
	if len(sub.Events) == 0 {
		// An empty list means every event in storage; a form sent with no box ticked
		// more likely forgot them than asked for everything, response.created included.
		return sub, fmt.Errorf("%w: tick at least one event", storage.ErrInvalid)
	}
	return sub, nil
}

// readAlertForm parses a POST of the page and checks its CSRF token; on failure it has
// answered already.
func (d *Dashboard) readAlertForm(w http.ResponseWriter, r *http.Request, p page, form string) bool {
	if !readForm(w, r, 16<<10) {
		return false
	}
	if !csrfOK(r) {
		p.Error = "The form expired. Nothing was changed; please try again."
		d.renderAlerts(w, r, p, http.StatusForbidden, form, r.PostForm)
		return false
	}
	return true
}

// refusal words why a subscription was not added: the policy's reason for a URL, or
// the storage's for the rest.
func refusal(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, alerts.ErrRefusedURL):
		if _, why, ok := strings.Cut(msg, alerts.ErrRefusedURL.Error()+": "); ok {
			msg = why
		}
		return "The collector will not send alerts there: " + msg + ". Webhooks go to https URLs on public addresses only."
	case errors.Is(err, storage.ErrNotFound):
		return "There is no such store."
	}
	if _, why, ok := strings.Cut(msg, storage.ErrInvalid.Error()+": "); ok {
		msg = why
	}
	return "Not added: " + msg + "."
}

// refuse re-renders the page with the form as it was sent and why it was refused: a
// 400 for what the reader can fix, a 503 for the rest.
func (d *Dashboard) refuse(w http.ResponseWriter, r *http.Request, p page, form string, err error) {
	if !errors.Is(err, storage.ErrInvalid) && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, alerts.ErrRefusedURL) {
		d.fail(w, err)
		return
	}
	d.log.Info("dashboard: subscription refused", "form", form, "actor", p.Reader.Name, "err", err)
	p.Error = refusal(err)
	d.renderAlerts(w, r, p, http.StatusBadRequest, form, r.PostForm)
}

type addedData struct {
	Sub subscriptionRow
}

func (d *Dashboard) addWebhook(w http.ResponseWriter, r *http.Request, p page) {
	if !d.readAlertForm(w, r, p, "webhook") {
		return
	}
	sub, err := subscriptionForm(r)
	if err != nil {
		d.refuse(w, r, p, "webhook", err)
		return
	}
	sub.URL = strings.TrimSpace(r.PostFormValue("url"))
	sub, err = d.svc.AddWebhook(r.Context(), sub, d.policy)
	if err != nil {
		d.refuse(w, r, p, "webhook", err)
		return
	}
	d.log.Info("dashboard: webhook added", "subscription", sub.ID, "url", sub.URL, "actor", p.Reader.Name)
	stores, err := d.svc.StoreList(r.Context())
	if err != nil {
		d.fail(w, err)
		return
	}
	// The secret is on this page only: not in a redirect's URL, and the list never
	// reads it back from the database.
	p.Title, p.Page = "Webhook added", "alerts"
	p.Data = addedData{Sub: subscriptionView(sub, stores)}
	d.render(w, http.StatusOK, "alerts_added", p)
}

func (d *Dashboard) addEmailAlert(w http.ResponseWriter, r *http.Request, p page) {
	if !d.readAlertForm(w, r, p, "email") {
		return
	}
	sub, err := subscriptionForm(r)
	if err != nil {
		d.refuse(w, r, p, "email", err)
		return
	}
	sub, err = d.svc.AddEmailAlert(r.Context(), sub, strings.TrimSpace(r.PostFormValue("address")), r.PostFormValue("lang"))
	if err != nil {
		d.refuse(w, r, p, "email", err)
		return
	}
	d.log.Info("dashboard: e-mail alert added", "subscription", sub.ID, "actor", p.Reader.Name)
	http.Redirect(w, r, "/alerts#sub-"+url.PathEscape(sub.ID), http.StatusSeeOther)
}

func (d *Dashboard) resumeSubscription(w http.ResponseWriter, r *http.Request, p page) {
	if !d.readAlertForm(w, r, p, "") {
		return
	}
	id := r.PathValue("id")
	err := d.svc.ResumeSubscription(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		p.Error = "There is no subscription " + id + "."
		d.renderAlerts(w, r, p, http.StatusNotFound, "", nil)
		return
	}
	if err != nil {
		d.fail(w, err)
		return
	}
	d.log.Info("dashboard: subscription resumed", "subscription", id, "actor", p.Reader.Name)
	http.Redirect(w, r, "/alerts#sub-"+url.PathEscape(id), http.StatusSeeOther)
}

type deliveryData struct {
	Line     deliveryRow
	Attempts []storage.DeliveryAttempt
}

// Milliseconds shows an attempt's duration.
func (deliveryData) Milliseconds(d time.Duration) int64 { return d.Milliseconds() }

// When shows an instant on the collector's clock.
func (deliveryData) When(t time.Time) string { return when(t) }

// Number counts attempts from one.
func (deliveryData) Number(i int) int { return i + 1 }

func (d *Dashboard) delivery(w http.ResponseWriter, r *http.Request, p page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var line storage.DeliveryLogLine
	if err == nil {
		line, err = d.svc.DeliveryLogEntry(r.Context(), id)
	}
	if err != nil {
		var numErr *strconv.NumError
		if !errors.As(err, &numErr) && !errors.Is(err, storage.ErrNotFound) {
			d.fail(w, err)
			return
		}
		p.Title, p.Error = "No such delivery", "There is no delivery "+r.PathValue("id")+"."
		d.render(w, http.StatusNotFound, "forbidden", p)
		return
	}
	attempts, err := d.svc.DeliveryAttempts(r.Context(), id)
	if err != nil {
		d.fail(w, err)
		return
	}
	subs, err := d.svc.Subscriptions(r.Context())
	if err != nil {
		d.fail(w, err)
		return
	}
	stores, err := d.svc.StoreList(r.Context())
	if err != nil {
		d.fail(w, err)
		return
	}
	row := deliveryRow{DeliveryLogLine: line, Sub: subscriptionView(storage.Subscription{ID: line.Subscription, URL: line.URL}, stores)}
	for _, s := range subs {
		if s.ID == line.Subscription {
			row.Sub, row.Paused = subscriptionView(s, stores), s.Paused
		}
	}
	p.Title, p.Page = fmt.Sprintf("Delivery %d", id), "alerts"
	p.Data = deliveryData{Line: row, Attempts: attempts}
	d.render(w, http.StatusOK, "alerts_delivery", p)
}
