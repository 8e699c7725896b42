package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/user"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/collector/contactvault"
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

// contactStoreCommands manage the encryption of the contacts stored: the key file
// (--contact-store-keys) and re-encryption under its current key.
var contactStoreCommands = map[string]command{
	"contacts rekey": func(fs *flag.FlagSet) func(context.Context, env) error {
		batch := fs.Int("batch", 500, "contacts per transaction")
		return func(ctx context.Context, e env) error {
			res, err := e.svc.RekeyContacts(ctx, *batch, func(r storage.RekeyResult) {
				if !e.out.json {
					fmt.Fprintf(e.stderr, "%d contacts read, %d re-encrypted\n", r.Scanned, r.Reencrypted)
				}
			})
			if err != nil {
				return err
			}
			text := fmt.Sprintf("%d contacts read, %d re-encrypted under key %s, %d unreadable\n", res.Scanned, res.Reencrypted, res.Current, res.Unreadable)
			if res.Unreadable == 0 {
				text += "Every stored contact is under the current key: the older keys may go (npscollector contacts key-retire).\n"
			} else {
				text += "Some contacts are under keys the file no longer holds: restore those keys before retiring any.\n"
			}
			return e.out.print(res, text)
		}
	},
	"contacts key-rotate": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(_ context.Context, e env) error {
			id, err := contactvault.Rotate(e.storeKeys, time.Now())
			if err != nil {
				return err
			}
			return e.out.print(map[string]string{"current_key": id, "file": e.storeKeys}, fmt.Sprintf(
				"contact store key %s added to %s and current; the older keys stay, so what they encrypted still opens.\n"+
					"Copy the file to every collector on the database, restart them, then run npscollector contacts rekey.\n", id, e.storeKeys))
		}
	},
	"contacts key-retire": func(fs *flag.FlagSet) func(context.Context, env) error {
		return func(ctx context.Context, e env) error {
			v, err := contactvault.Load(e.storeKeys)
			if err != nil {
				return err
			}
			if n, err := e.svc.ContactsNotUnderKey(ctx, v.Current()); err != nil || n > 0 {
				return errors.Join(err, fmt.Errorf("contacts key-retire: %d stored contacts are not under the current key %s yet: run npscollector contacts rekey first", n, v.Current()))
			}
			removed, err := contactvault.Retire(e.storeKeys)
			if err != nil {
				return err
			}
			return e.out.print(map[string]any{"removed": removed, "file": e.storeKeys}, fmt.Sprintf(
				"removed %d old contact store keys (%s) from %s; run it only after contacts rekey reported none unreadable.\n",
				len(removed), strings.Join(removed, ", "), e.storeKeys))
		}
	},
}
