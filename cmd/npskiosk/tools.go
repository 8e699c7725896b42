package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/internal/secretinput"
	"github.com/npskiosk/npskiosk/simulate"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

type simulateCmd struct {
	common commonFlags
	count  int
	days   int
	seed   uint64
}

func parseSimulate(args []string, stderr io.Writer) (command, error) {
	fs := flag.NewFlagSet("npskiosk simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &simulateCmd{}
	c.common.register(fs)
	fs.IntVar(&c.count, "count", 500, "how many responses to add")
	fs.IntVar(&c.days, "days", 30, "spread them over this many past days")
	fs.Uint64Var(&c.seed, "seed", 0, "random seed (0: a new one each run)")
	if err := c.common.parse(fs, args); err != nil {
		return nil, err
	}
	if c.count < 1 || c.days < 1 {
		return nil, fmt.Errorf("--count and --days must be positive")
	}
	return c, nil
}

func (c *simulateCmd) run(ctx context.Context, m *Main) error {
	cfg, err := c.common.load()
	if err != nil {
		return err
	}
	survey, err := loadSurvey(cfg)
	if err != nil {
		return err
	}
	db, err := m.openDB(ctx, cfg.DB, newLogger(m.Stderr))
	if err != nil {
		return err
	}
	seed := c.seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, 0x6e7073))
	rs := simulate.Responses(rng, c.count, c.days, time.Now().In(cfg.Location()), survey)
	for i, r := range rs {
		if err := db.Insert(ctx, r); err != nil {
			return fmt.Errorf("after %d of %d responses: %w", i, len(rs), err)
		}
	}
	fmt.Fprintf(m.Stdout, "added %d simulated responses over %d days to %s\n", len(rs), c.days, cfg.DB)
	return nil
}

type pinHashCmd struct{}

func (pinHashCmd) run(_ context.Context, m *Main) error {
	fmt.Fprint(m.Stderr, "manager PIN (4 to 12 digits): ")
	line, err := secretinput.ReadLine(m.Stdin, 256)
	fmt.Fprintln(m.Stderr)
	if err != nil {
		return fmt.Errorf("read PIN: %w", err)
	}
	hash, err := devicesettings.HashPIN(strings.TrimSpace(line))
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, hash)
	return nil
}

// rapidTapRule turns the survey's setting into the store's.
func rapidTapRule(s wire.Survey) store.RapidTapRule {
	return store.RapidTapRule{
		MinGapAfterCompletion: time.Duration(s.RapidTap.MinGapSeconds * float64(time.Second)),
		BurstLimit:            s.RapidTap.BurstLimit,
		BurstWindow:           time.Duration(s.RapidTap.BurstWindowSeconds) * time.Second,
	}
}
