package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/npskiosk/npskiosk/pii"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// Remote actions: a heartbeat's reply may ask the kiosk to sync now, to upload a
// diagnostics bundle or to restart its app (wire.DeviceAction). The worker does each
// once: it notes the action's id in the kiosk's database before doing it, so an action
// the collector sends again (its reply to the result was lost) or a restart is not done
// twice. Its result is kept in the database too, and named in every heartbeat until one
// is answered: a restart's result is sent by the process that comes back.

// SettingActions is the settings key of the remote actions' state.
const SettingActions = "sync.actions"

// maxHandled is how many handled action ids the kiosk remembers: far more than the
// actions open at once.
const maxHandled = 64

// actionState is what the worker keeps of remote actions between heartbeats and
// restarts.
type actionState struct {
	Handled []string            `json:"handled"`
	Results []wire.ActionResult `json:"results,omitempty"`
}

// loadActions reads the actions' state once per process.
func (w *Worker) loadActions(ctx context.Context) error {
	w.mu.Lock()
	loaded := w.actionsLoaded
	w.mu.Unlock()
	if loaded {
		return nil
	}
	var st actionState
	v, ok, err := w.cfg.Store.Setting(ctx, SettingActions)
	if err != nil {
		return fmt.Errorf("read remote actions' state: %w", err)
	}
	if ok {
		if err := json.Unmarshal([]byte(v), &st); err != nil {
			w.log.Warn("ignoring the remote actions' state: unreadable", "err", err)
			st = actionState{}
		}
	}
	w.mu.Lock()
	w.actions, w.actionsLoaded = st, true
	w.mu.Unlock()
	return nil
}

// saveActions writes the actions' state.
func (w *Worker) saveActions(ctx context.Context) error {
	w.mu.Lock()
	b, err := json.Marshal(w.actions)
	w.mu.Unlock()
	if err != nil {
		return err
	}
	if err := w.cfg.Store.SetSetting(ctx, SettingActions, string(b)); err != nil {
		return fmt.Errorf("save remote actions' state: %w", err)
	}
	return nil
}

// pendingResults are the results not yet carried by an answered heartbeat.
func (w *Worker) pendingResults() []wire.ActionResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.actions.Results)
}

// resultsWaiting reports whether a result waits for a heartbeat: the worker then sends
// one in its next round rather than waiting for the heartbeat interval.
func (w *Worker) resultsWaiting() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.actions.Results) > 0
}

// resultsSent drops the results an answered heartbeat carried.
func (w *Worker) resultsSent(ctx context.Context, sent []wire.ActionResult) {
	if len(sent) == 0 {
		return
	}
	w.mu.Lock()
	w.actions.Results = slices.DeleteFunc(w.actions.Results, func(r wire.ActionResult) bool {
		return slices.ContainsFunc(sent, func(s wire.ActionResult) bool { return s.ID == r.ID })
	})
	w.mu.Unlock()
	if err := w.saveActions(ctx); err != nil {
		// They are sent again; the collector ignores a result it has.
		w.log.Warn("could not note the remote actions' results as sent", "err", err)
	}
}

// claim notes an action as handled before it is done; false when it was handled before.
func (w *Worker) claim(ctx context.Context, a wire.DeviceAction) (bool, error) {
	w.mu.Lock()
	if slices.Contains(w.actions.Handled, a.ID) {
		w.mu.Unlock()
		return false, nil
	}
	w.actions.Handled = append(w.actions.Handled, a.ID)
	if n := len(w.actions.Handled); n > maxHandled {
		w.actions.Handled = slices.Delete(w.actions.Handled, 0, n-maxHandled)
	}
	w.mu.Unlock()
	return true, w.saveActions(ctx)
}

// finish keeps an action's result for the next heartbeats.
func (w *Worker) finish(ctx context.Context, r wire.ActionResult) {
	if len(r.Detail) > wire.MaxActionDetail {
		r.Detail = strings.ToValidUTF8(r.Detail[:wire.MaxActionDetail], "") + "…"
	}
	w.mu.Lock()
	w.actions.Results = append(w.actions.Results, r)
	w.mu.Unlock()
	if err := w.saveActions(ctx); err != nil {
		w.log.Error("could not keep a remote action's result; it is sent from memory", "action", r.ID, "err", err)
	}
}

