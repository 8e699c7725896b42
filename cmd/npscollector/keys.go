package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/websurvey"
	"github.com/npskiosk/npskiosk/collector/widget"
)

// keyCommands manage site and app keys: the survey links a website widget or a mobile
// app answers through, from the origins or apps they list.
var keyCommands = map[string]command{
	"key add": func(fs *flag.FlagSet) func(context.Context, env) error {
		var nl storage.NewLink
		var origins, bundles multiFlag
		fs.StringVar(&nl.Kind, "kind", "", "site (a website widget) or app (a mobile app or another system) (required)")
		fs.StringVar(&nl.StoreID, "store", "", "store id the answers count for (required)")
		channel := fs.String("channel", "", "channel of its answers (default: web for a site key, app for an app key)")
		fs.StringVar(&nl.Touchpoint, "touchpoint", "", "the moment it asks about: checkout, delivery… (optional)")
		fs.Var(&origins, "origin", "a web origin it answers from, https://shop.example.com (repeat for more; required for a site key)")
		fs.Var(&bundles, "bundle-id", "a mobile app it answers from, com.example.shop (repeat for more; app keys)")
		fs.IntVar(&nl.RatePerMinute, "rate", 0, "posts a minute it takes from everyone (default: the endpoint's, 60 for the widget)")
		fs.StringVar(&nl.Label, "label", "", "what it is for, for people (optional)")
		base := fs.String("public-url", os.Getenv("NPSCOLLECTOR_PUBLIC_URL"), "the collector's address as shoppers' browsers reach it, for the embed code (default $NPSCOLLECTOR_PUBLIC_URL)")
		return func(ctx context.Context, e env) error {
			switch nl.Kind {
			case storage.LinkKindSite:
				nl.Channel = cmp.Or(*channel, "web")
			case storage.LinkKindApp:
				nl.Channel = cmp.Or(*channel, "app")
			default:
				return errors.New("key add: give --kind site (a website widget) or --kind app (a mobile app)")
			}
			var baseURL string
			if *base != "" {
				var err error
				if baseURL, err = websurvey.ParseBaseURL(*base); err != nil {
					return fmt.Errorf("--public-url: %w", err)
				}
			}
			nl.Origins, nl.BundleIDs = origins, bundles
			l, err := e.svc.AddLink(ctx, nl)
			if err != nil {
				return err
			}
			out := struct {
				storage.Link
				Embed *widget.Embed `json:"embed,omitempty"`
			}{Link: l}
			text := fmt.Sprintf("%s key %s for store %s (%s), %s\n", l.Kind, l.Code, l.StoreID, linkWhat(l), rateWords(l))
			if len(l.Origins) > 0 {
				text += "answers from " + strings.Join(l.Origins, ", ") + "\n"
			}
			if len(l.BundleIDs) > 0 {
				text += "answers from the apps " + strings.Join(l.BundleIDs, ", ") + "\n"
			}
			if l.Kind == storage.LinkKindSite {
				if baseURL == "" {
					text += "give --public-url (or set $NPSCOLLECTOR_PUBLIC_URL) to print the embed code\n"
				} else {
					em := widget.Snippet(baseURL, l)
					out.Embed = &em
					text += "\nPaste after checkout (replace ORDER_ID and SEGMENT, or leave them out):\n  " + em.Script +
						"\nor, where a page cannot take a script:\n  " + em.IFrame +
						"\nA page with a Content-Security-Policy adds the collector to:\n  " + strings.Join(em.CSP, "; ") + "\n"
				}
			}
			return e.out.print(out, text)
		}
	},
	"key list": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "one store's keys")
		return func(ctx context.Context, e env) error {
			links, err := e.svc.Links(ctx, *storeID)
			if err != nil {
				return err
			}
			answers, err := e.svc.LinkAnswers(ctx)
			if err != nil {
				return err
			}
			type row struct {
				storage.Link
				Answers int64 `json:"answers"`
			}
			rows := []row{}
			for _, l := range links {
				if l.Kind == storage.LinkKindSite || l.Kind == storage.LinkKindApp {
					rows = append(rows, row{Link: l, Answers: answers[l.ID]})
				}
			}
			if e.out.json {
				return e.out.print(rows, "")
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tKIND\tSTORE\tCHANNEL\tTOUCHPOINT\tFROM\tRATE/MIN\tSTATE\tANSWERS\tLABEL")
			now := e.svc.Now()
			for _, r := range rows {
				from := strings.Join(append(append([]string{}, r.Origins...), r.BundleIDs...), " ")
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Code, r.Kind, r.StoreID, r.Channel, r.Touchpoint, from,
					rateText(r.Link), linkState(r.Link, now), r.Answers, r.Label)
			}
			return tw.Flush()
		}
	},
	"key disable": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 {
				return errors.New("key disable takes one key")
			}
			l, err := e.svc.LinkByCode(ctx, e.args[0])
			if err != nil {
				return err
			}
			if l.Kind != storage.LinkKindSite && l.Kind != storage.LinkKindApp {
				return fmt.Errorf("%s is a survey link, not a site or app key: use link disable", l.Code)
			}
			if l, err = e.svc.DisableLink(ctx, l.Code); err != nil {
				return err
			}
			return e.out.print(l, fmt.Sprintf("disabled %s key %s (store %s, %s): it takes no more answers; its answers stay\n",
				l.Kind, l.Code, l.StoreID, linkWhat(l)))
		}
	},
}

// rateWords says a key's rate limit in a sentence.
func rateWords(l storage.Link) string {
	if l.RatePerMinute == 0 {
		return "at the default rate"
	}
	return "at most " + strconv.Itoa(l.RatePerMinute) + " posts a minute"
}

// rateText is a key's rate limit in a table: its own, or the default.
func rateText(l storage.Link) string {
	if l.RatePerMinute == 0 {
		return "default"
	}
	return strconv.Itoa(l.RatePerMinute)
}

// multiFlag is a flag that may be given more than once.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(v string) error {
	*m = append(*m, v)
	return nil
}
