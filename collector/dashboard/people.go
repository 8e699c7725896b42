package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/npskiosk/npskiosk/collector/storage"
)

type peopleData struct {
	Users     []storage.User
	Languages []string
	Scopes    []scopeChoice
	Form      url.Values // what was typed into a refused form, but never the password
	Added     string     // the e-mail of the user just added
	Self      string     // the signed-in user's id: nobody disables themselves
	Events    []string   // the events a person may have e-mailed
	Saved     string     // the e-mail of the person whose alerts were just saved
	// Tokens are the API tokens of machines, with their last use; Revoked names the one
	// just revoked.
	Tokens  []storage.APITokenInfo
	Revoked string
}

// Describe says when an event is sent.
func (peopleData) Describe(event string) string { return eventWords[event] }

// Receives reports whether a person has an event e-mailed to them.
func (peopleData) Receives(u storage.User, event string) bool {
	return slices.Contains(u.Alerts, event)
}

// Checked reports whether the add form's box for an event is ticked: as typed, or the
// defaults on a fresh form.
func (d peopleData) Checked(event string) bool {
	if d.Form != nil {
		return slices.Contains(d.Form["alerts"], event)
	}
	return slices.Contains(storage.DefaultUserAlerts, event)
}

// scopeChoice is one line of the scope list: the chain, a region or a store.
type scopeChoice struct{ Value, Label string }

// ScopeLabel says what a user may see, in words.
func (peopleData) ScopeLabel(u storage.User) string {
	switch u.ScopeKind {
	case storage.UserScopeStore:
		return "Store " + u.Scope
	case storage.UserScopeRegion:
		return "Region " + u.Scope
	}
	return "Whole chain"
}

// peopleOnly guards the People pages: only a person who sees the whole chain manages
// people; a store's manager could otherwise give someone the chain, and a machine's API
// token could make itself a password.
func (d *Dashboard) peopleOnly(next pageHandler) pageHandler {
	return d.chainOnly("Only people who see the whole chain manage people.", true, next)
}

func (d *Dashboard) people(w http.ResponseWriter, r *http.Request, p page) {
	d.renderPeople(w, r, p, http.StatusOK, nil)
}

func (d *Dashboard) renderPeople(w http.ResponseWriter, r *http.Request, p page, status int, form url.Values) {
	users, err := d.svc.Users(r.Context())
	if err != nil {
		d.fail(w, err)
		return
	}
	_, stores, err := d.storeIndex(r, p)
	if err != nil {
		d.fail(w, err)
		return
	}
	scopes := []scopeChoice{{"chain", "Whole chain"}}
	var regions []string
	for _, s := range stores {
		if s.Region != "" && !slices.Contains(regions, s.Region) {
			regions = append(regions, s.Region)
		}
	}
	slices.Sort(regions)
	for _, rg := range regions {
		scopes = append(scopes, scopeChoice{"region:" + rg, "Region " + rg})
	}
	for _, s := range stores {
		scopes = append(scopes, scopeChoice{"store:" + s.ID, "Store " + s.ID + " · " + s.Name})
	}
	tokens, err := d.svc.APITokens(r.Context())
	if err != nil {
		d.fail(w, err)
		return
	}
	if form != nil {
		form.Del("password")
	}
	p.Title, p.Page = "People", "people"
	p.Data = peopleData{Users: users, Languages: storage.UserLanguages, Scopes: scopes, Form: form,
		Added: r.URL.Query().Get("added"), Self: p.Reader.UserID, Events: storage.UserAlertEvents,
		Saved: r.URL.Query().Get("saved"), Tokens: tokens, Revoked: r.URL.Query().Get("revoked")}
	d.render(w, status, "people", p)
}

// addPerson adds a user from the People page's form.
func (d *Dashboard) addPerson(w http.ResponseWriter, r *http.Request, p page) {
	if !readForm(w, r, 16<<10) {
		return
	}
	if !csrfOK(r) {
		p.Error = "The form expired. Nobody was added; please try again."
		d.renderPeople(w, r, p, http.StatusForbidden, r.PostForm)
		return
	}
	nu := storage.NewUser{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"),
		Language: r.PostFormValue("language"), Password: r.PostFormValue("password"), Alerts: r.PostForm["alerts"]}
	kind, scope, _ := strings.Cut(r.PostFormValue("scope"), ":")
	nu.ScopeKind, nu.Scope = kind, scope
	u, err := d.svc.AddUser(r.Context(), nu)
	if err != nil {
		switch {
		case errors.Is(err, storage.ErrExists):
			p.Error = "Not added: someone already signs in with that e-mail."
		case errors.Is(err, storage.ErrInvalid), errors.Is(err, storage.ErrNotFound):
			p.Error = "Not added: " + humanError(err)
		default:
			d.fail(w, err)
			return
		}
		d.renderPeople(w, r, p, http.StatusBadRequest, r.PostForm)
		return
	}
	d.log.Info("dashboard: user added", "user", u.Email, "scope", u.ScopeKind+" "+u.Scope, "by", p.Reader.Name)
	http.Redirect(w, r, "/people?added="+url.QueryEscape(u.Email), http.StatusSeeOther)
}