// runActions does the actions a heartbeat's reply asked for, each at most once.
func (w *Worker) runActions(ctx context.Context, actions []wire.DeviceAction) error {
	restart := false
	for _, a := range actions {
		fresh, err := w.claim(ctx, a)
		if err != nil {
			// Not noted as handled: not done either, so that it is never done twice.
			return fmt.Errorf("remote action %s: %w", a.ID, err)
		}
		if !fresh {
			continue
		}
		w.log.Info("remote action", "action", a.ID, "kind", a.Kind)
		res := wire.ActionResult{ID: a.ID}
		switch a.Kind {
		case wire.ActionSyncNow:
			n, err := w.Drain(ctx)
			res.OK = err == nil
			res.Detail = fmt.Sprintf("uploaded %d", n)
			if err != nil {
				res.Detail += ": " + err.Error()
			}
			if ob, obErr := w.cfg.Store.Outbox(ctx); obErr == nil {
				res.Detail += fmt.Sprintf("; %d waiting, %d quarantined", ob.Pending, ob.Quarantined)
			}
		case wire.ActionDiagnostics:
			n, err := w.uploadDiagnostics(ctx, a.ID)
			res.OK, res.BundleBytes = err == nil, int64(n)
			if err != nil {
				res.Detail = "diagnostics bundle not uploaded: " + err.Error()
			} else {
				res.Detail = fmt.Sprintf("diagnostics bundle uploaded (%d bytes)", n)
			}
		case wire.ActionRestart:
			if w.cfg.OnRestart == nil {
				res.Detail = "this process cannot restart itself (npskiosk sync --once, or an app without a service manager)"
				break
			}
			res.OK, restart = true, true
			res.Detail = fmt.Sprintf("app version %s stopped to restart at %s; this result is sent by the process that came back",
				w.cfg.AppVersion, w.now().UTC().Format(time.RFC3339))
		default:
			res.Detail = fmt.Sprintf("this kiosk (version %s) does not know the action %q", w.cfg.AppVersion, a.Kind)
		}
		w.finish(ctx, res)
	}
	if restart {
		// Last: the other actions are done and every result is kept for the next process.
		w.log.Warn("restarting the app as the collector asked")
		w.cfg.OnRestart()
	}
	return nil
}

// Diagnostics makes the bundle a diagnostics action asks for: the worker's own part
// (versions, queue, sync state) and the app's (Config.Diagnostics: doctor's lines, its
// recent logs), masked: personal data in the lines becomes placeholders ("[phone]") and
// the device token and Config.Secrets "[secret]". It keeps within
// wire.MaxDiagnosticsBytes by leaving out the oldest log lines.
func (w *Worker) Diagnostics(ctx context.Context) ([]byte, error) {
	st := w.Status()
	d := wire.Diagnostics{TakenAt: w.now().UTC(), AppVersion: w.cfg.AppVersion, GoVersion: runtime.Version(),
		OS: runtime.GOOS, Arch: runtime.GOARCH, SchemaVersion: store.SchemaVersion(),
		Sync: wire.DiagnosticsSync{Online: st.Online, LastSuccess: st.LastSuccess, LastError: st.LastError, Uploaded: st.Uploaded}}
	if ob, err := w.cfg.Store.Outbox(ctx); err == nil {
		d.Queue = wire.DiagnosticsQueue{Pending: ob.Pending, Quarantined: ob.Quarantined, OldestPending: ob.OldestPending}
	} else {
		d.Doctor = append(d.Doctor, "queue: "+err.Error())
	}
	if w.cfg.Diagnostics != nil {
		w.cfg.Diagnostics(ctx, &d)
	}
	mask := w.bundleMask()
	for i := range d.Doctor {
		d.Doctor[i] = mask(d.Doctor[i])
	}
	for i := range d.Logs {
		d.Logs[i] = mask(d.Logs[i])
	}
	d.Sync.LastError = mask(d.Sync.LastError)
	for {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encode diagnostics: %w", err)
		}
		if len(b) <= wire.MaxDiagnosticsBytes || len(d.Logs) == 0 {
			return b, nil
		}
		drop := max(len(d.Logs)/10, 1)
		d.Logs, d.LogsDropped = d.Logs[drop:], d.LogsDropped+drop
	}
}

// bundleMask masks personal data with the masker the kiosk's comments go through, and
// the secrets the worker knows.
func (w *Worker) bundleMask() func(string) string {
	var m pii.Masker
	secrets := slices.DeleteFunc(append([]string{w.cfg.Token}, w.cfg.Secrets...), func(s string) bool { return len(s) < 4 })
	return func(s string) string {
		for _, sec := range secrets {
			s = strings.ReplaceAll(s, sec, "[secret]")
		}
		s, _ = m.Mask(s)
		return s
	}
}

// uploadDiagnostics PUTs the bundle for an action and returns its size.
func (w *Worker) uploadDiagnostics(ctx context.Context, actionID string) (int, error) {
	body, err := w.Diagnostics(ctx)
	if err != nil {
		return 0, err
	}
	u := w.cfg.CollectorURL + strings.Replace(wire.DiagnosticsPath, "{id}", url.PathEscape(actionID), 1)
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPut, u, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return len(body), nil
}
