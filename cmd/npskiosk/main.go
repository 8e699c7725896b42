// Command npskiosk is the in-store feedback kiosk: the full-screen window shoppers
// answer on, and the subcommands IT uses on the device.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/npskiosk/npskiosk/internal/cleanlocale" // before Fyne reads the locale
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "npskiosk:", err)
		}
		os.Exit(1)
	}
}

const usage = `npskiosk: the in-store feedback kiosk.

Usage:
  npskiosk [flags]              open the kiosk window
  npskiosk enroll --collector URL --code CODE
                                exchange an enrollment code for a device token
  npskiosk sync [--once]        upload the outbox (headless); --once exits 0 only when empty
  npskiosk status [--json]      outbox, collector reachability, quarantined responses
  npskiosk doctor               check config, database, disk, collector, token, clock: OK or what to do
  npskiosk simulate [flags]     add simulated responses (demos, tests)
  npskiosk pin-hash             read a PIN on stdin, print its hash for the config
  npskiosk version              print the version

Run "npskiosk COMMAND -h" for a command's flags.
`

// Run dispatches to a subcommand, or opens the window when there is none.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := ""
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "":
		return runWindow(ctx, args, stderr)
	case "enroll":
		return runEnroll(ctx, args, stdout, stderr)
	case "sync":
		return runSync(ctx, args, stdout, stderr)
	case "status":
		return runStatus(ctx, args, stdout, stderr)
	case "doctor":
		return runDoctor(ctx, args, stdout, stderr)
	case "simulate":
		return runSimulate(ctx, args, stdout, stderr)
	case "pin-hash":
		return runPINHash(stdin, stdout)
	case "version":
		fmt.Fprintln(stdout, "npskiosk", version)
		return nil
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// commonFlags are the flags every command takes.
type commonFlags struct {
	config string
	db     string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", defaultConfigPath, "kiosk config file (TOML)")
	fs.StringVar(&c.db, "db", "", "database file (overrides the config's db)")
}

// load reads the config and applies the --db override.
func (c *commonFlags) load(fs *flag.FlagSet) (Config, error) {
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
	cfg, err := LoadConfig(c.config, explicit)
	if err != nil {
		return Config{}, err
	}
	if c.db != "" {
		cfg.DB = c.db
	}
	return cfg, nil
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
