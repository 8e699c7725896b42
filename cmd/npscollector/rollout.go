package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// rolloutCommands stage a kiosk package version across the fleet.
var rolloutCommands = map[string]command{
	"rollout set": func(fs *flag.FlagSet) func(context.Context, env) error {
		version := fs.String("version", "", "the kiosk package version, e.g. 0.1.2 (required; it must be in the apt repository)")
		percent := fs.Int("percent", 0, "the share of the fleet (0–100), by a stable hash of the device id")
		stores := fs.String("stores", "", "comma-separated store ids whose kiosks are in the rollout whatever --percent")
		return func(ctx context.Context, e env) error {
			var ids []string
			for s := range strings.SplitSeq(*stores, ",") {
				if s = strings.TrimSpace(s); s != "" {
					ids = append(ids, s)
				}
			}
			r, err := e.svc.SetRollout(ctx, *version, *percent, ids)
			if err != nil {
				return err
			}
			return e.out.print(r, fmt.Sprintf("rollout of %s: %s\n", r.Version, rolloutScope(r)))
		}
	},
	"rollout status": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			r, ok, err := e.svc.CurrentRollout(ctx)
			if err != nil {
				return err
			}
			ds, err := e.svc.Devices(ctx)
			if err != nil {
				return err
			}
			sum := r.Summarize(ds)
			if e.out.json {
				return e.out.print(sum, "")
			}
			var b strings.Builder
			if !ok {
				b.WriteString("no rollout\n")
			} else {
				state := "active"
				if r.Halted() {
					state = "halted at " + r.HaltedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(&b, "rollout of %s (%s), since %s: %s\n", r.Version, rolloutScope(r), r.CreatedAt.Format(time.RFC3339), state)
				fmt.Fprintf(&b, "devices: %d, in the rollout: %d (on target %d, pending %d, failed %d), outside: %d\n",
					sum.Devices, sum.Included, sum.OnTarget, sum.Pending, sum.Failed, sum.Outside)
			}
			for _, v := range slices.Sorted(maps.Keys(sum.Versions)) {
				fmt.Fprintf(&b, "version %s: %d\n", v, sum.Versions[v])
			}
			return e.out.print(sum, b.String())
		}
	},
	"rollout halt": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			r, err := e.svc.HaltRollout(ctx)
			if err != nil {
				return err
			}
			return e.out.print(r, fmt.Sprintf("rollout of %s halted: no kiosk is asked to change version; those that moved stay\n", r.Version))
		}
	},
}

// rolloutScope says which kiosks a rollout takes.
func rolloutScope(r storage.Rollout) string {
	s := fmt.Sprintf("%d%% of the fleet", r.Percent)
	if len(r.Stores) > 0 {
		s += " and the kiosks of " + strings.Join(r.Stores, ", ")
	}
	return s
}
