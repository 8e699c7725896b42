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

	"github.com/npskiosk/npskiosk/sync/wire"
)

// deviceActionCommands ask a kiosk for a remote action (sync now, a diagnostics
// bundle, a restart), list the actions and fetch a bundle: what the devices page does.
var deviceActionCommands = map[string]command{
	"device action": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			if len(e.args) != 2 {
				return fmt.Errorf("device action takes a device id and one of %s", strings.Join(wire.ActionKinds, ", "))
			}
			a, err := e.svc.QueueDeviceAction(ctx, e.args[0], e.args[1], cliActor())
			if err != nil {
				return err
			}
			return e.out.print(a, fmt.Sprintf("asked device %s to %s (action %s); it gets the request with its next heartbeat, "+
				"see npscollector device actions %s\n", a.DeviceID, a.Kind, a.ID, a.DeviceID))
		}
	},
	"device actions": func(fs *flag.FlagSet) func(context.Context, env) error {
		limit := fs.Int("limit", 50, "how many of the newest actions to list")
		return func(ctx context.Context, e env) error {
			if len(e.args) > 1 {
				return errors.New("device actions takes at most one device id")
			}
			device := ""
			if len(e.args) == 1 {
				device = e.args[0]
			}
			as, err := e.svc.DeviceActions(ctx, device, *limit)
			if err != nil {
				return err
			}
			if e.out.json {
				return e.out.print(as, "")
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tDEVICE\tACTION\tASKED BY\tASKED\tSTATE\tBUNDLE\tRESULT")
			for _, a := range as {
				bundle := "-"
				if a.BundleBytes > 0 {
					bundle = bytesText(a.BundleBytes)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.DeviceID, a.Kind, a.RequestedBy,
					a.RequestedAt.Format(time.RFC3339), a.State, bundle, a.Result)
			}
			return tw.Flush()
		}
	},
	"device diagnostics": func(fs *flag.FlagSet) func(context.Context, env) error {
		out := fs.String("out", "", "write the bundle to this file (mode 0600) instead of standard output")
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 {
				return errors.New("device diagnostics takes one action id (npscollector device actions lists them)")
			}
			_, body, err := e.svc.Diagnostics(ctx, e.args[0])
			if err != nil {
				return err
			}
			if *out == "" {
				_, err := e.out.w.Write(append(body, '\n'))
				return err
			}
			if err := os.WriteFile(*out, body, 0o600); err != nil {
				return fmt.Errorf("device diagnostics: %w", err)
			}
			fmt.Fprintf(e.stderr, "wrote %s (%s)\n", *out, bytesText(int64(len(body))))
			return nil
		}
	},
}
