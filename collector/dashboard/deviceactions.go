package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// deviceActionsShown is how many of the newest remote actions the devices page lists.
const deviceActionsShown = 50

// actionLabels name the remote actions on the devices page.
var actionLabels = map[string]string{
	wire.ActionSyncNow:     "Sync now",
	wire.ActionDiagnostics: "Diagnostics",
	wire.ActionRestart:     "Restart app",
}

// actionChoice is one remote action button.
type actionChoice struct{ Kind, Label string }

// actionRow is a remote action as the devices page lists it.
type actionRow struct {
	storage.DeviceAction
	Device string // the device's name
	Label  string
}

// registerDeviceActions adds the devices page's remote actions: asking a kiosk to
// sync now, to upload a diagnostics bundle or to restart, and downloading the bundle.
// They are for people who see the whole chain, as managing people is.
func (d *Dashboard) registerDeviceActions(mux Router) {
	only := func(next pageHandler) pageHandler {
		return d.chainOnly("Remote actions on kiosks are for people who see the whole chain.", true, next)
	}
	mux.Handle("POST /devices/{id}/actions", secure(d.signedIn(only(d.askDevice))))
	mux.Handle("GET /devices/actions/{id}/diagnostics", secure(d.signedIn(only(d.downloadDiagnostics))))
}

// deviceActionData is the devices page's remote actions part, for chain readers.
func (d *Dashboard) deviceActionData(r *http.Request, p page, devices []storage.Device) ([]actionRow, error) {
	if !p.Reader.Chain() || p.Reader.UserID == "" {
		return nil, nil
	}
	as, err := d.svc.DeviceActions(r.Context(), "", deviceActionsShown)
	if err != nil {
		return nil, err
	}
	rows := make([]actionRow, 0, len(as))
	for _, a := range as {
		row := actionRow{DeviceAction: a, Device: a.DeviceID, Label: actionLabels[a.Kind]}
		if i := slices.IndexFunc(devices, func(dv storage.Device) bool { return dv.ID == a.DeviceID }); i >= 0 {
			row.Device = devices[i].Name + " (" + devices[i].StoreID + ")"
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// askDevice queues a remote action for a device, recording who asked.
func (d *Dashboard) askDevice(w http.ResponseWriter, r *http.Request, p page) {
	if !readForm(w, r, 4<<10) {
		return
	}
	if !csrfOK(r) {
		d.renderDevices(w, r, p, http.StatusForbidden, "The form expired. Nothing was asked of the kiosk; please try again.")
		return
	}
	id, kind := r.PathValue("id"), r.PostFormValue("kind")
	a, err := d.svc.QueueDeviceAction(r.Context(), id, kind, p.Reader.Name)
	switch {
	case errors.Is(err, storage.ErrInvalid):
		d.renderDevices(w, r, p, http.StatusBadRequest, "There is no such action.")
		return
	case errors.Is(err, storage.ErrNotFound):
		d.renderDevices(w, r, p, http.StatusNotFound, "There is no such device.")
		return
	case errors.Is(err, storage.ErrConflict):
		d.renderDevices(w, r, p, http.StatusConflict, fmt.Sprintf("%s was asked of that kiosk already and waits for its answer, or the device is revoked.", actionLabels[kind]))
		return
	case err != nil:
		d.fail(w, err)
		return
	}
	d.log.Info("device action asked", "action", a.ID, "device", id, "kind", kind, "by", p.Reader.Name)
	http.Redirect(w, r, "/devices?asked="+url.QueryEscape(a.ID)+"#actions", http.StatusSeeOther)
}

// downloadDiagnostics serves a kept diagnostics bundle as a JSON file.
func (d *Dashboard) downloadDiagnostics(w http.ResponseWriter, r *http.Request, p page) {
	id := r.PathValue("id")
	a, body, err := d.svc.Diagnostics(r.Context(), id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		http.Error(w, "There is no diagnostics bundle for that action: none was uploaded, or it expired.", http.StatusNotFound)
		return
	case err != nil:
		d.fail(w, err)
		return
	}
	d.log.Info("diagnostics bundle downloaded", "action", id, "device", a.DeviceID, "by", p.Reader.Name)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="diagnostics-%s-%s.json"`,
		url.PathEscape(a.DeviceID), a.RequestedAt.UTC().Format("20060102T150405Z")))
	w.Write(body)
}

// ActionChoices are the remote actions a device's row offers.
func (devicesData) ActionChoices() []actionChoice {
	out := make([]actionChoice, 0, len(wire.ActionKinds))
	for _, k := range wire.ActionKinds {
		out = append(out, actionChoice{Kind: k, Label: actionLabels[k]})
	}
	return out
}

// When shows a time of a remote action, or "—" for none.
func (devicesData) When(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04")
}
