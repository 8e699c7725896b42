package storage_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// A store's settings override the chain's field by field; every write raises the
// version its kiosks see, clearing too; a store must exist and settings must be valid.
// Heartbeats keep the version a device runs and the settings it overrides (known names
// only).
func TestDeviceSettingsScopes(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, _ := keyStore(t, b)
			if err := db.AddStore(ctx, storage.Store{ID: "S043", Name: "High St", Timezone: "UTC"}); err != nil {
				t.Fatal(err)
			}
			got := func(store string) wire.DeviceSettings {
				t.Helper()
				ds, err := db.DeviceSettings(ctx, store)
				if err != nil {
					t.Fatal(err)
				}
				return ds
			}
			if ds := got("S042"); ds.Version != 0 || len(ds.Set()) != 0 {
				t.Fatalf("before any settings: %+v", ds)
			}
			update := func(scope string, set devicesettings.Settings, clear ...string) storage.ScopeSettings {
				t.Helper()
				s, err := db.UpdateDeviceSettings(ctx, scope, set, clear, "test")
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			hash, err := devicesettings.HashPIN("1234")
			if err != nil {
				t.Fatal(err)
			}
			v1 := update(storage.ChainScope, devicesettings.Settings{ManagerPINHash: hash, Languages: []string{"en", "de"}, IdleTimeoutSeconds: 40}).Version
			v2 := update("S042", devicesettings.Settings{Languages: []string{"fr"}, DisplayName: "Door"}).Version
			v3 := update("S042", devicesettings.Settings{Brightness: 70}).Version // keeps the store's other fields
			if !(v1 < v2 && v2 < v3) {
				t.Errorf("versions %d, %d, %d do not grow", v1, v2, v3)
			}
			for _, tc := range []struct {
				store string
				want  wire.DeviceSettings
			}{
				{"S042", wire.DeviceSettings{Version: v3, Settings: devicesettings.Settings{ManagerPINHash: hash, Languages: []string{"fr"},
					IdleTimeoutSeconds: 40, DisplayName: "Door", Brightness: 70}}},
				{"S043", wire.DeviceSettings{Version: v1, Settings: devicesettings.Settings{ManagerPINHash: hash, Languages: []string{"en", "de"}, IdleTimeoutSeconds: 40}}},
			} {
				ds := got(tc.store)
				if ds.Version != tc.want.Version || ds.ManagerPINHash != tc.want.ManagerPINHash || !slices.Equal(ds.Languages, tc.want.Languages) ||
					ds.IdleTimeoutSeconds != tc.want.IdleTimeoutSeconds || ds.DisplayName != tc.want.DisplayName || ds.Brightness != tc.want.Brightness {
					t.Errorf("store %s gets %+v, want %+v", tc.store, ds, tc.want)
				}
			}
			// Clearing the store's languages brings back the chain's, at a higher version.
			v4 := update("S042", devicesettings.Settings{}, devicesettings.FieldLanguages).Version
			if ds := got("S042"); ds.Version != v4 || v4 <= v3 || !slices.Equal(ds.Languages, []string{"en", "de"}) || ds.DisplayName != "Door" {
				t.Errorf("after clearing the store's languages: %+v", ds)
			}
			// Clearing everything keeps the scope's row, so the version never goes back.
			v5 := update("S042", devicesettings.Settings{}, devicesettings.Fields...).Version
			if ds := got("S042"); ds.Version != v5 || ds.DisplayName != "" || ds.ManagerPINHash != hash {
				t.Errorf("after clearing the store's settings: %+v", ds)
			}

			for _, tc := range []struct {
				scope string
				set   devicesettings.Settings
				clear []string
				want  error
			}{
				{"S999", devicesettings.Settings{Brightness: 50}, nil, storage.ErrNotFound},
				{"S042", devicesettings.Settings{ManagerPINHash: "1234"}, nil, storage.ErrInvalid},
				{"S042", devicesettings.Settings{Sleep: "7-9"}, nil, storage.ErrInvalid},
				{"S042", devicesettings.Settings{}, []string{"colour"}, storage.ErrInvalid},
			} {
				if _, err := db.UpdateDeviceSettings(ctx, tc.scope, tc.set, tc.clear, "test"); !errors.Is(err, tc.want) {
					t.Errorf("UpdateDeviceSettings(%s, %+v, %v) = %v, want %v", tc.scope, tc.set, tc.clear, err, tc.want)
				}
			}

			all, err := db.AllDeviceSettings(ctx)
			if err != nil || len(all) != 2 || all[0].Scope != storage.ChainScope || all[1].Scope != "S042" || all[1].Version != v5 || all[1].UpdatedBy != "test" {
				t.Errorf("AllDeviceSettings = %+v, %v", all, err)
			}

			nd, err := db.AddDevice(ctx, "S042", "Till 1", 0)
			if err != nil {
				t.Fatal(err)
			}
			db.RecordHeartbeat(storage.EnrolledDevice{ID: nd.ID, StoreID: "S042"},
				wire.Heartbeat{AppVersion: "2", SettingsVersion: v5, LocalOverrides: []string{"sleep", "bogus", "manager_pin", "sleep"}})
			check := func(when string) {
				t.Helper()
				ds, err := db.Devices(ctx)
				if err != nil || len(ds) != 1 {
					t.Fatalf("%s: devices %+v, %v", when, ds, err)
				}
				if d := ds[0]; d.SettingsVersion != v5 || !slices.Equal(d.LocalOverrides, []string{"manager_pin", "sleep"}) {
					t.Errorf("%s: device runs v%d, overrides %v; want v%d, [manager_pin sleep]", when, d.SettingsVersion, d.LocalOverrides, v5)
				}
			}
			check("pending in memory")
			if err := db.FlushHeartbeats(ctx); err != nil {
				t.Fatal(err)
			}
			check("flushed")
		})
	}
}
