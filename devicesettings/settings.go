// Package devicesettings is what HQ sets for the kiosks of a store or of the whole chain
// and a kiosk may override locally: the manager PIN (its argon2id hash), the follow-up's
// idle timeout, the languages on screen, the name shown instead of the store's, the
// screen's brightness and the hours the kiosk sleeps. It holds the one PIN hashing of the
// project (npskiosk pin-hash and npscollector settings set both call HashPIN), the rule
// that lays one set of settings over another field by field, and the sleep window. Pure
// Go, no I/O: shared by the kiosk, the sync wire types and the collector.
//
// The settings never travel with the survey: the survey is also served to the public
// (web survey, widget, app API), the PIN hash only to enrolled devices.
package devicesettings

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
)

// Settings is one scope's settings (the chain's, a store's, a kiosk's local overrides)
// or the result of laying them over each other. A zero field is not set: it leaves the
// value from below in place.
type Settings struct {
	// ManagerPINHash is the argon2id hash of the manager PIN (HashPIN).
	ManagerPINHash string `json:"manager_pin_hash,omitempty" toml:"manager_pin_hash,omitempty"`
	// IdleTimeoutSeconds completes an unfinished follow-up as timed out; it replaces the
	// survey's idle_timeout_seconds. 5 to 600.
	IdleTimeoutSeconds int `json:"idle_timeout_seconds,omitempty" toml:"idle_timeout_seconds,omitempty"`
	// Languages are the languages offered on screen, the first the default; the kiosk
	// shows those of them the survey has, in this order.
	Languages []string `json:"languages,omitempty" toml:"languages,omitempty"`
	// DisplayName is shown on the rating screen (and in the question) instead of the
	// store's name.
	DisplayName string `json:"display_name,omitempty" toml:"display_name,omitempty"`
	// Brightness is the screen's brightness in percent, 1 to 100. The kiosk reports it
	// but has no portable way to set a screen's backlight (see docs/operations.md).
	Brightness int `json:"brightness,omitempty" toml:"brightness,omitempty"`
	// Sleep are the hours the kiosk is closed, "HH:MM-HH:MM" on the store's clock (past
	// midnight when the end is before the start): it shows a dimmed "closed" screen and
	// takes no answers.
	Sleep string `json:"sleep,omitempty" toml:"sleep,omitempty"`
}

// Field names, as the heartbeat reports local overrides and the CLI clears fields.
const (
	FieldPIN         = "manager_pin"
	FieldIdleTimeout = "idle_timeout"
	FieldLanguages   = "languages"
	FieldDisplayName = "display_name"
	FieldBrightness  = "brightness"
	FieldSleep       = "sleep"
)

// Fields lists every field name, in the order they are shown.
var Fields = []string{FieldPIN, FieldIdleTimeout, FieldLanguages, FieldDisplayName, FieldBrightness, FieldSleep}

// Limits of the fields.
const (
	MinIdleTimeoutSeconds = 5
	MaxIdleTimeoutSeconds = 600
	MaxLanguages          = 8
	MaxDisplayName        = 80
	PINMinDigits          = 4
	PINMaxDigits          = 12
)

