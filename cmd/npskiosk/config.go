package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/internal/strictoml"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/tlstrust"
)

const defaultConfigPath = "/etc/npskiosk/config.toml"

// Config is the kiosk's config file. Every field is optional; an unset one is left out
// when the file is written, never written as an empty value.
type Config struct {
	// DB is the SQLite file. Default: /var/lib/npskiosk/kiosk.db when that directory
	// exists (the packaged install), else $XDG_DATA_HOME/npskiosk/kiosk.db.
	DB string `toml:"db,omitempty"`
	// Language is the screen's default language (en, es, fr, de); default: the survey's first.
	Language string `toml:"language,omitempty"`
	// Segment is the customer segment stamped on every response this kiosk records (a
	// label such as "staff" or "pharmacy": a-z, 0-9, - and _), for a kiosk that serves
	// one kind of shopper; reports at the collector filter by it. Default: none.
	Segment string `toml:"segment,omitempty"`
	// Timezone of the store, for "today" in the manager view; default: the system's.
	Timezone string `toml:"timezone,omitempty"`
	// Fullscreen kiosk mode: no window decorations, closing needs the manager PIN.
	Fullscreen bool `toml:"fullscreen,omitempty"`
	// HideCursor hides the mouse pointer over the kiosk (touch screens).
	HideCursor bool `toml:"hide_cursor,omitempty"`
	// ManagerPINHash is the argon2id hash printed by "npskiosk pin-hash": the manager
	// PIN until HQ sets one for the store or chain (npscollector settings set --pin-stdin),
	// which then wins. To keep a PIN of this kiosk's own whatever HQ sets, put it under
	// [override].
	ManagerPINHash string `toml:"manager_pin_hash,omitempty"`
	// Override holds settings that win over HQ's on this kiosk ([override] in the file:
	// manager_pin_hash, idle_timeout_seconds, languages, display_name, brightness, sleep).
	// The kiosk names them in its heartbeats, so HQ's devices page shows where its own
	// settings do not apply.
	Override devicesettings.Settings `toml:"override,omitempty"`
	// Survey is a local survey file (TOML) used until the collector sends one.
	Survey string `toml:"survey,omitempty"`
	// CAFile is a PEM bundle of private CAs trusted for the collector's certificate.
	CAFile string `toml:"ca_file,omitempty"`
	// CAMode is "add" (default: CAFile is added to the system roots) or "replace"
	// (CAFile's CAs are the only ones trusted).
	CAMode string `toml:"ca_mode,omitempty"`
	// Pins are SPKI SHA-256 pins ("sha256/<base64>") of the collector's chain: none, or
	// at least two (the current key and a backup). A chain with none is refused.
	Pins []string `toml:"pins,omitempty"`
	// AllowInsecureHTTP allows a plain http:// collector URL to a host other than
	// loopback; status, doctor and the manager view then say so.
	AllowInsecureHTTP bool `toml:"allow_insecure_http,omitempty"`
	// RetentionDays is how long responses are kept on the kiosk once the collector has
	// them (for the manager view), in days from the tap: 1 to 3650; default 90. A
	// response the collector does not have yet is kept however old it is.
	RetentionDays int `toml:"retention_days,omitempty"`
	// Collector is where responses are uploaded; written by "npskiosk enroll".
	Collector CollectorConfig `toml:"collector,omitempty"`
}

// Trust is the kiosk's TLS trust settings.
func (c Config) Trust() tlstrust.Config {
	return tlstrust.Config{CAFile: c.CAFile, CAMode: c.CAMode, Pins: c.Pins, AllowInsecureHTTP: c.AllowInsecureHTTP}
}

// CollectorConfig says where and as whom the kiosk uploads.
type CollectorConfig struct {
	URL      string `toml:"url,omitempty"`
	Token    string `toml:"token,omitempty"`
	DeviceID string `toml:"device_id,omitempty"`
	StoreID  string `toml:"store_id,omitempty"`
}

