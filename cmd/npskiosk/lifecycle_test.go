package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// mainEnv makes the test binary run main() instead of the tests, so a test can run the
// real program, signals and exit status included, as a child process.
const mainEnv = "NPSKIOSK_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
		return
	}
	// Enroll opens the database; a test that names none must not create one in the
	// user's home (the default path).
	data, err := os.MkdirTemp("", "npskiosk-test-data-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", data)
	code := m.Run()
	os.RemoveAll(data)
	os.Exit(code)
}

// holdingProxy passes requests to the collector, except the hold-th upload
// (POST /v1/responses), which it keeps in flight until the kiosk gives up on it. With
// commit set, the collector gets that upload and commits it first, so only the answer
// is lost; otherwise the collector never sees it.
type holdingProxy struct {
	*httptest.Server
	uploads  atomic.Int64
	served   atomic.Int64  // uploads answered, but the held one
	inFlight chan struct{} // closed when the held upload arrived and the others were answered
	answered chan struct{} // closed when the other uploads were answered
}

func newHoldingProxy(t *testing.T, collectorURL string, hold, others int64, commit bool) *holdingProxy {
	t.Helper()
	target, err := url.Parse(collectorURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &holdingProxy{inFlight: make(chan struct{}), answered: make(chan struct{})}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/responses" {
			rp.ServeHTTP(w, r)
			return
		}
		if n := p.uploads.Add(1); n != hold {
			rp.ServeHTTP(w, r)
			if p.served.Add(1) == others {
				close(p.answered)
			}
			return
		}
		// Reading the whole body lets the server notice when the kiosk hangs up.
		body, _ := io.ReadAll(r.Body)
		var answer []byte
		if commit {
			req, _ := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, collectorURL+r.URL.Path, bytes.NewReader(body))
			req.Header = r.Header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("held upload: %v", err)
				return
			}
			answer, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("held upload: the collector answered %s: %s", resp.Status, answer)
			}
		}
		// The kiosk keeps two uploads in flight, so the others go on beside the held
		// one. Wait for their answers, and give the kiosk a moment to mark them synced,
		// so that the signal comes with every other batch acknowledged.
		select {
		case <-p.answered:
			time.Sleep(300 * time.Millisecond)
		case <-time.After(15 * time.Second):
			t.Errorf("the other %d uploads were not answered in 15 s", others)
		}
		close(p.inFlight)
		select {
		case <-r.Context().Done(): // the kiosk hung up: the answer has nowhere to go
		case <-time.After(15 * time.Second):
			t.Error("the kiosk kept the held upload open for 15 s")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	t.Cleanup(p.Close)
	return p
}

