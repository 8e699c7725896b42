package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
)

// followUpCommands set the follow-up rule, list cases and manage alert subscriptions.
var followUpCommands = map[string]command{
	"rule set": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "one store's rule (default: the chain's)")
		scores := fs.String("scores", "", "scores that open a case, e.g. 0-6 or 0,1,2 (default: 0-6)")
		reasons := fs.String("reasons", "", "comma-separated reason keys that open a case whatever the score")
		channels := fs.String("channels", "", "comma-separated channels the rule applies to, e.g. kiosk or qr,email (default: all)")
		contact := fs.Bool("contact-requested", true, "open a case for any score when the shopper asked to be contacted")
		sla := fs.Duration("sla", followup.DefaultSLA, "time to act, in whole hours, counted on the store's clock")
		return func(ctx context.Context, e env) error {
			r := followup.Rule{ContactRequested: contact, SLAHours: int(sla.Hours())}
			if *sla%time.Hour != 0 {
				return fmt.Errorf("--sla %s: give whole hours, e.g. 48h", *sla)
			}
			var err error
			if r.Scores, err = parseScores(*scores); err != nil {
				return err
			}
			if *reasons != "" {
				r.Reasons = strings.Split(*reasons, ",")
			}
			if *channels != "" {
				for _, c := range strings.Split(*channels, ",") {
					r.Channels = append(r.Channels, strings.TrimSpace(c))
				}
			}
			if err := e.svc.SetFollowUpRule(ctx, *storeID, r); err != nil {
				return err
			}
			scope := "the chain"
			if *storeID != "" {
				scope = "store " + *storeID
			}
			return e.out.print(r, "follow-up rule set for "+scope+"\n")
		}
	},
	"case list": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "one store")
		status := fs.String("status", "", "open, contacted, resolved or closed-no-action")
		overdue := fs.Bool("overdue", false, "only unfinished cases past their due time")
		channel := fs.String("channel", "", "only cases of responses from this channel, e.g. kiosk or qr")
		return func(ctx context.Context, e env) error {
			cs, err := e.svc.Cases(ctx, storage.CaseFilter{StoreID: *storeID, Status: followup.Status(*status), Overdue: *overdue,
				Channel: *channel, Limit: 500})
			if err != nil || e.out.json {
				return errors.Join(err, e.out.print(cs, ""))
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTORE\tCHANNEL\tSCORE\tSTATUS\tDUE\tOWNER\tCOMMENT")
			for _, c := range cs {
				due := c.DueAt.Format(time.RFC3339)
				if c.Overdue {
					due += " (overdue)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%.60s\n", c.ID, c.StoreID, c.Response.Channel, c.Response.Score, c.Status, due, c.Owner, c.Response.Comment)
			}
			return tw.Flush()
		}
	},
	"webhook add": func(fs *flag.FlagSet) func(context.Context, env) error {
		u := fs.String("url", "", "https URL that receives the events (required)")
		storeID := fs.String("store", "", "one store's events")
		region := fs.String("region", "", "one region's events")
		events := fs.String("events", "", "comma-separated event types (default: all): "+strings.Join(storage.EventTypes, ", "))
		loopback := fs.Bool("allow-loopback-http", false, "allow an http:// URL on this machine")
		return func(ctx context.Context, e env) error {
			sub, err := scopedSubscription(*storeID, *region, *events)
			if err != nil {
				return err
			}
			sub.URL = *u
			sub, err = e.svc.AddWebhook(ctx, sub, alerts.URLPolicy{AllowLoopbackHTTP: *loopback})
			if err != nil {
				return err
			}
			return e.out.print(sub, fmt.Sprintf("webhook %s → %s\nsigning secret (shown once; receivers verify webhook-signature with it):\n%s\n",
				sub.ID, sub.URL, sub.Secret))
		}
	},
	"alert add": func(fs *flag.FlagSet) func(context.Context, env) error {
		email := fs.String("email", "", "address that receives the alerts (required)")
		lang := fs.String("lang", "en", "language of the e-mails: en, es, fr or de")
		storeID := fs.String("store", "", "one store's events")
		region := fs.String("region", "", "one region's events")
		events := fs.String("events", "", "comma-separated event types (default: all): "+strings.Join(storage.EventTypes, ", "))
		return func(ctx context.Context, e env) error {
			sub, err := scopedSubscription(*storeID, *region, *events)
			if err != nil {
				return err
			}
			sub, err = e.svc.AddEmailAlert(ctx, sub, *email, *lang)
			if err != nil {
				return err
			}
			sub.Secret = ""
			return e.out.print(sub, fmt.Sprintf("e-mail alert %s → %s\n", sub.ID, *email))
		}
	},
	"webhook list": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			subs, err := e.svc.Subscriptions(ctx)
			if err != nil || e.out.json {
				return errors.Join(err, e.out.print(subs, ""))
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSCOPE\tURL\tEVENTS\tSTATE")
			for _, s := range subs {
				state := "active"
				if s.Paused {
					state = "PAUSED: " + s.PauseReason
				}
				events := "all"
				if len(s.Events) > 0 {
					events = strings.Join(s.Events, ",")
				}
				fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\n", s.ID, s.ScopeKind, s.Scope, s.URL, events, state)
			}
			return tw.Flush()
		}
	},
	"webhook resume": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 {
				return errors.New("webhook resume takes one subscription id")
			}
			if err := e.svc.ResumeSubscription(ctx, e.args[0]); err != nil {
				return err
			}
			return e.out.print(map[string]string{"resumed": e.args[0]}, "resumed webhook "+e.args[0]+"; its waiting deliveries go out now\n")
		}
	},
	"webhook log": func(fs *flag.FlagSet) func(context.Context, env) error {
		limit := fs.Int("limit", 50, "how many deliveries, newest first")
		return func(ctx context.Context, e env) error {
			log, err := e.svc.DeliveryLog(ctx, *limit)
			if err != nil || e.out.json {
				return errors.Join(err, e.out.print(log, ""))
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EVENT\tTYPE\tURL\tSTATUS\tATTEMPTS\tLAST ERROR")
			for _, l := range log {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", l.EventID, l.EventType, l.URL, l.Status, l.Attempts, l.LastError)
			}
			return tw.Flush()
		}
	},
}

// scopedSubscription is a subscription to the chain's events, or a store's or region's.
func scopedSubscription(storeID, region, events string) (storage.Subscription, error) {
	sub := storage.Subscription{ScopeKind: storage.ScopeChain}
	switch {
	case storeID != "" && region != "":
		return sub, errors.New("give --store or --region, not both")
	case storeID != "":
		sub.ScopeKind, sub.Scope = storage.ScopeStore, storeID
	case region != "":
		sub.ScopeKind, sub.Scope = storage.ScopeRegion, region
	}
	if events != "" {
		sub.Events = strings.Split(events, ",")
	}
	return sub, nil
}

// parseScores reads "0-6" or "0,1,2" (or both, "0-3,9").
func parseScores(text string) ([]int, error) {
	if text == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(text, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err != nil || a > b {
			return nil, fmt.Errorf("--scores %q: want scores or ranges such as 0-6 or 0,1,2", text)
		}
		for s := a; s <= b; s++ {
			out = append(out, s)
		}
	}
	return out, nil
}
