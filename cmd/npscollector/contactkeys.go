package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/contactseal"
)

// contactKeyCommands manage the file of keys kiosks seal shoppers' contacts to. They
// touch no database.
var contactKeyCommands = map[string]command{
	"contact-key create": func(fs *flag.FlagSet) func(context.Context, env) error {
		file := fs.String("file", "", "the key file to create (mode 0600); an existing file is never overwritten")
		return func(_ context.Context, e env) error {
			if *file == "" {
				return errors.New("contact-key create: --file is required")
			}
			k, err := contactseal.CreateKeyFile(*file, time.Now())
			if err != nil {
				return err
			}
			return e.out.print(k, fmt.Sprintf("contact key %s created in %s\n"+
				"Back the file up apart from the database: contacts sealed to a lost key are lost (scores and comments are not).\n"+
				"Start the collector with --contact-keys %s.\n", k.ID, *file, *file))
		}
	},
	"contact-key rotate": func(fs *flag.FlagSet) func(context.Context, env) error {
		file := fs.String("file", "", "the key file to add a new current key to; its older keys stay")
		return func(_ context.Context, e env) error {
			if *file == "" {
				return errors.New("contact-key rotate: --file is required")
			}
			k, err := contactseal.RotateKeyFile(*file, time.Now())
			if err != nil {
				return err
			}
			return e.out.print(k, fmt.Sprintf("contact key %s added to %s and current; the older keys stay, so contacts sealed to them still open.\n"+
				"Restart the collector (sudo systemctl restart npscollector) to hand the new key to kiosks; back the file up again.\n", k.ID, *file))
		}
	},
	"contact-key list": func(fs *flag.FlagSet) func(context.Context, env) error {
		file := fs.String("file", "", "the key file to list")
		return func(_ context.Context, e env) error {
			if *file == "" {
				return errors.New("contact-key list: --file is required")
			}
			keys, err := contactseal.ListKeyFile(*file)
			if err != nil {
				return err
			}
			var b strings.Builder
			for _, k := range keys {
				created := "unknown"
				if !k.Created.IsZero() {
					created = k.Created.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(&b, "%s  created %s", k.ID, created)
				if k.Current {
					b.WriteString("  current")
				}
				b.WriteString("\n")
			}
			return e.out.print(keys, b.String())
		}
	},
}

// offlineCommands run without the collector's database.
var offlineCommands = map[string]bool{"contact-key create": true, "contact-key rotate": true, "contact-key list": true,
	"contacts key-rotate": true}

// loadContactKeys reads serve's --contact-keys file; "" is no keys. A file that is
// missing, unreadable or readable by every user stops serve: a collector that quietly
// ran without its keys would keep every contact sealed.
func loadContactKeys(path string) (*contactseal.Keyring, error) {
	if path == "" {
		return nil, nil
	}
	ring, err := contactseal.LoadKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("--contact-keys %s: no such file: create it with npscollector contact-key create --file %s, or restore it from its backup", path, path)
	}
	if err != nil {
		return nil, fmt.Errorf("--contact-keys: %w", err)
	}
	return ring, nil
}
