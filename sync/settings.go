package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/npskiosk/npskiosk/sync/wire"
)

// Settings keys of HQ's device settings in the kiosk's database.
const (
	SettingDeviceSettings     = "sync.device_settings"
	SettingDeviceSettingsETag = "sync.device_settings_etag"
)

// PullDeviceSettings fetches the settings HQ gave the kiosk's store (GET
// /v1/device/settings) if they changed, keeps them in the kiosk's database (so a kiosk
// restarted offline runs with them) and then hands them to OnDeviceSettings. The run
// loop calls it with every survey pull, so a PIN rotated at HQ reaches the kiosk at its
// next config pull. A collector from before settings answers 404: the kiosk keeps what
// it has. Settings that fail Validate are refused and the kept ones stay.
func (w *Worker) PullDeviceSettings(ctx context.Context) error {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, w.cfg.CollectorURL+"/v1/device/settings", nil)
	if err != nil {
		return fmt.Errorf("build device settings request: %w", err)
	}
	if etag, ok, _ := w.cfg.Store.Setting(ctx, SettingDeviceSettingsETag); ok {
		req.Header.Set("If-None-Match", etag)
	}
	resp, raw, err := w.send(req)
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified, http.StatusNotFound:
		return nil
	default:
		return w.fail(fmt.Errorf("the collector refused the device settings request (%s)", resp.Status), true)
	}
	var ds wire.DeviceSettings
	if err := json.Unmarshal(raw, &ds); err != nil {
		return w.fail(fmt.Errorf("read the collector's device settings: %w", err), true)
	}
	if err := ds.Validate(); err != nil {
		return w.fail(fmt.Errorf("the collector sent invalid device settings, keeping the current ones: %w", err), true)
	}
	if err := w.cfg.Store.SetSetting(ctx, SettingDeviceSettings, string(raw)); err != nil {
		return fmt.Errorf("keep the device settings: %w", err)
	}
	if err := w.cfg.Store.SetSetting(ctx, SettingDeviceSettingsETag, resp.Header.Get("ETag")); err != nil {
		return fmt.Errorf("keep the device settings: %w", err)
	}
	// The field names only: the PIN's hash is not for logs.
	w.log.Info("new device settings from the collector", "version", ds.Version, "fields", ds.Set())
	if w.cfg.OnDeviceSettings != nil {
		w.cfg.OnDeviceSettings(ds)
	}
	return nil
}

// CachedDeviceSettings returns the last device settings the collector sent, if any.
func CachedDeviceSettings(ctx context.Context, st interface {
	Setting(ctx context.Context, key string) (string, bool, error)
}) (wire.DeviceSettings, bool, error) {
	raw, ok, err := st.Setting(ctx, SettingDeviceSettings)
	if err != nil || !ok {
		return wire.DeviceSettings{}, false, err
	}
	var ds wire.DeviceSettings
	if err := json.Unmarshal([]byte(raw), &ds); err != nil {
		return wire.DeviceSettings{}, false, fmt.Errorf("cached device settings: %w", err)
	}
	return ds, true, nil
}