// Enrolled reports whether the kiosk has a collector and a token.
func (c Config) Enrolled() bool { return c.Collector.URL != "" && c.Collector.Token != "" }

// saveConfigFile writes cfg to path so that a crash or a full disk leaves either the old
// file or the new one, never a truncated mix: a temporary file (0600: it holds the
// device token) in the same directory, synced, renamed over path, and the directory
// synced so the rename itself survives a power cut. Comments in an old file are lost.
func saveConfigFile(path string, cfg Config) error {
	b, err := toml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("save config: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("save config: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save config: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("save config: sync directory %s: %w", dir, err)
	}
	return nil
}

// syncDir makes a rename in dir durable. Windows cannot open a directory to sync it,
// and its renames are durable by other means.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// checkConfigWritable fails when the config at path could not be saved: its directory
// cannot be created or written. Enroll asks before it spends the one-time code.
func checkConfigWritable(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.check")
	if err != nil {
		return err
	}
	name := f.Name()
	_, werr := f.Write([]byte("npskiosk\n"))
	cerr := f.Close()
	rerr := os.Remove(name)
	return errors.Join(werr, cerr, rerr)
}

// readConfigFile decodes the file at path as it is, without defaults, and reports
// whether it exists. Unknown keys are errors: a misspelt setting must not be silently
// ignored.
func readConfigFile(path string) (cfg Config, exists bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, false, nil
	}
	if err != nil {
		return Config{}, false, fmt.Errorf("read config: %w", err)
	}
	if err := strictoml.Decode(b, &cfg); err != nil {
		return Config{}, true, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, true, nil
}

// LoadConfig reads path and fills in defaults. A missing file is fine unless the path
// was given explicitly.
func LoadConfig(path string, mustExist bool) (Config, error) {
	cfg, exists, err := readConfigFile(path)
	if err != nil {
		return Config{}, err
	}
	if !exists && mustExist {
		return Config{}, fmt.Errorf("read config: %w", &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist})
	}
	return cfg.withDefaults(path)
}

// withDefaults fills in the database path and checks the time zone.
func (c Config) withDefaults(path string) (Config, error) {
	if c.DB == "" {
		c.DB = defaultDBPath()
	}
	if err := c.Trust().Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	if c.Segment != "" {
		if err := response.CheckLabel("segment", c.Segment); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.Override.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: [override]: %w", path, err)
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			return Config{}, fmt.Errorf("config %s: timezone: %w", path, err)
		}
	}
	if c.RetentionDays < 0 || c.RetentionDays > maxRetentionDays {
		return Config{}, fmt.Errorf("config %s: retention_days = %d: give whole days from 1 to %d (default %d)", path, c.RetentionDays, maxRetentionDays, defaultRetentionDays)
	}
	return c, nil
}

// Retention bounds of the kiosk's synced responses, in days.
const (
	defaultRetentionDays = 90
	maxRetentionDays     = 3650
)

// Retention is how long synced responses are kept: retention_days, or the default.
func (c Config) Retention() time.Duration {
	return time.Duration(cmp.Or(c.RetentionDays, defaultRetentionDays)) * 24 * time.Hour
}

// DeviceSettings holds the settings the kiosk runs with: the config's manager PIN as the
// default, HQ's over it once received, the [override] table over both.
func (c Config) DeviceSettings() *devicesettings.Holder {
	return devicesettings.NewHolder(devicesettings.Settings{ManagerPINHash: c.ManagerPINHash}, c.Override)
}

// Location is the store's time zone.
func (c Config) Location() *time.Location {
	if c.Timezone == "" {
		return time.Local
	}
	loc, _ := time.LoadLocation(c.Timezone) // checked in LoadConfig
	return loc
}

func defaultDBPath() string {
	if st, err := os.Stat("/var/lib/npskiosk"); err == nil && st.IsDir() {
		return "/var/lib/npskiosk/kiosk.db"
	}
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "npskiosk", "kiosk.db")
}
