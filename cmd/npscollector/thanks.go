package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
)

// thanksCommands set the promoters' thank-you rule and list the thank-yous sent.
var thanksCommands = map[string]command{
	"thanks set": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "one store's rule (default: the chain's)")
		scores := fs.String("scores", "", "scores that are thanked, e.g. 9-10 or 10 (default: 9-10)")
		review := fs.String("review-url", "", "an https:// page the e-mail invites the shopper to write a review on")
		channels := fs.String("channels", "", "comma-separated channels the rule applies to, e.g. kiosk,qr (default: all)")
		off := fs.Bool("off", false, "send no thank-yous (for a store: even when the chain does)")
		return func(ctx context.Context, e env) error {
			r := followup.ThanksRule{ReviewURL: *review, Off: *off}
			var err error
			if r.Scores, err = parseScores(*scores); err != nil {
				return err
			}
			if *channels != "" {
				for _, c := range strings.Split(*channels, ",") {
					r.Channels = append(r.Channels, strings.TrimSpace(c))
				}
			}
			if err := e.svc.SetThanksRule(ctx, *storeID, r); err != nil {
				return err
			}
			scope := "the chain"
			if *storeID != "" {
				scope = "store " + *storeID
			}
			what := "thank-you e-mails are off for " + scope + "\n"
			if !r.Off {
				what = "thank-you rule set for " + scope + ": promoters who leave an e-mail address with consent are thanked once\n"
			}
			return e.out.print(r, what)
		}
	},
	"thanks list": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "one store")
		limit := fs.Int("limit", 50, "how many, newest first (at most 500)")
		return func(ctx context.Context, e env) error {
			ls, err := e.svc.ThankYous(ctx, storage.ThankYouFilter{StoreID: *storeID, Limit: *limit})
			if err != nil || e.out.json {
				return errors.Join(err, e.out.print(ls, ""))
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "QUEUED\tSTORE\tSCORE\tCHANNEL\tLANG\tSTATUS\tSENT\tRESPONSE\tNOTE")
			for _, l := range ls {
				sent := "-"
				if !l.SentAt.IsZero() {
					sent = l.SentAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", l.CreatedAt.UTC().Format(time.RFC3339), l.StoreID, l.Score,
					l.Channel, l.Language, l.Status, sent, l.ResponseID, l.LastError)
			}
			return tw.Flush()
		}
	},
}
