package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/kiosk"
	"github.com/npskiosk/npskiosk/simulate"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("npskiosk simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var common commonFlags
	common.register(fs)
	count := fs.Int("count", 500, "how many responses to add")
	days := fs.Int("days", 30, "spread them over this many past days")
	seed := fs.Uint64("seed", 0, "random seed (0: a new one each run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *count < 1 || *days < 1 {
		return fmt.Errorf("--count and --days must be positive")
	}
	cfg, err := common.load(fs)
	if err != nil {
		return err
	}
	survey, err := loadSurvey(cfg)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, store.Config{Path: cfg.DB, Logger: newLogger(stderr)})
	if err != nil {
		return err
	}
	defer db.Close()
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(*seed, 0x6e7073))
	rs := simulate.Responses(rng, *count, *days, time.Now().In(cfg.Location()), survey)
	for i, r := range rs {
		if err := db.Insert(ctx, r); err != nil {
			return fmt.Errorf("after %d of %d responses: %w", i, len(rs), err)
		}
	}
	fmt.Fprintf(stdout, "added %d simulated responses over %d days to %s\n", len(rs), *days, cfg.DB)
	return nil
}

func runPINHash(stdin io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read PIN: %w", err)
	}
	hash, err := kiosk.HashPIN(strings.TrimSpace(line))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, hash)
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
