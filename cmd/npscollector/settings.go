package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/internal/secretinput"
)

// settingsCommands set what HQ gives the kiosks of a store or of the whole chain (the
// manager PIN, idle timeout, languages, display name, brightness, sleep hours); kiosks
// pull them with their survey.
var settingsCommands = map[string]command{
	"settings set": func(fs *flag.FlagSet) func(context.Context, env) error {
		scope := scopeFlags(fs)
		pinStdin := fs.Bool("pin-stdin", false, "read a new manager PIN (4 to 12 digits) from the first line of stdin; it is stored as its argon2id hash")
		idle := fs.Duration("idle-timeout", 0, "idle timeout of the follow-up, e.g. 45s (5s to 10m)")
		langs := fs.String("languages", "", "languages offered, the first the default, e.g. en,de")
		name := fs.String("display-name", "", "name shown on the rating screen instead of the store's")
		brightness := fs.Int("brightness", 0, "screen brightness in percent, 1 to 100 (reported; see docs/operations.md)")
		sleep := fs.String("sleep", "", "hours the kiosk is closed on the store's clock, e.g. 22:00-07:00")
		return func(ctx context.Context, e env) error {
			sc, err := scope()
			if err != nil {
				return fmt.Errorf("settings set: %w", err)
			}
			var s devicesettings.Settings
			if *idle != 0 {
				if *idle%time.Second != 0 {
					return fmt.Errorf("settings set: --idle-timeout %s: give whole seconds", *idle)
				}
				s.IdleTimeoutSeconds = int(*idle / time.Second)
			}
			if *langs != "" {
				for l := range strings.SplitSeq(*langs, ",") {
					s.Languages = append(s.Languages, strings.TrimSpace(l))
				}
			}
			s.DisplayName, s.Brightness, s.Sleep = *name, *brightness, *sleep
			if *pinStdin {
				pin, err := readPIN(e.stdin, e.stderr)
				if err != nil {
					return fmt.Errorf("settings set: %w", err)
				}
				if s.ManagerPINHash, err = devicesettings.HashPIN(pin); err != nil {
					return fmt.Errorf("settings set: %w", err)
				}
			}
			if len(s.Set()) == 0 {
				return errors.New("settings set: nothing to set: give --pin-stdin, --idle-timeout, --languages, --display-name, --brightness or --sleep")
			}
			out, err := e.svc.UpdateDeviceSettings(ctx, sc, s, nil, "cli")
			if err != nil {
				return err
			}
			return e.out.print(shownSettings(out), fmt.Sprintf("settings of %s: version %d; kiosks take them at their next config pull\n%s",
				scopeName(sc), out.Version, settingsText(out.Settings, "  ")))
		}
	},
	"settings clear": func(fs *flag.FlagSet) func(context.Context, env) error {
		scope := scopeFlags(fs)
		only := fs.String("only", "", "clear only these settings, e.g. manager_pin,sleep ("+strings.Join(devicesettings.Fields, ", ")+"); default: all")
		return func(ctx context.Context, e env) error {
			sc, err := scope()
			if err != nil {
				return fmt.Errorf("settings clear: %w", err)
			}
			fields := devicesettings.Fields
			if *only != "" {
				fields = nil
				for f := range strings.SplitSeq(*only, ",") {
					fields = append(fields, strings.TrimSpace(f))
				}
			}
			out, err := e.svc.UpdateDeviceSettings(ctx, sc, devicesettings.Settings{}, fields, "cli")
			if err != nil {
				return err
			}
			return e.out.print(shownSettings(out), fmt.Sprintf("settings of %s: version %d\n%s",
				scopeName(sc), out.Version, settingsText(out.Settings, "  ")))
		}
	},
	"settings show": func(fs *flag.FlagSet) func(context.Context, env) error {
		scope := scopeFlags(fs)
		return func(ctx context.Context, e env) error {
			sc, err := scope()
			if err != nil {
				return fmt.Errorf("settings show: %w", err)
			}
			chain, err := e.svc.ScopeDeviceSettings(ctx, storage.ChainScope)
			if err != nil {
				return err
			}
			view := settingsView{Chain: shownSettings(chain)}
			var text strings.Builder
			fmt.Fprintf(&text, "chain (version %d):\n%s", chain.Version, settingsText(chain.Settings, "  "))
			if sc != storage.ChainScope {
				own, err := e.svc.ScopeDeviceSettings(ctx, sc)
				if err != nil {
					return err
				}
				eff, err := e.svc.DeviceSettings(ctx, sc)
				if err != nil {
					return err
				}
				o := shownSettings(own)
				view.Store = &o
				view.Effective = &shown{Version: eff.Version, Settings: redacted(eff.Settings)}
				fmt.Fprintf(&text, "store %s (version %d):\n%s", sc, own.Version, settingsText(own.Settings, "  "))
				fmt.Fprintf(&text, "its kiosks get (version %d):\n%s", eff.Version, settingsText(eff.Settings, "  "))
				ds, err := e.svc.Devices(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(&text, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "DEVICE\tNAME\tSETTINGS VERSION\tLOCAL OVERRIDES")
				for _, d := range ds {
					if d.StoreID != sc || d.Revoked {
						continue
					}
					view.Devices = append(view.Devices, deviceSettingsView{ID: d.ID, Name: d.Name, SettingsVersion: d.SettingsVersion, LocalOverrides: d.LocalOverrides})
					over := "-"
					if len(d.LocalOverrides) > 0 {
						over = strings.Join(d.LocalOverrides, ",")
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", d.ID, d.Name, d.SettingsVersion, over)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			return e.out.print(view, text.String())
		}
	},
}

// scopeFlags registers --store and --all; the function it returns gives the scope.
func scopeFlags(fs *flag.FlagSet) func() (string, error) {
	storeID := fs.String("store", "", "one store's kiosks")
	all := fs.Bool("all", false, "the whole chain's kiosks (a store's own settings win, field by field)")
	return func() (string, error) {
		if (*storeID == "") == !*all {
			return "", errors.New("give --store ID or --all")
		}
		if *all {
			return storage.ChainScope, nil
		}
		return *storeID, nil
	}
}

func scopeName(scope string) string {
	if scope == storage.ChainScope {
		return "the chain"
	}
	return "store " + scope
}

// readPIN reads a PIN from stdin after a prompt on stderr, not shown as it is typed at a
// terminal. It is never printed nor taken from the command line (where ps and shell
// history would keep it).
func readPIN(stdin io.Reader, stderr io.Writer) (string, error) {
	fmt.Fprint(stderr, "new manager PIN (4 to 12 digits): ")
	defer fmt.Fprintln(stderr)
	pin, err := secretinput.ReadLine(stdin, 256)
	if err != nil {
		return "", fmt.Errorf("read PIN: %w", err)
	}
	return strings.TrimSpace(pin), nil
}

// shown is a scope's settings as the CLI prints them: the PIN's hash never in full.
type shown struct {
	Scope     string                  `json:"scope,omitempty"`
	Version   int64                   `json:"version"`
	Settings  devicesettings.Settings `json:"settings"`
	UpdatedBy string                  `json:"updated_by,omitempty"`
	UpdatedAt time.Time               `json:"updated_at,omitzero"`
}

type settingsView struct {
	Chain     shown                `json:"chain"`
	Store     *shown               `json:"store,omitempty"`
	Effective *shown               `json:"effective,omitempty"`
	Devices   []deviceSettingsView `json:"devices,omitempty"`
}

type deviceSettingsView struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	SettingsVersion int64    `json:"settings_version"`
	LocalOverrides  []string `json:"local_overrides,omitempty"`
}

func shownSettings(s storage.ScopeSettings) shown {
	return shown{Scope: s.Scope, Version: s.Version, Settings: redacted(s.Settings), UpdatedBy: s.UpdatedBy, UpdatedAt: s.UpdatedAt}
}

// redacted replaces the PIN's hash by its fingerprint.
func redacted(s devicesettings.Settings) devicesettings.Settings {
	s.ManagerPINHash = devicesettings.PINFingerprint(s.ManagerPINHash)
	s.Languages = slices.Clone(s.Languages)
	return s
}

// settingsText lists the settings set, one a line, the PIN by its fingerprint.
func settingsText(s devicesettings.Settings, indent string) string {
	if len(s.Set()) == 0 {
		return indent + "(none)\n"
	}
	var b strings.Builder
	if s.ManagerPINHash != "" {
		fmt.Fprintf(&b, "%smanager PIN: set (hash %s)\n", indent, devicesettings.PINFingerprint(s.ManagerPINHash))
	}
	if s.IdleTimeoutSeconds != 0 {
		fmt.Fprintf(&b, "%sidle timeout: %ds\n", indent, s.IdleTimeoutSeconds)
	}
	if len(s.Languages) > 0 {
		fmt.Fprintf(&b, "%slanguages: %s\n", indent, strings.Join(s.Languages, ","))
	}
	if s.DisplayName != "" {
		fmt.Fprintf(&b, "%sdisplay name: %q\n", indent, s.DisplayName)
	}
	if s.Brightness != 0 {
		fmt.Fprintf(&b, "%sbrightness: %d%%\n", indent, s.Brightness)
	}
	if s.Sleep != "" {
		fmt.Fprintf(&b, "%ssleep: %s\n", indent, s.Sleep)
	}
	return b.String()
}
