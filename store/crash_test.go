package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/response"
)

// crashChildEnv names the database a re-executed test binary records into until killed.
const crashChildEnv = "NPSKIOSK_STORE_CRASH_CHILD_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		os.Exit(recordUntilKilled(path))
	}
	os.Exit(m.Run())
}

// recordUntilKilled is the child side of TestCrashKeepsEveryAcknowledgedTap: it records
// taps in a loop and prints each id the moment Record returns it.
func recordUntilKilled(path string) int {
	ctx := context.Background()
	// Checkpoints after 5 ms of idle and every 8 commits, so that the kills also land
	// while the checkpointer copies the WAL and starts it over.
	db, err := Open(ctx, Config{Path: path, RapidTap: noRapid, Logger: quiet,
		CheckpointIdle: 5 * time.Millisecond, CheckpointEvery: 8})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	for i := 0; ; i++ {
		if i%50 == 49 {
			time.Sleep(10 * time.Millisecond) // idle: an idle checkpoint and the WAL's restart
		}
		rec, err := db.Record(ctx, response.Tap{Score: i % 11, Locale: "en", SurveyVersion: 1})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(rec.ID)
		if i%3 == 0 {
			if err := db.Complete(ctx, rec.ID, response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: "crash test"}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
}

// TestCrashKeepsEveryAcknowledgedTap SIGKILLs a recording process at random moments and
// checks that every id it was handed survived, and that the file stays sound.
func TestCrashKeepsEveryAcknowledgedTap(t *testing.T) {
	kills := 50
	if testing.Short() {
		kills = 10
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	total := 0
	for round := range kills {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		if !lines.Scan() || lines.Text() != "ready" {
			t.Fatalf("round %d: child did not start: %q", round, lines.Text())
		}
		time.AfterFunc(time.Duration(rng.IntN(150)+5)*time.Millisecond, func() {
			cmd.Process.Signal(syscall.SIGKILL)
		})
		var acked []string
		for lines.Scan() {
			acked = append(acked, lines.Text())
		}
		cmd.Wait()
		cancel()

		db, err := Open(context.Background(), Config{Path: path, Logger: quiet})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		if err := db.CheckIntegrity(context.Background()); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, id := range acked {
			if _, err := db.Get(context.Background(), id); err != nil {
				t.Fatalf("round %d: id %s was returned by Record but is gone after SIGKILL: %v", round, id, err)
			}
		}
		db.Close()
		total += len(acked)
	}
	if total == 0 {
		t.Fatal("children acknowledged no taps; the test proved nothing")
	}
	t.Logf("%d kills, %d acknowledged taps, all present", kills, total)
}
