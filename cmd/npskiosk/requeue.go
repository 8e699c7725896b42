package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// requeueCmd puts the quarantined responses back in the outbox, for the collector to judge
// again (after its rules changed or the kiosk's clock was fixed). The sync worker does the
// same by itself at start, after a new survey and when the clock is set.
type requeueCmd struct {
	common commonFlags
}

func parseRequeue(args []string, stderr io.Writer) (command, error) {
	fs := flag.NewFlagSet("npskiosk requeue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &requeueCmd{}
	c.common.register(fs)
	if err := c.common.parse(fs, args); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *requeueCmd) run(ctx context.Context, m *Main) error {
	cfg, err := c.common.load()
	if err != nil {
		return err
	}
	db, err := m.openDB(ctx, cfg.DB, newLogger(m.Stderr))
	if err != nil {
		return err
	}
	n, err := db.Requeue(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%d quarantined responses put back in the outbox; the next sync sends them again\n", n)
	return nil
}
