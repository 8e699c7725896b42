package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// fleetCommands manage stores, devices, API tokens and surveys, and export responses.
var fleetCommands = map[string]command{
	"store add": func(fs *flag.FlagSet) func(context.Context, env) error {
		id := fs.String("id", "", "store id, e.g. S042 (required)")
		name := fs.String("name", "", "store name (required)")
		tz := fs.String("timezone", "", "IANA time zone, e.g. Europe/Berlin (required)")
		region := fs.String("region", "", "region")
		format := fs.String("format", "", "store format, e.g. supermarket, express, outlet (a-z, 0-9, - and _)")
		return func(ctx context.Context, e env) error {
			s := storage.Store{ID: *id, Name: *name, Timezone: *tz, Region: *region, Format: *format}
			if err := e.svc.AddStore(ctx, s); err != nil {
				return err
			}
			return e.out.print(s, fmt.Sprintf("added store %s (%s, %s)\n", s.ID, s.Name, s.Timezone))
		}
	},
	"store set": func(fs *flag.FlagSet) func(context.Context, env) error {
		id := fs.String("id", "", "store id (required)")
		var c storage.StoreChange
		fs.Func("region", "the store's new region (\"\" clears it)", func(v string) error { c.Region = &v; return nil })
		fs.Func("format", "the store's new format (\"\" clears it)", func(v string) error { c.Format = &v; return nil })
		return func(ctx context.Context, e env) error {
			if *id == "" {
				return errors.New("store set: --id is required")
			}
			if err := e.svc.SetStore(ctx, *id, c); err != nil {
				return err
			}
			s, err := e.svc.Store(ctx, *id)
			if err != nil {
				return err
			}
			return e.out.print(s, fmt.Sprintf("store %s: region %q, format %q\n", s.ID, s.Region, s.Format))
		}
	},
	"device add": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "store id (required)")
		name := fs.String("name", "", "device name, e.g. \"Till 3\" (required)")
		ttl := fs.Duration("ttl", storage.EnrollmentCodeTTL, "how long the enrollment code works")
		return func(ctx context.Context, e env) error {
			d, err := e.svc.AddDevice(ctx, *storeID, *name, *ttl)
			if err != nil {
				return err
			}
			return e.out.print(d, fmt.Sprintf("device %s (%s) for store %s\nenrollment code: %s (works once, until %s)\nsetup PIN:       %s (the kiosk's setup screen asks for it with the code)\n"+
				"on the kiosk's setup screen: this collector's address, the code and the setup PIN\nor on the device: npskiosk enroll --collector URL --code %s\n",
				d.ID, d.Name, d.StoreID, d.Code, d.ExpiresAt.Format(time.RFC3339), d.SetupPIN, d.Code))
		}
	},
	"device list": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			ds, err := e.svc.Devices(ctx)
			if err != nil {
				return err
			}
			if e.out.json {
				return e.out.print(ds, "")
			}
			rollout, _, err := e.svc.CurrentRollout(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTORE\tNAME\tSTATE\tLAST SEEN\tQUEUE\tVERSION\tROLLOUT\tDB\tLAST PURGE\tSETTINGS")
			for _, d := range ds {
				state := "waiting for enrollment"
				switch {
				case d.Revoked:
					state = "revoked"
				case d.Enrolled:
					state = "enrolled"
				}
				seen := "never"
				if !d.LastSeen.IsZero() {
					seen = d.LastSeen.Format(time.RFC3339)
				}
				db, purge := "-", "never"
				if d.DBBytes > 0 {
					db = bytesText(d.DBBytes)
				}
				if !d.LastPurgeAt.IsZero() {
					purge = fmt.Sprintf("%s (%d)", d.LastPurgeAt.Format(time.DateOnly), d.LastPurged)
				}
				settings := "-"
				if d.SettingsVersion > 0 {
					settings = fmt.Sprintf("v%d", d.SettingsVersion)
				}
				if len(d.LocalOverrides) > 0 {
					settings += " local: " + strings.Join(d.LocalOverrides, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.StoreID, d.Name, state, seen, d.QueueLength, d.AppVersion,
					rolloutCell(rollout, d), db, purge, settings)
			}
			return tw.Flush()
		}
	},
	"device revoke": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 {
				return errors.New("device revoke takes one device id")
			}
			if err := e.svc.RevokeDevice(ctx, e.args[0]); err != nil {
				return err
			}
			return e.out.print(map[string]string{"revoked": e.args[0]}, "revoked device "+e.args[0]+"\n")
		}
	},
	"enrollment-key add": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "store id (required)")
		uses := fs.Int("uses", 1, fmt.Sprintf("how many kiosks the key may enroll (1 to %d)", storage.MaxEnrollmentKeyUses))
		expires := fs.Duration("expires", storage.EnrollmentKeyTTL, "how long the key works, e.g. 168h")
		return func(ctx context.Context, e env) error {
			if *storeID == "" {
				return errors.New("enrollment-key add: --store is required")
			}
			k, err := e.svc.AddEnrollmentKey(ctx, *storeID, *uses, *expires)
			if err != nil {
				return err
			}
			return e.out.print(k, fmt.Sprintf("enrollment key %s for store %s: enrolls up to %d kiosks until %s (shown once, keep it safe):\n%s\n"+
				"on each kiosk, /etc/npskiosk/provision.toml:\n  collector = \"URL\"\n  key = \"%s\"\n",
				k.ID, k.StoreID, k.MaxUses, k.ExpiresAt.Format(time.RFC3339), k.Key, k.Key))
		}
	},
	"enrollment-key list": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			ks, err := e.svc.EnrollmentKeys(ctx)
			if err != nil {
				return err
			}
			if e.out.json {
				return e.out.print(ks, "")
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTORE\tUSED\tEXPIRES\tSTATE\tDEVICES")
			now := time.Now()
			for _, k := range ks {
				state := "active"
				switch {
				case k.Revoked:
					state = "revoked"
				case !k.ExpiresAt.After(now):
					state = "expired"
				case k.Uses >= k.MaxUses:
					state = "used up"
				}
				var made []string
				for _, d := range k.Devices {
					made = append(made, fmt.Sprintf("%s (%s, %s)", d.Name, d.DeviceID, d.UsedAt.Format(time.RFC3339)))
				}
				fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", k.ID, k.StoreID, k.Uses, k.MaxUses, k.ExpiresAt.Format(time.RFC3339), state, strings.Join(made, "; "))
			}
			return tw.Flush()
		}
	},
	"enrollment-key revoke": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 {
				return errors.New("enrollment-key revoke takes one key id")
			}
			if err := e.svc.RevokeEnrollmentKey(ctx, e.args[0]); err != nil {
				return err
			}
			return e.out.print(map[string]string{"revoked": e.args[0]}, "revoked enrollment key "+e.args[0]+" (the kiosks it enrolled stay enrolled)\n")
		}
	},
	"token add": func(fs *flag.FlagSet) func(context.Context, env) error {
		name := fs.String("name", "", "what the token is for, e.g. hq (required)")
		storeID := fs.String("store", "", "limit the token to one store's data")
		var scopes []string
		fs.Func("scope", "what the token may do: "+strings.Join(storage.Scopes(), ", ")+
			" (repeat the flag or separate with commas; default "+strings.Join(storage.DefaultScopes(), ",")+
			", what tokens could do before scopes)", func(v string) error {
			scopes = append(scopes, v)
			return nil
		})
		return func(ctx context.Context, e env) error {
			t, err := e.svc.AddAPIToken(ctx, *name, *storeID, scopes...)
			if err != nil {
				return err
			}
			scope := "every store"
			if t.StoreID != "" {
				scope = "store " + t.StoreID
			}
			return e.out.print(t, fmt.Sprintf("API token %q for %s, scopes %s (shown once, keep it safe):\n%s\n",
				t.Name, scope, strings.Join(t.Scopes, " "), t.Token))
		}
	},
	"token list": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			ts, err := e.svc.APITokens(ctx)
			if err != nil {
				return err
			}
			if e.out.json {
				return e.out.print(ts, "")
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTORES\tSCOPES\tSTATE\tCREATED\tLAST USED")
			for _, t := range ts {
				scope, state, used := "every store", "active", "never"
				if t.StoreID != "" {
					scope = "store " + t.StoreID
				}
				if t.Revoked() {
					state = "revoked " + t.RevokedAt.UTC().Format(time.RFC3339)
				}
				if !t.LastUsed.IsZero() {
					used = t.LastUsed.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, scope, strings.Join(t.Scopes, ","), state,
					t.CreatedAt.UTC().Format(time.RFC3339), used)
			}
			return tw.Flush()
		}
	},
	"token revoke": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 {
				return errors.New("token revoke takes one token id (see token list)")
			}
			if err := e.svc.RevokeAPIToken(ctx, e.args[0]); err != nil {
				return err
			}
			return e.out.print(map[string]string{"revoked": e.args[0]}, "revoked API token "+e.args[0]+"\n")
		}
	},
	"survey set": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "store id")
		all := fs.Bool("all", false, "every store")
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 || (*storeID == "") == !*all {
				return errors.New("survey set takes --store ID or --all, and one survey file")
			}
			b, err := os.ReadFile(e.args[0])
			if err != nil {
				return err
			}
			s, err := assets.ParseSurvey(b)
			if err != nil {
				return fmt.Errorf("%s: %w", e.args[0], err)
			}
			var stores []string
			if *storeID != "" {
				stores = []string{*storeID}
			}
			v, err := e.svc.SetSurvey(ctx, s, stores)
			if err != nil {
				return err
			}
			return e.out.print(map[string]int{"version": v}, fmt.Sprintf("survey version %d set\n", v))
		}
	},
	"export": func(fs *flag.FlagSet) func(context.Context, env) error {
		format := fs.String("format", "csv", "output format: csv")
		storeID := fs.String("store", "", "one store")
		region := fs.String("region", "", "one region")
		storeFormat := fs.String("store-format", "", "the stores of one format")
		segment := fs.String("segment", "", "one customer segment")
		from := fs.String("from", "2000-01-01", "first day, YYYY-MM-DD, in each store's time zone")
		to := fs.String("to", "2999-12-31", "last day, YYYY-MM-DD")
		return func(ctx context.Context, e env) error {
			if *format != "csv" {
				return fmt.Errorf("export: format %q is not supported; use csv", *format)
			}
			for _, d := range []string{*from, *to} {
				if _, err := time.Parse(time.DateOnly, d); err != nil {
					return fmt.Errorf("export: %q is not a date, YYYY-MM-DD", d)
				}
			}
			n, err := e.svc.Export(ctx, storage.Filter{StoreID: *storeID, Region: *region, Format: *storeFormat,
				Segment: *segment, From: *from, To: *to}, e.out.w)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "exported %d responses\n", n)
			return nil
		}
	},
}

// rolloutCell is a device's place in the rollout for device list: "-" outside it, else
// its state and the version.
func rolloutCell(r storage.Rollout, d storage.Device) string {
	st := r.DeviceState(d)
	if st == storage.RolloutOutside {
		if d.UpdateState != "" {
			return fmt.Sprintf("- (last: %s %s)", d.UpdateState, d.UpdateTarget)
		}
		return "-"
	}
	return strings.ReplaceAll(st, " ", "_") + " " + r.Version
}
