package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/invitations"
)

// inviteCommands send e-mail invitations.
var inviteCommands = map[string]command{
	"invite": func(fs *flag.FlagSet) func(context.Context, env) error {
		storeID := fs.String("store", "", "the store the invitations are for (required)")
		csvPath := fs.String("csv", "", "the invitation list: a CSV file with a header row naming email, language and optionally order_id and segment; - reads stdin (required)")
		touchpoint := fs.String("touchpoint", "", "the moment of the journey asked about, such as delivery (optional)")
		expires := fs.Duration("expires", collector.DefaultInvitationTTL, "how long each invitation takes answers (1h to 2160h)")
		quiet := days(collector.DefaultQuietPeriod)
		fs.Var(&quiet, "quiet-period", "nobody is invited again within this long of an invitation, at any store: days (90d) or a duration (2160h)")
		publicURL := fs.String("public-url", os.Getenv("NPSCOLLECTOR_PUBLIC_URL"), "the collector's address as invitees reach it, e.g. https://nps.example.com: the links in the e-mails start with it (default $NPSCOLLECTOR_PUBLIC_URL)")
		mailer := smtpFlags(fs)
		return func(ctx context.Context, e env) error {
			if *storeID == "" || *csvPath == "" {
				return errors.New("invite takes --store and --csv")
			}
			m, err := mailer()
			if err != nil {
				return fmt.Errorf("invite: %w", err)
			}
			if m == nil {
				return errors.New("invite: no SMTP server: give --smtp-host and --smtp-from (or $NPSCOLLECTOR_SMTP_HOST and $NPSCOLLECTOR_SMTP_FROM)")
			}
			inviter, err := invitations.New(invitations.Config{Service: e.svc, Mailer: m, PublicURL: *publicURL,
				QuietPeriod: time.Duration(quiet), Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			if err != nil {
				return err
			}
			list, err := readList(*csvPath, e.stdin)
			if err != nil {
				return err
			}
			sum, err := inviter.Invite(ctx, invitations.Batch{StoreID: *storeID, Touchpoint: *touchpoint, TTL: *expires, Invitees: list})
			if err != nil {
				return err
			}
			if err := e.out.print(sum, summaryText(sum)); err != nil {
				return err
			}
			if sum.Failed > 0 {
				return fmt.Errorf("%d of %d invitations failed (see above)", sum.Failed, len(sum.Results))
			}
			return nil
		}
	},
}

// readList reads an invitation list from a file, or from stdin for "-".
func readList(path string, stdin io.Reader) ([]invitations.Invitee, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("invitation list: %w", err)
		}
		defer f.Close()
		r = f
	}
	list, err := invitations.ParseCSV(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: the list has a header row and no one to invite", path)
	}
	return list, nil
}

// reasonWords say why an invitee was skipped or failed.
var reasonWords = map[string]string{
	invitations.ReasonQuietPeriod:  "quiet period",
	invitations.ReasonUnsubscribed: "unsubscribed",
	invitations.ReasonDuplicate:    "duplicate in file",
	invitations.ReasonInvalid:      "invalid",
	invitations.ReasonSendFailed:   "not sent",
	invitations.ReasonNotAttempted: "not attempted",
}

// summaryText is a line per invitee, then the counts.
func summaryText(sum invitations.Summary) string {
	var b strings.Builder
	for _, r := range sum.Results {
		fmt.Fprintf(&b, "line %d  %s  %s", r.Line, r.Email, r.Status)
		if r.Reason != "" {
			fmt.Fprintf(&b, ": %s", reasonWords[r.Reason])
		}
		if r.Detail != "" {
			fmt.Fprintf(&b, " (%s)", r.Detail)
		}
		b.WriteByte('\n')
	}
	count := func(reasons ...string) string {
		var parts []string
		for _, reason := range reasons {
			if n := sum.Count(reason); n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", reasonWords[reason], n))
			}
		}
		if len(parts) == 0 {
			return ""
		}
		return " (" + strings.Join(parts, ", ") + ")"
	}
	fmt.Fprintf(&b, "sent %d, skipped %d%s, failed %d%s\n", sum.Sent,
		sum.Skipped, count(invitations.ReasonQuietPeriod, invitations.ReasonUnsubscribed, invitations.ReasonDuplicate),
		sum.Failed, count(invitations.ReasonInvalid, invitations.ReasonSendFailed, invitations.ReasonNotAttempted))
	return b.String()
}

// smtpFlags adds the SMTP server's flags (serve's alerts and invite share them) and
// returns what makes its mailer after parsing: nil without --smtp-host. The password
// comes from $NPSCOLLECTOR_SMTP_PASSWORD, never a flag.
func smtpFlags(fs *flag.FlagSet) func() (*alerts.Mailer, error) {
	var smtp alerts.SMTPConfig
	fs.StringVar(&smtp.Host, "smtp-host", os.Getenv("NPSCOLLECTOR_SMTP_HOST"), "SMTP server for alert e-mails and invitations (default $NPSCOLLECTOR_SMTP_HOST; none: serve's e-mail alerts wait)")
	fs.IntVar(&smtp.Port, "smtp-port", 0, "SMTP port (default: 587 with starttls, 465 with tls, 25 with none)")
	fs.StringVar(&smtp.Security, "smtp-security", "starttls", "starttls, tls, or none for a relay on this host")
	fs.StringVar(&smtp.Username, "smtp-user", os.Getenv("NPSCOLLECTOR_SMTP_USER"), "SMTP user; the password is read from $NPSCOLLECTOR_SMTP_PASSWORD")
	fs.StringVar(&smtp.From, "smtp-from", os.Getenv("NPSCOLLECTOR_SMTP_FROM"), "the sender, e.g. \"Main Street <feedback@example.com>\" (default $NPSCOLLECTOR_SMTP_FROM)")
	return func() (*alerts.Mailer, error) {
		if smtp.Host == "" {
			return nil, nil
		}
		smtp.Password = os.Getenv("NPSCOLLECTOR_SMTP_PASSWORD")
		return alerts.NewMailer(smtp)
	}
}

// days is a duration flag that also takes whole days, such as 90d.
type days time.Duration

func (d *days) String() string {
	if time.Duration(*d)%(24*time.Hour) == 0 {
		return strconv.Itoa(int(time.Duration(*d)/(24*time.Hour))) + "d"
	}
	return time.Duration(*d).String()
}

func (d *days) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v < 1 {
			return fmt.Errorf("%q: give whole days such as 90d, or a duration such as 2160h", s)
		}
		*d = days(time.Duration(v) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("%q: give whole days such as 90d, or a duration such as 2160h", s)
	}
	*d = days(v)
	return nil
}
