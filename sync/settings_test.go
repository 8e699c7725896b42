package sync

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// The device settings are pulled with the config, kept in the kiosk's database before
// they are handed on, pulled again only when they changed (ETag), and kept as they are
// when the collector is from before settings (404) or sends settings that fail
// Validate. Heartbeats say which version the kiosk runs and what it overrides.
func TestDeviceSettingsPull(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	var got []wire.DeviceSettings
	w := r.worker(func(c *Config) {
		c.OnDeviceSettings = func(ds wire.DeviceSettings) { got = append(got, ds) }
		c.LocalOverrides = []string{devicesettings.FieldSleep}
	})
	hash, err := devicesettings.HashPIN("2468")
	if err != nil {
		t.Fatal(err)
	}
	set, err := r.collector.UpdateDeviceSettings(ctx, "S1", devicesettings.Settings{ManagerPINHash: hash, IdleTimeoutSeconds: 50}, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	kept := func() wire.DeviceSettings {
		t.Helper()
		ds, ok, err := CachedDeviceSettings(ctx, r.kiosk)
		if err != nil || !ok {
			t.Fatalf("kept settings: %v %v", ok, err)
		}
		return ds
	}
	steps := []struct {
		name      string
		intercept func(w http.ResponseWriter, req *http.Request) bool
		wantCalls int
	}{
		{"the first pull", nil, 1},
		{"unchanged: 304", nil, 1},
		{"a collector from before settings", func(w http.ResponseWriter, req *http.Request) bool {
			if req.URL.Path != "/v1/device/settings" {
				return false
			}
			http.NotFound(w, req)
			return true
		}, 1},
		{"invalid settings", func(w http.ResponseWriter, req *http.Request) bool {
			if req.URL.Path != "/v1/device/settings" {
				return false
			}
			w.Write([]byte(`{"version":99,"manager_pin_hash":"2468"}`))
			return true
		}, 1},
	}
	pass := func(http.ResponseWriter, *http.Request) bool { return false }
	for _, step := range steps {
		if step.intercept == nil {
			step.intercept = pass
		}
		r.setIntercept(step.intercept)
		err := w.PullDeviceSettings(ctx)
		if step.name == "invalid settings" {
			if err == nil {
				t.Errorf("%s: no error", step.name)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if len(got) != step.wantCalls {
			t.Errorf("%s: handed on %d times, want %d", step.name, len(got), step.wantCalls)
		}
		if ds := kept(); ds.Version != set.Version || ds.ManagerPINHash != hash || ds.IdleTimeoutSeconds != 50 {
			t.Errorf("%s: kept %+v", step.name, ds)
		}
	}
	r.setIntercept(pass)
	if err := w.SendHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.collector.FlushHeartbeats(ctx); err != nil {
		t.Fatal(err)
	}
	ds, err := r.collector.Devices(ctx)
	if err != nil || len(ds) != 1 || ds[0].SettingsVersion != set.Version || len(ds[0].LocalOverrides) != 1 || ds[0].LocalOverrides[0] != "sleep" {
		t.Fatalf("devices after a heartbeat: %+v %v", ds, err)
	}
}

// A collector from before device settings decodes heartbeats strictly and refuses the
// settings fields: the kiosk sends its heartbeat again without them, and leaves them out
// from then on.
func TestHeartbeatToACollectorFromBeforeSettings(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	w := r.worker(func(c *Config) { c.LocalOverrides = []string{devicesettings.FieldPIN} })
	var refused, passed int
	r.setIntercept(func(rw http.ResponseWriter, req *http.Request) bool {
		if req.URL.Path != "/v1/heartbeat" {
			return false
		}
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(`"local_overrides"`)) {
			refused++
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusBadRequest)
			rw.Write([]byte(`{"error":"bad_json","detail":"json: unknown field \"local_overrides\""}`))
			return true
		}
		passed++
		return false
	})
	for range 2 {
		if err := w.SendHeartbeat(ctx); err != nil {
			t.Fatalf("heartbeat: %v", err)
		}
	}
	if refused != 1 || passed != 2 {
		t.Errorf("%d heartbeats refused, %d taken; want 1 and 2", refused, passed)
	}
	if err := r.collector.FlushHeartbeats(ctx); err != nil {
		t.Fatal(err)
	}
	if ds, err := r.collector.Devices(ctx); err != nil || len(ds) != 1 || ds[0].LastSeen.IsZero() {
		t.Fatalf("devices: %+v %v", ds, err)
	}
}
