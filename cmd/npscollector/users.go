package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/internal/secretinput"
)

// userCommands manage the people who sign in to the dashboard.
var userCommands = map[string]command{
	"user add": func(fs *flag.FlagSet) func(context.Context, env) error {
		email := fs.String("email", "", "the address the person signs in with (required)")
		name := fs.String("name", "", "the person's name, as case histories show it (required)")
		lang := fs.String("lang", "en", "language: "+strings.Join(storage.UserLanguages, ", "))
		storeID := fs.String("store", "", "limit the user to one store")
		region := fs.String("region", "", "limit the user to one region's stores")
		passwordFile := fs.String("password-file", "", "read the first password from this file (default: ask on stdin)")
		contacts := fs.Bool("contacts", true, "the user may see shoppers' contact details (--contacts=false: shown as hidden)")
		alerts := fs.String("alerts", strings.Join(storage.DefaultUserAlerts, ","),
			"events e-mailed to them about what they see, comma-separated, or none: "+strings.Join(storage.UserAlertEvents, ", "))
		return func(ctx context.Context, e env) error {
			nu := storage.NewUser{Email: *email, Name: *name, Language: *lang, ScopeKind: storage.UserScopeChain, NoContacts: !*contacts,
				Alerts: alertList(*alerts)}
			switch {
			case *storeID != "" && *region != "":
				return errors.New("give --store or --region, not both")
			case *storeID != "":
				nu.ScopeKind, nu.Scope = storage.UserScopeStore, *storeID
			case *region != "":
				nu.ScopeKind, nu.Scope = storage.UserScopeRegion, *region
			}
			var err error
			if nu.Password, err = readPassword(*passwordFile, e.stdin, e.stderr); err != nil {
				return err
			}
			u, err := e.svc.AddUser(ctx, nu)
			if err != nil {
				return err
			}
			return e.out.print(u, fmt.Sprintf("added user %s (%s), %s; they sign in to the dashboard with their e-mail and password; e-mailed: %s\n",
				u.Email, u.Name, userScope(u), alertWords(u.Alerts)))
		}
	},
	"user list": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			us, err := e.svc.Users(ctx)
			if err != nil || e.out.json {
				return errors.Join(err, e.out.print(us, ""))
			}
			tw := tabwriter.NewWriter(e.out.w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tNAME\tLANG\tSCOPE\tE-MAILED\tSTATE")
			for _, u := range us {
				state := "active"
				if u.Disabled() {
					state = "disabled " + u.DisabledAt.Format(time.DateOnly)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Email, u.Name, u.Language, userScope(u), alertWords(u.Alerts), state)
			}
			return tw.Flush()
		}
	},
	"user alerts": func(fs *flag.FlagSet) func(context.Context, env) error {
		events := fs.String("events", "", "events e-mailed to them, comma-separated, or none (required): "+strings.Join(storage.UserAlertEvents, ", "))
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 || *events == "" {
				return errors.New("user alerts takes --events and one e-mail address")
			}
			u, err := e.svc.UserByEmail(ctx, e.args[0])
			if err != nil {
				return err
			}
			list := alertList(*events)
			if err := e.svc.SetUserAlerts(ctx, u.ID, list); err != nil {
				return err
			}
			return e.out.print(map[string]any{"user": u.Email, "alerts": list},
				fmt.Sprintf("%s is e-mailed: %s\n", u.Email, alertWords(list)))
		}
	},
	"user contacts": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			if len(e.args) != 2 || (e.args[1] != "on" && e.args[1] != "off") {
				return errors.New("user contacts takes an e-mail address and on or off")
			}
			u, err := e.svc.SetUserContacts(ctx, e.args[0], e.args[1] == "on")
			if err != nil {
				return err
			}
			may := "may no longer"
			if u.Contacts {
				may = "may"
			}
			return e.out.print(u, fmt.Sprintf("%s %s see shoppers' contact details, from their next page\n", u.Email, may))
		}
	},
	"user disable": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			if len(e.args) != 1 {
				return errors.New("user disable takes one e-mail address")
			}
			if err := e.svc.DisableUser(ctx, e.args[0]); err != nil {
				return err
			}
			return e.out.print(map[string]string{"disabled": storage.NormalizeEmail(e.args[0])},
				"disabled user "+storage.NormalizeEmail(e.args[0])+"; their sessions have ended\n")
		}
	},
}

// alertList reads a comma-separated list of events; "none" or nothing is none.
func alertList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" && e != "none" {
			out = append(out, e)
		}
	}
	return out
}

// alertWords lists the events a person receives, or says none.
func alertWords(events []string) string {
	if len(events) == 0 {
		return "none"
	}
	return strings.Join(events, ",")
}

// userScope says what a user may see, in words.
func userScope(u storage.User) string {
	switch u.ScopeKind {
	case storage.UserScopeStore:
		return "store " + u.Scope
	case storage.UserScopeRegion:
		return "region " + u.Scope
	}
	return "every store"
}

// readPassword reads a new user's password from a file, or else from stdin after a
// prompt on stderr, not shown as it is typed at a terminal. It is never printed.
func readPassword(file string, stdin io.Reader, stderr io.Writer) (string, error) {
	var text string
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read password file: %w", err)
		}
		text = string(b)
	} else {
		fmt.Fprintf(stderr, "password for the new user (at least %d characters): ", storage.MinPasswordLength)
		line, err := secretinput.ReadLine(stdin, 4096)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		text = line
	}
	// Only the line ending goes: spaces inside and around a passphrase are kept.
	text, _, _ = strings.Cut(text, "\n")
	text = strings.TrimSuffix(text, "\r")
	if err := storage.CheckPassword(text); err != nil {
		return "", err
	}
	return text, nil
}
