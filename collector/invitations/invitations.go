// Package invitations is the survey's e-mail channel. It reads invitation lists (a CSV
// file or the API's JSON), writes each invitation in the invitee's language with the
// 0–10 score links in the message itself, sends them through the collector's SMTP
// server, and serves the pages those links open: a score is recorded by a POST only,
// never by the GET a mail scanner makes; then the follow-up, the thanks, and
// unsubscribing (a page, and one-click per RFC 8058).
//
// The rules are the service's (collector): who may be invited (unsubscribes, the quiet
// period) is checked by storage in one transaction; answers go in through the store's
// e-mail link with the domain's checks, under a response id fixed per invitation, so a
// second answer revises the first.
package invitations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// Config wires an Inviter.
type Config struct {
	Service *collector.Service // required
	Mailer  *alerts.Mailer     // required
	// PublicURL is the collector as invitees reach it, such as https://nps.example.com:
	// the links in the e-mails start with it. Required.
	PublicURL string
	// QuietPeriod is how long after an invitation the same address is not invited
	// again, at any store. Zero means collector.DefaultQuietPeriod.
	QuietPeriod time.Duration
	Logger      *slog.Logger // nil means slog.Default()
}

// Inviter sends e-mail invitations.
type Inviter struct {
	svc    *collector.Service
	mailer *alerts.Mailer
	base   string
	quiet  time.Duration
	log    *slog.Logger
	words  map[string]words
}

// CheckPublicURL says why u cannot start the links in an invitation, or returns it
// without a trailing slash.
func CheckPublicURL(u string) (string, error) {
	p, err := url.Parse(u)
	if u == "" || err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" {
		return "", fmt.Errorf("public URL %q: give the collector's address as invitees reach it, such as https://nps.example.com", u)
	}
	return strings.TrimSuffix(u, "/"), nil
}

// New checks the settings.
func New(cfg Config) (*Inviter, error) {
	if cfg.Service == nil || cfg.Mailer == nil {
		return nil, errors.New("invitations: a service and a mailer are required")
	}
	base, err := CheckPublicURL(cfg.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("invitations: %w", err)
	}
	w, err := loadWords()
	if err != nil {
		return nil, err
	}
	iv := &Inviter{svc: cfg.Service, mailer: cfg.Mailer, base: base, quiet: cfg.QuietPeriod, log: cfg.Logger, words: w}
	if iv.quiet <= 0 {
		iv.quiet = collector.DefaultQuietPeriod
	}
	if iv.log == nil {
		iv.log = slog.Default()
	}
	return iv, nil
}

// Limits on a batch.
const (
	MinTTL = time.Hour
	MaxTTL = 90 * 24 * time.Hour
)

// Batch is a list of people to invite to one store's survey.
type Batch struct {
	StoreID    string
	Touchpoint string        // optional, such as delivery
	TTL        time.Duration // how long each invitation takes answers; zero: collector.DefaultInvitationTTL
	Invitees   []Invitee
}

// Statuses of an invitee in a Summary.
const (
	StatusSent    = "sent"
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
)

// Reasons an invitee was skipped or failed.
const (
	ReasonQuietPeriod  = "quiet_period"  // skipped: invited within the quiet period
	ReasonUnsubscribed = "unsubscribed"  // skipped: asked for no more invitations
	ReasonDuplicate    = "duplicate"     // skipped: the same address earlier in the list
	ReasonInvalid      = "invalid"       // failed: the row or item is not a valid invitee
	ReasonSendFailed   = "send_failed"   // failed: the SMTP server did not take it
	ReasonNotAttempted = "not_attempted" // failed: the batch stopped before it
)

// Result is what became of one invitee.
type Result struct {
	Index        int    `json:"index"`          // position in the batch, from 0
	Line         int    `json:"line,omitempty"` // line in the CSV file
	Email        string `json:"email"`
	Status       string `json:"status"`
	Reason       string `json:"reason,omitempty"`
	Detail       string `json:"detail,omitempty"`
	InvitationID string `json:"invitation_id,omitempty"`
}

// Summary is what became of a batch.
type Summary struct {
	Sent    int      `json:"sent"`
	Skipped int      `json:"skipped"`
	Failed  int      `json:"failed"`
	Results []Result `json:"results"`
}

// Count is the number of results with a reason.
func (s Summary) Count(reason string) int {
	n := 0
	for _, r := range s.Results {
		if r.Reason == reason {
			n++
		}
	}
	return n
}

func (s *Summary) add(r Result) {
	switch r.Status {
	case StatusSent:
		s.Sent++
	case StatusSkipped:
		s.Skipped++
	default:
		s.Failed++
	}
	s.Results = append(s.Results, r)
}

