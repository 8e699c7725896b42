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
	"unicode"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/websurvey"
	"github.com/npskiosk/npskiosk/collector/widget"
)

// registerLinks adds the Links pages: survey links with their answers, a form that adds
// one, Disable buttons, and each link's QR code and posters to download; and the site
// and app keys (the website widget's, mobile apps'), a form that adds a site key and
// shows its embed code, and their Disable buttons.
func (d *Dashboard) registerLinks(mux Router) {
	d.pages["links"] = template.Must(template.ParseFS(webFiles, "web/layout.html", "web/links.html"))
	mux.Handle("GET /links", secure(d.signedIn(d.linksChainOnly(d.links))))
	mux.Handle("POST /links", secure(d.signedIn(d.linksChainOnly(d.addLink))))
	mux.Handle("POST /links/{code}/disable", secure(d.signedIn(d.linksChainOnly(d.disableLink))))
	mux.Handle("POST /links/keys", secure(d.signedIn(d.linksChainOnly(d.addKey))))
	mux.Handle("GET /links/{code}/{file}", secure(d.signedIn(d.linksChainOnly(d.printLink))))
}

// linksChainOnly guards the Links pages: links are printed and handed out by HQ, like
// the chain's alerts.
func (d *Dashboard) linksChainOnly(next pageHandler) pageHandler {
	return d.chainOnly("Survey links are managed for the whole chain: this sign-in may read its own store or region only.", false, next)
}

// linkRow is a link as the page shows it.
type linkRow struct {
	storage.Link
	StoreName string
	URL       string
	Answers   int64
	State     string
	Open      bool
}

// keyRow is a site or app key as the page shows it; a site key with its embed code.
type keyRow struct {
	linkRow
	Embed *widget.Embed
}

type linksData struct {
	Links     []linkRow
	Keys      []keyRow
	AddedKey  *keyRow
	Stores    []storage.Store
	Base      string
	BaseGuess bool // no --public-url: the addresses use the one this page was opened at
	Added     *linkRow
	Form      url.Values // what was typed into a refused form
	Channels  []string   // suggestions
	Touch     []string
	Kinds     []string
}

// Typed is what was typed into a field of the refused form.
func (l linksData) Typed(field string) string { return l.Form.Get(field) }

