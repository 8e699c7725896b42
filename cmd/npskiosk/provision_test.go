package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// Twenty kiosks provisioned from one enrollment key, each by the file IT leaves beside
// its config: each enrolls itself as a new device of the store, the key's log lists all
// twenty, the twenty-first is refused and keeps its file for a later try, and no
// enrolled kiosk keeps the key anywhere on its disk.
func TestProvisionTwentyKiosksFromOneKey(t *testing.T) {
	ctx := context.Background()
	c := collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S042", Name: "Main Street"})
	key, err := c.Service.AddEnrollmentKey(ctx, "S042", 20, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	kiosk := func(i int) (dir, conf string) {
		dir = t.TempDir()
		conf = filepath.Join(dir, "config.toml")
		writeConfig(t, conf, Config{DB: filepath.Join(dir, "kiosk.db"), Language: "de"})
		prov := fmt.Sprintf("collector = %q\nkey = %q\nname = \"Till %d\"\n", c.URL, strings.ToLower(key.Key), i)
		if err := os.WriteFile(provisionPath(conf), []byte(prov), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir, conf
	}
	devices := map[string]bool{}
	for i := 1; i <= 20; i++ {
		dir, conf := kiosk(i)
		var out, errOut bytes.Buffer
		if err := Run(ctx, []string{"provision", "--config", conf}, nil, &out, &errOut); err != nil {
			t.Fatalf("kiosk %d: %v\n%s", i, err, errOut.String())
		}
		cfg, err := LoadConfig(conf, true)
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.Enrolled() || cfg.Collector.StoreID != "S042" || cfg.Language != "de" || devices[cfg.Collector.DeviceID] {
			t.Fatalf("kiosk %d: config %+v", i, cfg)
		}
		devices[cfg.Collector.DeviceID] = true
		if _, err := os.Stat(provisionPath(conf)); !os.IsNotExist(err) {
			t.Errorf("kiosk %d: the provisioning file is still there (%v)", i, err)
		}
		assertNoSecretUnder(t, dir, key.Key)
	}

	_, conf := kiosk(21)
	var out, errOut bytes.Buffer
	err = Run(ctx, []string{"provision", "--config", conf}, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "used up") {
		t.Fatalf("the 21st kiosk: %v, want the key refused as used up", err)
	}
	if cfg, _ := LoadConfig(conf, true); cfg.Enrolled() {
		t.Errorf("the 21st kiosk enrolled: %+v", cfg)
	}
	if _, err := os.Stat(provisionPath(conf)); err != nil {
		t.Errorf("the 21st kiosk lost its provisioning file: %v", err)
	}

	keys, err := c.Service.EnrollmentKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Uses != 20 || len(keys[0].Devices) != 20 {
		t.Fatalf("the key's log: %+v", keys)
	}
	for _, u := range keys[0].Devices {
		if !devices[u.DeviceID] || !strings.HasPrefix(u.Name, "Till ") {
			t.Errorf("logged use %+v is not one of the kiosks", u)
		}
	}
}

// A kiosk that is enrolled already deletes a provisioning file without spending its key.
func TestProvisionLeavesAnEnrolledKioskAlone(t *testing.T) {
	ctx := context.Background()
	conf, _, c := enrolledKiosk(t)
	key, err := c.Service.AddEnrollmentKey(ctx, "S1", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := LoadConfig(conf, true)
	if err := os.WriteFile(provisionPath(conf), []byte(fmt.Sprintf("collector = %q\nkey = %q\n", c.URL, key.Key)), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := Run(ctx, []string{"provision", "--config", conf}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "enrolled already") {
		t.Errorf("stderr %q does not say why the key was not used", errOut.String())
	}
	after, _ := LoadConfig(conf, true)
	if after.Collector != before.Collector {
		t.Errorf("the enrolled kiosk changed identity: %+v → %+v", before.Collector, after.Collector)
	}
	if _, err := os.Stat(provisionPath(conf)); !os.IsNotExist(err) {
		t.Errorf("the provisioning file is still there (%v)", err)
	}
	keys, err := c.Service.EnrollmentKeys(ctx)
	if err != nil || keys[0].Uses != 0 {
		t.Errorf("the key was spent: %+v, %v", keys, err)
	}
}

// A provisioning file that cannot work says what is wrong with it.
func TestProvisionFileErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"no collector", "key = \"EK-ABCDE-FGHJK-MNPQR\"\n", "collector is missing"},
		{"a device code", "collector = \"http://127.0.0.1:1\"\nkey = \"ABCDE-FGHJK\"\n", "must be an enrollment key"},
		{"unknown field", "collector = \"http://127.0.0.1:1\"\nkey = \"EK-ABCDE-FGHJK-MNPQR\"\nstore = \"S1\"\n", "store"},
		{"not TOML", "collector: x\n", "provisioning file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := filepath.Join(t.TempDir(), "config.toml")
			writeConfig(t, conf, Config{})
			if err := os.WriteFile(provisionPath(conf), []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			err := Run(context.Background(), []string{"provision", "--config", conf}, nil, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error saying %q", err, tc.want)
			}
		})
	}
	conf := filepath.Join(t.TempDir(), "config.toml")
	writeConfig(t, conf, Config{})
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"provision", "--config", conf}, nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "no provisioning file") {
		t.Fatalf("without a file: %v", err)
	}
}

// assertNoSecretUnder fails if any file under dir holds secret, in any case.
func assertNoSecretUnder(t *testing.T, dir, secret string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(bytes.ToUpper(b), []byte(strings.ToUpper(secret))) {
			t.Errorf("%s holds the enrollment key", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
