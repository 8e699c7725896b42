package dashboard

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/devicesettings"
)

// The Kiosk settings page (/devices/settings) sets what npscollector settings sets: the
// kiosks' manager PIN, idle timeout, languages, display name, brightness and sleep hours,
// for the chain or one store. Only people who see the whole chain use it. A PIN is typed
// into a password field, hashed at once (devicesettings.HashPIN) and never shown again:
// the page names it by its hash's last characters.

func (d *Dashboard) registerDeviceSettings(mux Router) {
	d.pages["devicesettings"] = template.Must(template.ParseFS(webFiles, "web/layout.html", "web/devicesettings.html"))
	only := func(next pageHandler) pageHandler {
		return d.chainOnly("Kiosk settings are set by people who see the whole chain.", true, next)
	}
	mux.Handle("GET /devices/settings", secure(d.signedIn(only(d.deviceSettings))))
	mux.Handle("POST /devices/settings", secure(d.signedIn(only(d.setDeviceSettings))))
}

// settingsData is what the Kiosk settings page shows.
type settingsData struct {
	Rows   []settingsRow
	Scopes []scopeChoice
	Fields []string
	Form   url.Values
	Saved  string
}

// settingsRow is one scope's settings as the page lists them.
type settingsRow struct {
	Label string
	storage.ScopeSettings
}

// Lines lists the settings set, in words, the PIN by its fingerprint.
func (r settingsRow) Lines() []string {
	s := r.Settings
	var out []string
	if s.ManagerPINHash != "" {
		out = append(out, "Manager PIN: set (hash "+devicesettings.PINFingerprint(s.ManagerPINHash)+")")
	}
	if s.IdleTimeoutSeconds != 0 {
		out = append(out, fmt.Sprintf("Idle timeout: %d s", s.IdleTimeoutSeconds))
	}
	if len(s.Languages) > 0 {
		out = append(out, "Languages: "+strings.Join(s.Languages, ", "))
	}
	if s.DisplayName != "" {
		out = append(out, "Display name: "+s.DisplayName)
	}
	if s.Brightness != 0 {
		out = append(out, fmt.Sprintf("Brightness: %d %% (reported only)", s.Brightness))
	}
	if s.Sleep != "" {
		out = append(out, "Sleep hours: "+s.Sleep)
	}
	return out
}

func (d *Dashboard) deviceSettings(w http.ResponseWriter, r *http.Request, p page) {
	d.renderDeviceSettings(w, r, p, http.StatusOK, nil)
}

func (d *Dashboard) renderDeviceSettings(w http.ResponseWriter, r *http.Request, p page, status int, form url.Values) {
	all, err := d.svc.AllDeviceSettings(r.Context())
	if err != nil {
		d.fail(w, err)
		return
	}
	_, stores, err := d.storeIndex(r, p)
	if err != nil {
		d.fail(w, err)
		return
	}
	names := map[string]string{}
	scopes := []scopeChoice{{storage.ChainScope, "Whole chain"}}
	for _, s := range stores {
		names[s.ID] = s.Name
		scopes = append(scopes, scopeChoice{s.ID, "Store " + s.ID + " · " + s.Name})
	}
	data := settingsData{Scopes: scopes, Fields: devicesettings.Fields, Form: form, Saved: r.URL.Query().Get("saved")}
	for _, s := range all {
		label := "Whole chain"
		if s.Scope != storage.ChainScope {
			label = "Store " + s.Scope
			if n := names[s.Scope]; n != "" {
				label += " · " + n
			}
		}
		data.Rows = append(data.Rows, settingsRow{Label: label, ScopeSettings: s})
	}
	if data.Form == nil {
		data.Form = url.Values{}
	}
	data.Form.Del("pin") // never sent back
	p.Title, p.Page, p.Data = "Kiosk settings", "devices", data
	d.render(w, status, "devicesettings", p)
}

// setDeviceSettings changes one scope's settings: the fields filled in replace its
// values, the fields ticked under Clear are unset.
func (d *Dashboard) setDeviceSettings(w http.ResponseWriter, r *http.Request, p page) {
	if !readForm(w, r, 16<<10) {
		return
	}
	if !csrfOK(r) {
		p.Error = "The form expired. Nothing was changed; please try again."
		d.renderDeviceSettings(w, r, p, http.StatusForbidden, r.PostForm)
		return
	}
	refuse := func(msg string) {
		p.Error = "Nothing was changed: " + msg
		d.renderDeviceSettings(w, r, p, http.StatusBadRequest, r.PostForm)
	}
	var s devicesettings.Settings
	if v := strings.TrimSpace(r.PostFormValue("idle_timeout")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			refuse("the idle timeout is a whole number of seconds.")
			return
		}
		s.IdleTimeoutSeconds = n
	}
	if v := strings.TrimSpace(r.PostFormValue("brightness")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			refuse("the brightness is a whole number of percent.")
			return
		}
		s.Brightness = n
	}
	if v := strings.TrimSpace(r.PostFormValue("languages")); v != "" {
		for l := range strings.SplitSeq(v, ",") {
			s.Languages = append(s.Languages, strings.TrimSpace(l))
		}
	}
	s.DisplayName = strings.TrimSpace(r.PostFormValue("display_name"))
	s.Sleep = strings.TrimSpace(r.PostFormValue("sleep"))
	if pin := r.PostFormValue("pin"); pin != "" {
		hash, err := devicesettings.HashPIN(pin)
		if err != nil {
			refuse(humanError(err))
			return
		}
		s.ManagerPINHash = hash
	}
	clear := r.PostForm["clear"]
	if len(s.Set()) == 0 && len(clear) == 0 {
		refuse("fill in a setting or tick one to clear.")
		return
	}
	scope := r.PostFormValue("scope")
	out, err := d.svc.UpdateDeviceSettings(r.Context(), scope, s, clear, "dashboard "+p.Reader.Name)
	switch {
	case errors.Is(err, storage.ErrInvalid), errors.Is(err, storage.ErrNotFound):
		refuse(humanError(err))
		return
	case err != nil:
		d.fail(w, err)
		return
	}
	d.log.Info("dashboard: kiosk settings changed", "scope", scope, "version", out.Version, "fields", s.Set(), "cleared", clear, "by", p.Reader.Name)
	http.Redirect(w, r, "/devices/settings?saved="+url.QueryEscape(strconv.FormatInt(out.Version, 10)), http.StatusSeeOther)
}