var languageTag = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// Validate checks every set field.
func (s Settings) Validate() error {
	var errs []error
	if s.ManagerPINHash != "" {
		if _, _, _, err := argon2id.DecodeHash(s.ManagerPINHash); err != nil {
			errs = append(errs, fmt.Errorf("manager_pin_hash is not an argon2id hash: %w", err))
		}
	}
	if s.IdleTimeoutSeconds != 0 && (s.IdleTimeoutSeconds < MinIdleTimeoutSeconds || s.IdleTimeoutSeconds > MaxIdleTimeoutSeconds) {
		errs = append(errs, fmt.Errorf("idle timeout %d s must be from %d to %d s", s.IdleTimeoutSeconds, MinIdleTimeoutSeconds, MaxIdleTimeoutSeconds))
	}
	if len(s.Languages) > MaxLanguages {
		errs = append(errs, fmt.Errorf("%d languages, at most %d", len(s.Languages), MaxLanguages))
	}
	for i, l := range s.Languages {
		if !languageTag.MatchString(l) {
			errs = append(errs, fmt.Errorf("language %q is not a language tag such as en or de", l))
		} else if slices.Index(s.Languages, l) != i {
			errs = append(errs, fmt.Errorf("language %q is given twice", l))
		}
	}
	if !utf8.ValidString(s.DisplayName) || strings.TrimSpace(s.DisplayName) != s.DisplayName ||
		utf8.RuneCountInString(s.DisplayName) > MaxDisplayName || strings.ContainsFunc(s.DisplayName, isControl) {
		errs = append(errs, fmt.Errorf("display name must be at most %d characters of text without leading or trailing space", MaxDisplayName))
	}
	if s.Brightness < 0 || s.Brightness > 100 {
		errs = append(errs, fmt.Errorf("brightness %d must be from 1 to 100 percent", s.Brightness))
	}
	if s.Sleep != "" {
		if _, err := ParseSleep(s.Sleep); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// Over lays s over base: every field set in s replaces base's.
func (s Settings) Over(base Settings) Settings {
	out := base
	if s.ManagerPINHash != "" {
		out.ManagerPINHash = s.ManagerPINHash
	}
	if s.IdleTimeoutSeconds != 0 {
		out.IdleTimeoutSeconds = s.IdleTimeoutSeconds
	}
	if len(s.Languages) > 0 {
		out.Languages = slices.Clone(s.Languages)
	}
	if s.DisplayName != "" {
		out.DisplayName = s.DisplayName
	}
	if s.Brightness != 0 {
		out.Brightness = s.Brightness
	}
	if s.Sleep != "" {
		out.Sleep = s.Sleep
	}
	return out
}

// Set lists the names of the fields set in s, in the order of Fields.
func (s Settings) Set() []string {
	var out []string
	for _, f := range Fields {
		if s.has(f) {
			out = append(out, f)
		}
	}
	return out
}

func (s Settings) has(field string) bool {
	switch field {
	case FieldPIN:
		return s.ManagerPINHash != ""
	case FieldIdleTimeout:
		return s.IdleTimeoutSeconds != 0
	case FieldLanguages:
		return len(s.Languages) > 0
	case FieldDisplayName:
		return s.DisplayName != ""
	case FieldBrightness:
		return s.Brightness != 0
	case FieldSleep:
		return s.Sleep != ""
	}
	return false
}

// Without returns s with the named fields unset; an unknown name is an error.
func (s Settings) Without(fields ...string) (Settings, error) {
	for _, f := range fields {
		switch f {
		case FieldPIN:
			s.ManagerPINHash = ""
		case FieldIdleTimeout:
			s.IdleTimeoutSeconds = 0
		case FieldLanguages:
			s.Languages = nil
		case FieldDisplayName:
			s.DisplayName = ""
		case FieldBrightness:
			s.Brightness = 0
		case FieldSleep:
			s.Sleep = ""
		default:
			return s, fmt.Errorf("unknown setting %q: want one of %s", f, strings.Join(Fields, ", "))
		}
	}
	return s, nil
}

// Effective is what a kiosk runs with: its local overrides over HQ's settings over its
// local defaults (the config file's plain values, used until HQ sends any).
func Effective(defaults, hq, overrides Settings) Settings {
	return overrides.Over(hq.Over(defaults))
}

// PINFingerprint names a PIN hash without giving it away: the last 6 characters of its
// hash part, enough to tell two PINs apart on a screen. "" for none.
func PINFingerprint(hash string) string {
	if hash == "" {
		return ""
	}
	if len(hash) <= 6 {
		return "…"
	}
	return "…" + hash[len(hash)-6:]
}

// HashPIN returns the argon2id hash of a new manager PIN: 4 to 12 digits.
func HashPIN(pin string) (string, error) {
	if err := CheckPINShape(pin); err != nil {
		return "", err
	}
	h, err := argon2id.CreateHash(pin, argon2id.DefaultParams)
	if err != nil {
		return "", fmt.Errorf("hash PIN: %w", err)
	}
	return h, nil
}

// CheckPINShape says whether pin is a PIN a kiosk's pad can type: 4 to 12 digits.
func CheckPINShape(pin string) error {
	if len(pin) < PINMinDigits || len(pin) > PINMaxDigits || strings.Trim(pin, "0123456789") != "" {
		return fmt.Errorf("a PIN must be %d to %d digits", PINMinDigits, PINMaxDigits)
	}
	return nil
}

// ComparePIN says whether pin matches hash; an error means the hash is unusable.
func ComparePIN(pin, hash string) (bool, error) {
	ok, err := argon2id.ComparePasswordAndHash(pin, hash)
	if err != nil {
		return false, fmt.Errorf("compare PIN: %w", err)
	}
	return ok, nil
}
