package kiosk

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/response"
	kiosksync "github.com/npskiosk/npskiosk/sync"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// hqKiosk is a kiosk window on its own SQLite database with the sync worker that pulls
// its config from a real collector, wired as npskiosk wires them: the worker hands HQ's
// settings to a devicesettings.Holder, which the UI asks at every PIN attempt.
type hqKiosk struct {
	*harness
	settings *devicesettings.Holder
	worker   *kiosksync.Worker
}

// openHQKiosk opens a kiosk at path enrolled with token; its config's manager PIN is
// 2468 (testPINHash) and overrides are its [override] table. HQ's settings last kept
// in its database apply from the start, as after a restart.
func openHQKiosk(t *testing.T, path, collectorURL, token string, overrides devicesettings.Settings) *hqKiosk {
	t.Helper()
	holder := devicesettings.NewHolder(devicesettings.Settings{ManagerPINHash: testPINHash}, overrides)
	h := openHarnessConfig(t, path, landscape, nil, func(c *Config) { c.Device = holder.Current })
	if ds, ok, err := kiosksync.CachedDeviceSettings(context.Background(), h.db); err != nil {
		t.Fatal(err)
	} else if ok {
		holder.SetHQ(ds.Settings)
	}
	w, err := kiosksync.New(kiosksync.Config{
		Store: h.db, CollectorURL: collectorURL, Token: token,
		OnDeviceSettings: func(ds wire.DeviceSettings) { holder.SetHQ(ds.Settings) },
		LocalOverrides:   holder.Overridden(),
		RetryMax:         1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &hqKiosk{harness: h, settings: holder, worker: w}
}

// pull is the worker's config pull, as its run loop makes it every ConfigEvery.
func (k *hqKiosk) pull() {
	k.t.Helper()
	if err := k.worker.PullConfig(context.Background()); err != nil {
		k.t.Fatalf("config pull: %v", err)
	}
}

// tryPIN opens the PIN pad, enters pin and reports whether the manager's dashboard
// opened (then locks it again) or the pad said the PIN is wrong.
func (k *hqKiosk) tryPIN(pin string) bool {
	k.t.Helper()
	openPIN(k.harness)
	enterPIN(k.harness, pin)
	if k.showing("Store dashboard") {
		test.Tap(k.button("Lock"))
		return true
	}
	k.requireShowing("Wrong PIN.")
	test.Tap(k.button(k.app.t("pin.cancel")))
	return false
}

func (k *hqKiosk) requirePIN(pin string, works bool) {
	k.t.Helper()
	if got := k.tryPIN(pin); got != works {
		k.t.Fatalf("PIN %s opens the dashboard: %v, want %v", pin, got, works)
	}
}

// A PIN rotated at HQ reaches every kiosk of the store at its next config pull, over
// loopback HTTP from a real collector into each kiosk's SQLite; there the old PIN stops
// working and the new one opens the manager view, also after a restart with the
// collector gone. A kiosk of another store keeps the chain's PIN; a kiosk whose config
// overrides the PIN keeps its own and says so in its heartbeat.
func TestPINRotatedAtHQReachesEveryKioskOfTheStore(t *testing.T) {
	ctx := context.Background()
	c := collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S1", Name: "Main Street"})
	c.AddStore(t, storage.Store{ID: "S2", Name: "High Street"})
	setPIN := func(scope, pin string) int64 {
		t.Helper()
		hash, err := devicesettings.HashPIN(pin)
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.DB.UpdateDeviceSettings(ctx, scope, devicesettings.Settings{ManagerPINHash: hash}, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		return s.Version
	}
	setPIN(storage.ChainScope, "1111")

	dir := t.TempDir()
	till1 := c.Enroll(t, "S1", "Till 1")
	own, err := devicesettings.HashPIN("9999")
	if err != nil {
		t.Fatal(err)
	}
	kiosks := map[string]*hqKiosk{
		"S1 till 1": openHQKiosk(t, filepath.Join(dir, "s1t1.db"), c.URL, till1.Token, devicesettings.Settings{}),
		"S1 till 2": openHQKiosk(t, filepath.Join(dir, "s1t2.db"), c.URL, c.Enroll(t, "S1", "Till 2").Token, devicesettings.Settings{}),
		"S1 office": openHQKiosk(t, filepath.Join(dir, "s1o.db"), c.URL, c.Enroll(t, "S1", "Office").Token,
			devicesettings.Settings{ManagerPINHash: own}),
		"S2 till 1": openHQKiosk(t, filepath.Join(dir, "s2t1.db"), c.URL, c.Enroll(t, "S2", "Till 1").Token, devicesettings.Settings{}),
	}
	// Before any pull, the config's own PIN.
	kiosks["S1 till 1"].requirePIN("2468", true)
	for _, k := range kiosks {
		k.pull()
	}
	for name, k := range kiosks {
		t.Logf("%s: the chain's PIN", name)
		k.requirePIN("1111", name != "S1 office")
	}
	kiosks["S1 till 1"].requirePIN("2468", false) // HQ's PIN replaced the config's

	// HQ rotates store S1's PIN. Until a kiosk pulls its config, the old one still works.
	version := setPIN("S1", "5678")
	kiosks["S1 till 1"].requirePIN("1111", true)
	for _, k := range kiosks {
		k.pull()
	}
	for name, want := range map[string]struct{ old, rotated bool }{
		"S1 till 1": {old: false, rotated: true},
		"S1 till 2": {old: false, rotated: true},
		"S1 office": {old: false, rotated: false}, // its own PIN, 9999, wins
		"S2 till 1": {old: true, rotated: false},
	} {
		t.Logf("%s after the rotation", name)
		kiosks[name].requirePIN("1111", want.old)
		kiosks[name].requirePIN("5678", want.rotated)
	}
	kiosks["S1 office"].requirePIN("9999", true)

	// The kiosks tell HQ which settings they run with and which they override.
	for _, k := range kiosks {
		if err := k.worker.SendHeartbeat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	devices, err := c.DB.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devices {
		wantOverrides := []string(nil)
		if d.Name == "Office" {
			wantOverrides = []string{devicesettings.FieldPIN}
		}
		if !slices.Equal(d.LocalOverrides, wantOverrides) {
			t.Errorf("device %s %s reports overrides %v, want %v", d.StoreID, d.Name, d.LocalOverrides, wantOverrides)
		}
		if d.StoreID == "S1" && d.SettingsVersion != version {
			t.Errorf("device %s %s runs settings version %d, want %d", d.StoreID, d.Name, d.SettingsVersion, version)
		}
	}

	// A restart with the collector gone: the rotated PIN was kept in the kiosk's database.
	c.Close()
	k := kiosks["S1 till 1"]
	k.db.Close()
	again := openHQKiosk(t, k.path, c.URL, till1.Token, devicesettings.Settings{})
	if err := again.worker.PullConfig(ctx); err == nil {
		t.Fatal("config pull with the collector gone succeeded")
	}
	again.requirePIN("1111", false)
	again.requirePIN("5678", true)
}

// HQ's idle timeout, languages, display name and sleep hours change what shoppers see
// from the next shopper on.
func TestDeviceSettingsShapeTheShoppersScreens(t *testing.T) {
	holder := devicesettings.NewHolder(devicesettings.Settings{ManagerPINHash: testPINHash}, devicesettings.Settings{})
	h := openHarnessConfig(t, filepath.Join(t.TempDir(), "kiosk.db"), landscape, nil, func(c *Config) { c.Device = holder.Current })
	h.requireShowing("Main Street")
	if !h.showing("Español") {
		t.Fatalf("the survey's languages are not all offered: %q", h.texts())
	}

	holder.SetHQ(devicesettings.Settings{DisplayName: "Till by the door", Languages: []string{"de", "en", "pt"}, IdleTimeoutSeconds: 60})
	h.requireShowing("Main Street") // the shopper on screen keeps what they see
	h.app.showRating()
	h.requireShowing("Till by the door")
	for _, lang := range []string{"Deutsch", "English"} {
		h.requireShowing(lang)
	}
	for _, lang := range []string{"Español", "Français"} {
		if h.showing(lang) {
			t.Errorf("%s offered, HQ's languages are de and en", lang)
		}
	}
	if h.app.Language() != "de" {
		t.Errorf("default language %s, want HQ's first, de", h.app.Language())
	}

	// The follow-up times out after HQ's 60 s, not the survey's 30.
	test.Tap(h.button("8"))
	h.clock.Advance(40 * time.Second)
	if h.showing("Till by the door") {
		t.Fatal("the follow-up timed out before HQ's idle timeout")
	}
	h.clock.Advance(21 * time.Second)
	h.requireShowing("Till by the door")
	if rows := h.rows(); len(rows) != 1 || rows[0].Outcome != response.OutcomeTimedOut {
		t.Fatalf("rows %+v, want one timed out", rows)
	}

	// Sleep hours: it is 15:30 on the harness's clock. A closed screen takes no answers,
	// and the scores come back when the hours end.
	holder.SetHQ(devicesettings.Settings{Sleep: "15:00-16:00"})
	h.app.showRating()
	h.requireShowing("Closed")
	if h.showing("8") {
		t.Fatal("the closed screen shows the scores")
	}
	h.clock.Advance(31 * time.Minute)
	if h.showing("Closed") || !h.showing("8") {
		t.Fatalf("at 16:01 the kiosk is still closed: %q", h.texts())
	}
	// The manager's corner still opens the PIN pad while closed.
	h.clock.Advance(23 * time.Hour)
	h.requireShowing("Closed")
	openPIN(h)
}