// Invite sends a batch of invitations, one by one over one SMTP connection. A bad,
// duplicate, quiet or unsubscribed invitee never stops the others; each one's fate is
// in the summary. The batch stops early (the rest not_attempted) only when ctx ends or
// the SMTP server cannot be reached. The error is for the batch as a whole: an unknown
// store (storage.ErrNotFound) or invalid settings (storage.ErrInvalid).
func (iv *Inviter) Invite(ctx context.Context, b Batch) (Summary, error) {
	sum := Summary{Results: make([]Result, 0, len(b.Invitees))}
	st, err := iv.svc.Store(ctx, b.StoreID)
	if err != nil {
		return sum, fmt.Errorf("invite: %w", err)
	}
	if b.Touchpoint != "" {
		if err := response.CheckLabel("touchpoint", b.Touchpoint); err != nil {
			return sum, fmt.Errorf("invite: %w", err)
		}
	}
	if b.TTL == 0 {
		b.TTL = collector.DefaultInvitationTTL
	}
	if b.TTL < MinTTL || b.TTL > MaxTTL {
		return sum, fmt.Errorf("invite: %w: invitations expire after 1 hour to 90 days, not %s", storage.ErrInvalid, b.TTL)
	}
	loc, err := time.LoadLocation(st.Timezone)
	if err != nil {
		return sum, fmt.Errorf("invite: store %s time zone: %w", st.ID, err)
	}
	survey, err := iv.svc.Survey(ctx, st.ID)
	if err != nil {
		return sum, fmt.Errorf("invite: %w", err)
	}
	session := iv.mailer.Session()
	defer session.Close()
	stop := ""
	for _, sc := range screen(b.Invitees) {
		res, in := sc.Result, sc.in
		if res.Status != "" {
			sum.add(res)
			continue
		}
		if stop == "" && ctx.Err() != nil {
			stop = "stopped before this one: " + ctx.Err().Error()
		}
		if stop != "" {
			res.Status, res.Reason, res.Detail = StatusFailed, ReasonNotAttempted, stop
			sum.add(res)
			continue
		}
		now := iv.svc.Now()
		inv, token, err := iv.svc.AddInvitation(ctx, storage.NewInvitation{StoreID: st.ID, Touchpoint: b.Touchpoint,
			Address: in.Email, Language: in.Language, OrderID: in.OrderID, Segment: in.Segment,
			ExpiresAt: now.Add(b.TTL), QuietSince: now.Add(-iv.quiet)})
		switch {
		case errors.Is(err, storage.ErrUnsubscribed):
			res.Status, res.Reason, res.Detail = StatusSkipped, ReasonUnsubscribed, "the address asked for no more invitations"
		case errors.Is(err, storage.ErrQuietPeriod):
			res.Status, res.Reason, res.Detail = StatusSkipped, ReasonQuietPeriod, strings.TrimPrefix(err.Error(), "add invitation: ")
		case err != nil:
			iv.log.Error("invite", "store", st.ID, "err", err)
			res.Status, res.Reason, res.Detail = StatusFailed, ReasonNotAttempted, err.Error()
		}
		if err != nil {
			sum.add(res)
			continue
		}
		res.InvitationID = inv.ID
		msg, err := message(iv.words, iv.base, in.Email, token, inv, survey, loc)
		if err == nil {
			err = session.Send(ctx, msg)
		}
		if err != nil {
			iv.log.Warn("invitation not sent", "invitation", inv.ID, "store", st.ID, "err", err)
			if merr := iv.svc.MarkInvitationFailed(context.WithoutCancel(ctx), inv.ID, err.Error()); merr != nil {
				iv.log.Error("invite", "invitation", inv.ID, "err", merr)
			}
			res.Status, res.Reason, res.Detail = StatusFailed, ReasonSendFailed, err.Error()
			sum.add(res)
			if errors.Is(err, alerts.ErrUnreachable) {
				stop = "not sent: the SMTP server could not be reached"
			}
			continue
		}
		if err := iv.svc.MarkInvitationSent(context.WithoutCancel(ctx), inv.ID); err != nil {
			iv.log.Error("invite", "invitation", inv.ID, "err", err)
		}
		res.Status = StatusSent
		sum.add(res)
	}
	iv.log.Info("invitations", "store", st.ID, "touchpoint", b.Touchpoint, "sent", sum.Sent, "skipped", sum.Skipped, "failed", sum.Failed)
	return sum, nil
}

// screened is an invitee checked against the rules that need no database: its result
// already set when it is invalid or a duplicate, else its tidied form to invite.
type screened struct {
	Result
	in Invitee
}

// screen checks each invitee (Invitee.Check) and marks an address that came earlier
// in the list, whatever its case or spaces, as a duplicate.
func screen(list []Invitee) []screened {
	out := make([]screened, len(list))
	seen := map[string]int{}
	for i, in := range list {
		sc := screened{Result: Result{Index: i, Line: in.Line, Email: strings.TrimSpace(in.Email)}}
		tidy, err := in.Check()
		switch first, dup := seen[storage.NormalizeEmail(tidy.Email)]; {
		case err != nil:
			sc.Status, sc.Reason, sc.Detail = StatusFailed, ReasonInvalid, strings.TrimPrefix(err.Error(), response.ErrInvalid.Error()+": ")
		case dup:
			sc.Status, sc.Reason, sc.Detail = StatusSkipped, ReasonDuplicate, "the same address as "+where(list[first], first)
		default:
			seen[storage.NormalizeEmail(tidy.Email)] = i
			sc.in = tidy
		}
		out[i] = sc
	}
	return out
}

// where names an invitee's place in its list: its CSV line, or its index.
func where(in Invitee, index int) string {
	if in.Line > 0 {
		return fmt.Sprintf("line %d", in.Line)
	}
	return fmt.Sprintf("item %d", index)
}
