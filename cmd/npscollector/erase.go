package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/user"
	"strings"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// eraseCommands carry out a person's right to erasure.
var eraseCommands = map[string]command{
	"erase": func(fs *flag.FlagSet) func(context.Context, env) error {
		contact := fs.String("contact", "", "the person's e-mail address or phone number, written any way")
		dryRun := fs.Bool("dry-run", false, "print what would change, change nothing")
		return func(ctx context.Context, e env) error {
			if *contact == "" {
				return errors.New("erase: --contact is required")
			}
			er, err := e.svc.EraseContact(ctx, storage.ErasureRequest{Contact: *contact, Actor: cliActor(), DryRun: *dryRun})
			if err != nil {
				return err
			}
			return e.out.print(er, erasureText(er))
		}
	},
}

// cliActor names who ran a command, for audit records: the operating system's user.
func cliActor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return "cli:" + name
}

func erasureText(er storage.Erasure) string {
	var b strings.Builder
	verb := "changed"
	if er.DryRun {
		verb = "would change (dry run, nothing changed)"
	}
	fmt.Fprintf(&b, "erasure %s:\n", verb)
	for _, k := range storage.ErasureTables {
		fmt.Fprintf(&b, "  %-16s %d\n", k, er.Changed[k])
	}
	if er.AuditID != "" {
		fmt.Fprintf(&b, "audit record %s (a keyed hash of the contact, not the contact)\n", er.AuditID)
	}
	return b.String()
}
