package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// themeRunner names this process as the holder of re-tagging leases: unique, and
// telling an operator which host runs a job.
func themeRunner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), uuid.Must(uuid.NewV7()).String()[24:])
}

// themeCommands re-tag the comments' themes and sentiment.
var themeCommands = map[string]command{
	"themes retag": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "one store (default: every store)")
		return func(ctx context.Context, e env) error {
			var stores []string
			if *storeID != "" {
				stores = []string{*storeID}
			}
			// Forced: the command re-tags with the same taxonomy too, e.g. after an
			// upgrade that reads comments better.
			started, err := e.svc.SyncThemeJobs(ctx, stores, true)
			if err != nil {
				return err
			}
			show := func(j storage.ThemeJob) {
				if !e.out.json {
					fmt.Fprintf(e.out.w, "store %s: %d of %d re-tagged\n", j.StoreID, j.Done, j.Total)
				}
			}
			if err := e.svc.RunThemeJobs(ctx, themeRunner(), *storeID, show); err != nil {
				return err
			}
			// A job another collector holds the lease of is its to run: wait for it.
			for {
				jobs, err := e.svc.ThemeJobs(ctx)
				if err != nil {
					return err
				}
				var busy []storage.ThemeJob
				for _, j := range jobs {
					if (*storeID == "" || j.StoreID == *storeID) && !j.Finished() {
						busy = append(busy, j)
					}
				}
				if len(busy) == 0 {
					return e.out.print(map[string]any{"retagged": started, "jobs": jobs},
						fmt.Sprintf("re-tagged the comments of %d stores\n", len(started)))
				}
				for _, j := range busy {
					if !e.out.json {
						fmt.Fprintf(e.out.w, "store %s: %d of %d re-tagged by %s\n", j.StoreID, j.Done, j.Total, j.Runner)
					}
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(2 * time.Second):
				}
				// The other collector may have stopped: take over once its lease ran out.
				if err := e.svc.RunThemeJobs(ctx, themeRunner(), *storeID, show); err != nil {
					return err
				}
			}
		}
	},
}
