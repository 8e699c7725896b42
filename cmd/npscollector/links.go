package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/websurvey"
)

// linkCommands manage survey links: the short addresses of the web survey that QR
// codes, posters and messages carry.
var linkCommands = map[string]command{
	"link add": func(fs *flag.FlagSet) func(context.Context, env) error {
		var req websurvey.LinkRequest
		fs.StringVar(&req.StoreID, "store", "", "store id (required)")
		fs.StringVar(&req.Channel, "channel", "qr", "how shoppers get the link: qr, web, sms, receipt… (a-z, 0-9, - and _)")
		fs.StringVar(&req.Touchpoint, "touchpoint", "", "the moment it asks about: checkout, returns, delivery… (optional)")
		fs.StringVar(&req.Label, "label", "", "where it is printed or sent, for people (optional)")
		fs.StringVar(&req.Expires, "expires", "", "last day it takes answers, YYYY-MM-DD in the store's time zone (default: never)")
		fs.DurationVar(&req.TTL, "ttl", 0, "how long it takes answers, e.g. 720h (instead of --expires)")
		out := fs.String("out", ".", "folder to write the QR code (PNG, SVG) and the A4 and Letter posters (PDF) into")
		base := fs.String("base-url", os.Getenv("NPSCOLLECTOR_PUBLIC_URL"), "the collector's public address, as serve --public-url (default $NPSCOLLECTOR_PUBLIC_URL)")
		return func(ctx context.Context, e env) error {
			if *base == "" {
				return errors.New("link add: give --base-url (the address shoppers' phones reach the collector at, as serve --public-url) or set $NPSCOLLECTOR_PUBLIC_URL")
			}
			baseURL, err := websurvey.ParseBaseURL(*base)
			if err != nil {
				return fmt.Errorf("--base-url: %w", err)
			}
			if err := os.MkdirAll(*out, 0o755); err != nil {
				return err
			}
			l, err := websurvey.AddLink(ctx, e.svc, req)
			if err != nil {
				return err
			}
			files, err := websurvey.PrintAll(ctx, e.svc, l, baseURL)
			if err != nil {
				return err
			}
			var paths []string
			for _, f := range files {
				p := filepath.Join(*out, f.Name)
				if err := os.WriteFile(p, f.Body, 0o644); err != nil {
					return err
				}
				paths = append(paths, p)
			}
			url := websurvey.LinkURL(baseURL, l.Code)
			text := fmt.Sprintf("link %s for store %s (%s), %s\n%s\nwrote %s\n", l.Code, l.StoreID, linkWhat(l), linkState(l, e.svc.Now()), url,
				strings.Join(paths, ", "))
			return e.out.print(struct {
				storage.Link
				URL   string   `json:"url"`
				Files []string `json:"files"`
			}{l, url, paths}, text)
		}
	},
	"link list": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "one store's links")
		base := fs.String("base-url", os.Getenv("NPSCOLLECTOR_PUBLIC_URL"), "show each link's address under this public URL (default $NPSCOLLECTOR_PUBLIC_URL)")
		return func(ctx context.Context, e env) error {
			links, err := e.svc.Links(ctx, *storeID)
			if err != nil {
				return err
			}
			answers, err := e.svc.LinkAnswers(ctx)
			if err != nil {
				return err
			}
			baseURL := ""
			if *base != "" {
				if baseURL, err = websurvey.ParseBaseURL(*base); err != nil {
					return fmt.Errorf("--base-url: %w", err)
				}
			}
			type row struct {
				storage.Link
				URL     string `json:"url,omitempty"`
				Answers int64  `json:"answers"`
			}
			rows := make([]row, 0, len(links))
			for _, l := range links {
				if l.Kind == storage.LinkKindSite || l.Kind == storage.LinkKindApp {
					continue // key list shows them
				}
				r := row{Link: l, Answers: answers[l.ID]}
				if baseURL != "" {
					r.URL = websurvey.LinkURL(baseURL, l.Code)
				}
				rows = append(rows, r)
			}
			if e.out.json {
				return e.out.print(rows, "")
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CODE\tSTORE\tCHANNEL\tTOUCHPOINT\tLABEL\tSTATE\tANSWERS\tURL")
			now := e.svc.Now()
			for _, r := range rows {
				url := r.URL
				if url == "" {
					url = "/s/" + r.Code
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Code, r.StoreID, r.Channel, r.Touchpoint, r.Label, linkState(r.Link, now), r.Answers, url)
			}
			return tw.Flush()
		}
	},
	"link disable": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 {
				return errors.New("link disable takes one link code")
			}
			l, err := e.svc.DisableLink(ctx, e.args[0])
			if err != nil {
				return err
			}
			return e.out.print(l, fmt.Sprintf("disabled link %s (store %s, %s): it takes no more answers; its answers stay\n", l.Code, l.StoreID, linkWhat(l)))
		}
	},
}

// linkWhat is a link's channel and touchpoint in words.
func linkWhat(l storage.Link) string {
	if l.Touchpoint == "" {
		return l.Channel
	}
	return l.Channel + ", " + l.Touchpoint
}

// linkState says whether a link takes answers, and until when.
func linkState(l storage.Link, now time.Time) string {
	switch {
	case !l.DisabledAt.IsZero():
		return "disabled " + l.DisabledAt.UTC().Format(time.DateOnly)
	case l.Open(now) != nil:
		return "expired " + l.ExpiresAt.UTC().Format(time.DateOnly)
	case !l.ExpiresAt.IsZero():
		return "open until " + l.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return "open"
}