// TestSIGTERMDuringUploadLosesNothing runs "npskiosk sync" as its own process, holds the
// second upload to arrive in flight while the others go through, and sends SIGTERM. The process
// must exit 0 at once, leave a checkpointed, intact database, and every response must be
// either synced locally and held by the collector, or still waiting; a later
// "sync --once" must bring the collector to exactly every response, none twice.
func TestSIGTERMDuringUploadLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the program as a child process")
	}
	// Batches of 500, 500 and 200: the second upload to arrive is held, the other two
	// are answered (two are in flight at once).
	const total, held = 1200, 500
	tests := []struct {
		name          string
		commit        bool  // the collector commits the held batch before the kiosk hangs up
		wantCollector int64 // responses at the collector after SIGTERM
	}{
		{name: "before the collector commits", commit: false, wantCollector: total - held},
		{name: "after the collector committed, answer lost", commit: true, wantCollector: total},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			c := collectortest.Start(t, collectortest.Options{DeviceRate: 1000, DeviceBurst: 1000})
			c.AddStore(t, storage.Store{ID: "S1"})
			en := c.Enroll(t, "S1", "Till 1")
			proxy := newHoldingProxy(t, c.URL, 2, 2, tt.commit)

			dbPath, conf := filepath.Join(dir, "kiosk.db"), filepath.Join(dir, "kiosk.toml")
			writeConfig(t, conf, Config{DB: dbPath, Collector: CollectorConfig{URL: proxy.URL, Token: en.Token, DeviceID: en.DeviceID, StoreID: "S1"}})
			var out, errOut bytes.Buffer
			if err := Run(ctx, []string{"simulate", "--config", conf, "--count", fmt.Sprint(total), "--days", "2", "--seed", "3"}, nil, &out, &errOut); err != nil {
				t.Fatalf("simulate: %v\n%s", err, errOut.String())
			}

			cmd := exec.Command(os.Args[0], "sync", "--config", conf)
			cmd.Env = append(os.Environ(), mainEnv+"=1")
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = io.Discard, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-proxy.inFlight:
			case err := <-exited:
				t.Fatalf("npskiosk sync exited before the second upload: %v\n%s", err, stderr.String())
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("the second upload never came\n%s", stderr.String())
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("npskiosk sync after SIGTERM: %v, want exit status 0\n%s", err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("npskiosk sync still running 10 s after SIGTERM\n%s", stderr.String())
			}
			took := time.Since(start)
			t.Logf("exited %s after SIGTERM", took.Round(time.Millisecond))
			if took > 3*time.Second {
				t.Errorf("npskiosk sync took %s to stop, want well under 3 s", took)
			}

			// Closed cleanly: the WAL was checkpointed into the database, so nothing
			// needs recovering on the next open.
			if st, err := os.Stat(dbPath + "-wal"); err == nil && st.Size() > 0 {
				t.Errorf("%s-wal holds %d bytes after exit; want it checkpointed", dbPath, st.Size())
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			local := localState(t, dbPath)
			atCollector := collectorIDs(t, c)
			if n := c.Count(t, "S1"); n != tt.wantCollector || int64(len(atCollector)) != n {
				t.Errorf("collector holds %d (%d exported), want %d", n, len(atCollector), tt.wantCollector)
			}
			if len(local) != total {
				t.Fatalf("kiosk holds %d responses, want %d", len(local), total)
			}
			var synced, pending int
			for id, state := range local {
				switch state {
				case "synced":
					synced++
					if !atCollector[id] {
						t.Errorf("%s is marked synced but the collector does not hold it", id)
					}
				case "pending":
					pending++
				default:
					t.Errorf("%s is %s, want synced or pending", id, state)
				}
			}
			for id := range atCollector {
				if _, ok := local[id]; !ok {
					t.Errorf("the collector holds %s, which the kiosk never had", id)
				}
			}
			if synced != total-held || pending != held {
				t.Errorf("after SIGTERM: %d synced, %d pending; want the held batch waiting and the rest synced", synced, pending)
			}

			// The next run sends what waits; what the collector already had is a duplicate.
			out.Reset()
			errOut.Reset()
			if err := Run(ctx, []string{"sync", "--once", "--config", conf}, nil, &out, &errOut); err != nil {
				t.Fatalf("sync --once: %v\n%s", err, errOut.String())
			}
			if n := c.Count(t, "S1"); n != total {
				t.Errorf("after sync --once the collector holds %d, want exactly %d", n, total)
			}
			for id, state := range localState(t, dbPath) {
				if state != "synced" {
					t.Errorf("after sync --once %s is %s", id, state)
				}
			}
		})
	}
}

// localState reads every response's outbox state straight from the kiosk's file, after
// checking it with quick_check.
func localState(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA quick_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("quick_check: %q, %v", check, err)
	}
	rows, err := db.Query(`SELECT id, CASE
		WHEN completed_at IS NULL THEN 'open'
		WHEN quarantined_at IS NOT NULL THEN 'quarantined'
		WHEN synced_at IS NOT NULL THEN 'synced'
		ELSE 'pending' END FROM responses`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, state string
		if err := rows.Scan(&id, &state); err != nil {
			t.Fatal(err)
		}
		out[id] = state
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// collectorIDs lists the ids the collector stores, through its CSV export.
func collectorIDs(t *testing.T, c *collectortest.Collector) map[string]bool {
	t.Helper()
	var buf bytes.Buffer
	if _, err := c.DB.Export(context.Background(), storage.Filter{From: "0000-01-01", To: "9999-12-31"}, &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, rec := range recs[1:] {
		if ids[rec[0]] {
			t.Errorf("the collector holds %s twice", rec[0])
		}
		ids[rec[0]] = true
	}
	return ids
}

// writeConfig writes a config file the way enroll does.
func writeConfig(t *testing.T, path string, cfg Config) {
	t.Helper()
	if err := saveConfigFile(path, cfg); err != nil {
		t.Fatal(err)
	}
}
