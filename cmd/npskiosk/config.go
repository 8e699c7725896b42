package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/npskiosk/npskiosk/internal/strictoml"
)

const defaultConfigPath = "/etc/npskiosk/config.toml"

// Config is the kiosk's config file. Every field is optional.
type Config struct {
	// DB is the SQLite file. Default: /var/lib/npskiosk/kiosk.db when that directory
	// exists (the packaged install), else $XDG_DATA_HOME/npskiosk/kiosk.db.
	DB string `toml:"db"`
	// Language is the screen's default language (en, es, fr, de); default: the survey's first.
	Language string `toml:"language"`
	// Timezone of the store, for "today" in the manager view; default: the system's.
	Timezone string `toml:"timezone"`
	// Fullscreen kiosk mode: no window decorations, closing needs the manager PIN.
	Fullscreen bool `toml:"fullscreen"`
	// HideCursor hides the mouse pointer over the kiosk (touch screens).
	HideCursor bool `toml:"hide_cursor"`
	// ManagerPINHash is the argon2id hash printed by "npskiosk pin-hash".
	ManagerPINHash string `toml:"manager_pin_hash"`
	// Survey is a local survey file (TOML) used until the collector sends one.
	Survey string `toml:"survey"`
	// Collector is where responses are uploaded; written by "npskiosk enroll".
	Collector CollectorConfig `toml:"collector"`
}

// CollectorConfig says where and as whom the kiosk uploads.
type CollectorConfig struct {
	URL      string `toml:"url"`
	Token    string `toml:"token"`
	DeviceID string `toml:"device_id"`
	StoreID  string `toml:"store_id"`
}

// Enrolled reports whether the kiosk has a collector and a token.
func (c Config) Enrolled() bool { return c.Collector.URL != "" && c.Collector.Token != "" }

// Save writes the config to path with 0600 permissions: it holds the device token.
// Comments in an existing file are not kept.
func (c Config) Save(path string) error {
	b, err := toml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

// LoadConfig reads path. A missing file is fine unless the path was given explicitly.
// Unknown keys are errors: a misspelt setting must not be silently ignored.
func LoadConfig(path string, mustExist bool) (Config, error) {
	var cfg Config
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !mustExist:
	case err != nil:
		return Config{}, fmt.Errorf("read config: %w", err)
	default:
		if err := strictoml.Decode(b, &cfg); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if cfg.DB == "" {
		cfg.DB = defaultDBPath()
	}
	if cfg.Timezone != "" {
		if _, err := time.LoadLocation(cfg.Timezone); err != nil {
			return Config{}, fmt.Errorf("config %s: timezone: %w", path, err)
		}
	}
	return cfg, nil
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
