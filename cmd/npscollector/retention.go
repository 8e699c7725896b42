package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// retentionCommands set the chain's retention policy, purge now and show the database's
// state.
var retentionCommands = map[string]command{
	"retention set": func(fs *flag.FlagSet) func(context.Context, env) error {
		var p struct{ comments, contacts *int }
		dayFlag := func(name string, into **int, what string) {
			fs.Func(name, what+": whole days (365), 0 keeps forever; unset: unchanged", func(s string) error {
				n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
				if err != nil {
					return fmt.Errorf("%q: give whole days such as 365, or 0 to keep forever", s)
				}
				*into = &n
				return nil
			})
		}
		dayFlag("comments-days", &p.comments, "how long comments and free-text answers are kept")
		dayFlag("contacts-days", &p.contacts, "how long contacts, case notes and the webhook log are kept")
		return func(ctx context.Context, e env) error {
			if p.comments == nil && p.contacts == nil {
				return errors.New("retention set: give --comments-days, --contacts-days or both")
			}
			cur, err := e.svc.RetentionPolicy(ctx)
			if err != nil {
				return err
			}
			if p.comments != nil {
				cur.CommentsDays = *p.comments
			}
			if p.contacts != nil {
				cur.ContactsDays = *p.contacts
			}
			if err := e.svc.SetRetentionPolicy(ctx, cur); err != nil {
				return err
			}
			if cur, err = e.svc.RetentionPolicy(ctx); err != nil {
				return err
			}
			return e.out.print(cur, "retention: "+policyText(cur)+"\nserve applies it within a day (at start, then daily); npscollector purge applies it now\n")
		}
	},
	"purge": func(fs *flag.FlagSet) func(context.Context, env) error {
		dryRun := fs.Bool("dry-run", false, "count what would be purged and change nothing")
		return func(ctx context.Context, e env) error {
			p, err := e.svc.RetentionPolicy(ctx)
			if err != nil {
				return err
			}
			if p.Off() {
				return e.out.print(storage.PurgeCounts{}, "retention keeps everything forever: nothing to purge (npscollector retention set)\n")
			}
			counts, err := e.svc.PurgeNow(ctx, themeRunner(), *dryRun)
			if errors.Is(err, storage.ErrRetentionBusy) {
				return errors.New("purge: another collector is purging now; try again when it is done")
			}
			if err != nil {
				return err
			}
			head := "purged"
			if *dryRun {
				head = "would purge (dry run, nothing changed)"
			}
			return e.out.print(counts, fmt.Sprintf("%s under %s:\n%s", head, policyText(p), countsText(counts, "  ")))
		}
	},
	"status": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			st, err := e.svc.RetentionStatus(ctx)
			if err != nil {
				return err
			}
			var b strings.Builder
			size := "file and WAL"
			if st.Dialect == "postgres" {
				size = "pg_database_size"
			}
			fmt.Fprintf(&b, "database      %s, %s (%s)\n", st.Dialect, bytesText(st.DBBytes), size)
			fmt.Fprintf(&b, "retention     %s\n", policyText(st.Policy))
			if st.LastRun == nil {
				b.WriteString("last purge    never\n")
			} else {
				r := st.LastRun
				fmt.Fprintf(&b, "last purge    %s, took %s, %d rows", r.FinishedAt.Format(time.RFC3339), r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond), r.Counts.Total())
				if r.Error != "" {
					fmt.Fprintf(&b, ", FAILED: %s", r.Error)
				}
				b.WriteString("\n" + countsText(r.Counts, "              "))
			}
			fmt.Fprintf(&b, "purged total  %d rows\n", st.Totals.Total())
			return e.out.print(st, b.String())
		}
	},
}

func policyText(p storage.RetentionPolicy) string {
	days := func(n int) string {
		if n == 0 {
			return "forever"
		}
		return strconv.Itoa(n) + " days"
	}
	return fmt.Sprintf("comments and free-text answers %s, contacts, case notes and webhook log %s; scores and reports forever",
		days(p.CommentsDays), days(p.ContactsDays))
}

func countsText(c storage.PurgeCounts, indent string) string {
	var b strings.Builder
	for _, t := range c.ByTable() {
		fmt.Fprintf(&b, "%s%-18s %d\n", indent, t.Table, t.N)
	}
	return b.String()
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