// disablePerson disables a user, which ends their sessions on every collector.
func (d *Dashboard) disablePerson(w http.ResponseWriter, r *http.Request, p page) {
	if !readForm(w, r, 8<<10) {
		return
	}
	if !csrfOK(r) {
		p.Error = "The form expired. Nobody was disabled; please try again."
		d.renderPeople(w, r, p, http.StatusForbidden, nil)
		return
	}
	id := r.PathValue("id")
	if id == p.Reader.UserID {
		p.Error = "You cannot disable yourself: ask another HQ user, or IT (npscollector user disable)."
		d.renderPeople(w, r, p, http.StatusConflict, nil)
		return
	}
	u, err := d.svc.User(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		p.Error = "There is no such person."
		d.renderPeople(w, r, p, http.StatusNotFound, nil)
		return
	}
	if err != nil {
		d.fail(w, err)
		return
	}
	if err := d.svc.DisableUser(r.Context(), u.Email); err != nil && !errors.Is(err, storage.ErrConflict) {
		d.fail(w, err)
		return
	}
	d.log.Info("dashboard: user disabled", "user", u.Email, "by", p.Reader.Name)
	http.Redirect(w, r, "/people", http.StatusSeeOther)
}

// setPersonAlerts sets the events e-mailed to a person.
func (d *Dashboard) setPersonAlerts(w http.ResponseWriter, r *http.Request, p page) {
	if !readForm(w, r, 8<<10) {
		return
	}
	if !csrfOK(r) {
		p.Error = "The form expired. No alerts were changed; please try again."
		d.renderPeople(w, r, p, http.StatusForbidden, nil)
		return
	}
	u, err := d.svc.User(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		p.Error = "There is no such person."
		d.renderPeople(w, r, p, http.StatusNotFound, nil)
		return
	}
	if err != nil {
		d.fail(w, err)
		return
	}
	err = d.svc.SetUserAlerts(r.Context(), u.ID, r.PostForm["alerts"])
	switch {
	case errors.Is(err, storage.ErrConflict):
		p.Error = u.Name + " is disabled: disabled people get no alerts."
		d.renderPeople(w, r, p, http.StatusConflict, nil)
		return
	case errors.Is(err, storage.ErrInvalid):
		p.Error = "Alerts not changed: " + humanError(err)
		d.renderPeople(w, r, p, http.StatusBadRequest, nil)
		return
	case err != nil:
		d.fail(w, err)
		return
	}
	d.log.Info("dashboard: alerts set", "user", u.Email, "alerts", r.PostForm["alerts"], "by", p.Reader.Name)
	http.Redirect(w, r, "/people?saved="+url.QueryEscape(u.Email), http.StatusSeeOther)
}

// humanError is a storage refusal without the operation's prefix and the sentinel:
// "add user x: invalid input: a name is required" becomes "A name is required.".
func humanError(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{storage.ErrInvalid, storage.ErrNotFound} {
		if i := strings.Index(msg, sentinel.Error()+": "); i >= 0 {
			msg = msg[i+len(sentinel.Error())+2:]
		} else if strings.HasSuffix(msg, ": "+sentinel.Error()) {
			msg = strings.TrimSuffix(msg, ": "+sentinel.Error())
			if i := strings.LastIndex(msg, ": "); i >= 0 {
				msg = msg[i+2:] + " is unknown"
			}
		}
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// revokeToken revokes an API token from the People page.
func (d *Dashboard) revokeToken(w http.ResponseWriter, r *http.Request, p page) {
	if !readForm(w, r, 4<<10) {
		return
	}
	if !csrfOK(r) {
		p.Error = "The form expired. No token was revoked; please try again."
		d.renderPeople(w, r, p, http.StatusForbidden, nil)
		return
	}
	id := r.PathValue("id")
	err := d.svc.RevokeAPIToken(r.Context(), id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		p.Error = "There is no such API token."
		d.renderPeople(w, r, p, http.StatusNotFound, nil)
		return
	case errors.Is(err, storage.ErrConflict):
		p.Error = "That API token was revoked already."
		d.renderPeople(w, r, p, http.StatusConflict, nil)
		return
	case err != nil:
		d.fail(w, err)
		return
	}
	d.log.Info("API token revoked", "token", id, "by", p.Reader.Name)
	http.Redirect(w, r, "/people?revoked="+url.QueryEscape(id), http.StatusSeeOther)
}