// Day shows an instant as a date in UTC.
func (linksData) Day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// base is where shoppers reach the survey: the configured public URL, else the
// address this request came to.
func (d *Dashboard) base(r *http.Request) (string, bool) {
	if d.publicURL != "" {
		return d.publicURL, false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host, true
}

func (d *Dashboard) links(w http.ResponseWriter, r *http.Request, p page) {
	d.renderLinks(w, r, p, http.StatusOK, nil)
}

// renderLinks shows the page; a refused form comes back with what was typed in it.
func (d *Dashboard) renderLinks(w http.ResponseWriter, r *http.Request, p page, status int, form url.Values) {
	ctx := r.Context()
	links, err := d.svc.Links(ctx, "")
	if err != nil {
		d.fail(w, err)
		return
	}
	answers, err := d.svc.LinkAnswers(ctx)
	if err != nil {
		d.fail(w, err)
		return
	}
	stores, err := d.svc.StoreList(ctx)
	if err != nil {
		d.fail(w, err)
		return
	}
	names := map[string]string{}
	zones := map[string]*time.Location{}
	for _, s := range stores {
		names[s.ID] = s.Name
		if loc, err := time.LoadLocation(s.Timezone); err == nil {
			zones[s.ID] = loc
		}
	}
	base, guess := d.base(r)
	data := linksData{Stores: stores, Base: base, BaseGuess: guess, Form: form, Kinds: websurvey.PrintableKinds,
		Channels: []string{"qr", "web", "sms", "receipt", "chat", "social"},
		Touch:    []string{"checkout", "returns", "pickup", "delivery", "fitting-room", "online-order"}}
	now := d.svc.Now()
	added := r.URL.Query().Get("added")
	for _, l := range links {
		row := linkRow{Link: l, StoreName: names[l.StoreID], URL: websurvey.LinkURL(base, l.Code), Answers: answers[l.ID], Open: l.Open(now) == nil}
		loc := zones[l.StoreID]
		if loc == nil {
			loc = time.UTC
		}
		// Days on the store's clock: a link that takes answers "until 31 January" does so
		// to midnight there, the instant it expires.
		switch {
		case !l.DisabledAt.IsZero():
			row.State = "Disabled " + l.DisabledAt.In(loc).Format(time.DateOnly)
		case !row.Open:
			row.State = "Expired " + l.ExpiresAt.Add(-time.Millisecond).In(loc).Format(time.DateOnly)
		case !l.ExpiresAt.IsZero():
			row.State = "Open until " + l.ExpiresAt.Add(-time.Millisecond).In(loc).Format(time.DateOnly)
		default:
			row.State = "Open"
		}
		if l.Kind == storage.LinkKindSite || l.Kind == storage.LinkKindApp {
			k := keyRow{linkRow: row}
			if l.Kind == storage.LinkKindSite {
				em := widget.Snippet(base, l)
				k.Embed = &em
			}
			if l.Code == r.URL.Query().Get("key") {
				data.AddedKey = &k
			}
			data.Keys = append(data.Keys, k)
			continue
		}
		if l.Code == added {
			data.Added = &row
		}
		data.Links = append(data.Links, row)
	}
	p.Title, p.Page = "Links", "links"
	p.Data = data
	d.render(w, status, "links", p)
}

// readLinkForm reads a posted form and checks its CSRF token; it has replied when it
// returns false.
func (d *Dashboard) readLinkForm(w http.ResponseWriter, r *http.Request, p page) bool {
	if !readForm(w, r, 8<<10) {
		return false
	}
	if !csrfOK(r) {
		p.Error = "The form expired. Nothing was changed; please try again."
		d.renderLinks(w, r, p, http.StatusForbidden, r.PostForm)
		return false
	}
	return true
}

func (d *Dashboard) addLink(w http.ResponseWriter, r *http.Request, p page) {
	if !d.readLinkForm(w, r, p) {
		return
	}
	f := r.PostForm
	l, err := websurvey.AddLink(r.Context(), d.svc, websurvey.LinkRequest{StoreID: f.Get("store"), Channel: f.Get("channel"),
		Touchpoint: f.Get("touchpoint"), Label: f.Get("label"), Expires: f.Get("expires")})
	switch {
	case errors.Is(err, storage.ErrInvalid):
		p.Error = "The link was not added: " + err.Error() + "."
		d.renderLinks(w, r, p, http.StatusBadRequest, f)
		return
	case errors.Is(err, storage.ErrNotFound):
		p.Error = "The link was not added: there is no store " + strconv.Quote(f.Get("store")) + "."
		d.renderLinks(w, r, p, http.StatusBadRequest, f)
		return
	case err != nil:
		d.fail(w, err)
		return
	}
	d.log.Info("dashboard: survey link added", "link", l.Code, "store", l.StoreID, "channel", l.Channel, "actor", p.Reader.Name)
	http.Redirect(w, r, "/links?added="+url.QueryEscape(l.Code)+"#link-"+l.Code, http.StatusSeeOther)
}

func (d *Dashboard) disableLink(w http.ResponseWriter, r *http.Request, p page) {
	if !d.readLinkForm(w, r, p) {
		return
	}
	code := r.PathValue("code")
	l, err := d.svc.DisableLink(r.Context(), code)
	switch {
	case !storage.ValidLinkCode(code) || errors.Is(err, storage.ErrNotFound):
		p.Error = "There is no link " + code + "."
		d.renderLinks(w, r, p, http.StatusNotFound, nil)
		return
	case err != nil && !errors.Is(err, storage.ErrConflict): // disabled twice is disabled
		d.fail(w, err)
		return
	}
	d.log.Info("dashboard: survey link disabled", "link", code, "actor", p.Reader.Name)
	anchor := "#link-"
	if l.Kind == storage.LinkKindSite || l.Kind == storage.LinkKindApp {
		anchor = "#key-"
	}
	http.Redirect(w, r, "/links"+anchor+code, http.StatusSeeOther)
}

// addKey adds a site key for the website widget: a store, the origins of the pages
// that embed it, a touchpoint, a rate and a label. App keys are added with
// npscollector key add, where IT has the app's bundle ids at hand.
func (d *Dashboard) addKey(w http.ResponseWriter, r *http.Request, p page) {
	if !d.readLinkForm(w, r, p) {
		return
	}
	f := r.PostForm
	nl := storage.NewLink{Kind: storage.LinkKindSite, StoreID: f.Get("store"), Channel: "web", Touchpoint: strings.TrimSpace(f.Get("touchpoint")),
		Label: f.Get("label"), Origins: strings.FieldsFunc(f.Get("origins"), func(c rune) bool { return c == ',' || unicode.IsSpace(c) })}
	var err error
	if v := strings.TrimSpace(f.Get("rate")); v != "" {
		if nl.RatePerMinute, err = strconv.Atoi(v); err != nil {
			err = fmt.Errorf("%w: the rate %q is not a whole number of answers a minute", storage.ErrInvalid, v)
		}
	}
	var l storage.Link
	if err == nil {
		l, err = d.svc.AddLink(r.Context(), nl)
	}
	switch {
	case errors.Is(err, storage.ErrInvalid):
		p.Error = "The key was not added: " + err.Error() + "."
		d.renderLinks(w, r, p, http.StatusBadRequest, f)
		return
	case errors.Is(err, storage.ErrNotFound):
		p.Error = "The key was not added: there is no store " + strconv.Quote(f.Get("store")) + "."
		d.renderLinks(w, r, p, http.StatusBadRequest, f)
		return
	case err != nil:
		d.fail(w, err)
		return
	}
	d.log.Info("dashboard: site key added", "key", l.Code, "store", l.StoreID, "origins", strings.Join(l.Origins, " "), "actor", p.Reader.Name)
	http.Redirect(w, r, "/links?key="+url.QueryEscape(l.Code)+"#key-"+l.Code, http.StatusSeeOther)
}

// printLink serves a link's QR code or poster: shown in the page (the QR images), or
// downloaded with ?download=1.
func (d *Dashboard) printLink(w http.ResponseWriter, r *http.Request, p page) {
	code, kind := r.PathValue("code"), r.PathValue("file")
	if !storage.ValidLinkCode(code) || !slices.Contains(websurvey.PrintableKinds, kind) {
		http.NotFound(w, r)
		return
	}
	l, err := d.svc.LinkByCode(r.Context(), code)
	if errors.Is(err, storage.ErrNotFound) || err == nil && (l.Kind == storage.LinkKindSite || l.Kind == storage.LinkKindApp) {
		http.NotFound(w, r) // a key has no survey page to print
		return
	}
	if err != nil {
		d.fail(w, err)
		return
	}
	base, _ := d.base(r)
	f, err := websurvey.Print(r.Context(), d.svc, l, base, kind)
	if err != nil {
		d.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	if r.URL.Query().Get("download") != "" || kind != "qr.png" && kind != "qr.svg" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
	}
	w.Write(f.Body)
}
