package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// serveEnv makes the test binary run "npscollector serve" with the arguments in it, so a
// test can kill a real collector process.
const serveEnv = "NPSCOLLECTOR_TEST_SERVE_DB"

func TestMain(m *testing.M) {
	if db := os.Getenv(serveEnv); db != "" {
		ctx, stop := signalContext()
		defer stop()
		err := Run(ctx, []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--allow-loopback-webhooks", "--webhook-lease", "2s"}, os.Stdout, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func signalContext() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background()) // SIGKILL is the point: no handler
}

// startCollector runs a collector process on db and returns its URL.
func startCollector(t *testing.T, db string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+db)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		listening := regexp.MustCompile(`msg="collector listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-addr:
		return cmd, "http://" + a
	case <-time.After(20 * time.Second):
		t.Fatal("the collector did not start")
	}
	return nil, ""
}

// A collector killed with SIGKILL in the middle of a delivery loses no event: after a
// restart every event reaches the receiver, each id at least once, every delivery logged.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	for _, b := range collectortest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			path := b.Path(t)
			ctx := context.Background()
			db, err := storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			svc := collector.New(db)
			if err := db.AddStore(ctx, storage.Store{ID: "S1", Name: "Main Street", Timezone: "Europe/Berlin"}); err != nil {
				t.Fatal(err)
			}
			nd, _ := db.AddDevice(ctx, "S1", "Till 1", 0)
			dev, err := db.Enroll(ctx, wire.EnrollRequest{Code: nd.Code})
			if err != nil {
				t.Fatal(err)
			}

			var (
				mu       sync.Mutex
				got      = map[string]int{}
				inFlight = make(chan struct{}, 100)
			)
			var secret string
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				inFlight <- struct{}{}
				time.Sleep(100 * time.Millisecond) // slow enough to be killed in the middle
				if err := alerts.Verify(secret, r.Header, body, time.Now()); err != nil {
					t.Errorf("receiver: %v", err)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				mu.Lock()
				got[r.Header.Get("webhook-id")]++
				mu.Unlock()
				w.WriteHeader(http.StatusOK)
			}))
			defer rcv.Close()
			sub, err := svc.AddWebhook(ctx, storage.Subscription{ScopeKind: storage.ScopeChain, URL: rcv.URL,
				Events: []string{storage.EventCaseOpened}}, alerts.URLPolicy{AllowLoopbackHTTP: true})
			if err != nil {
				t.Fatal(err)
			}
			secret = sub.Secret

			proc, url := startCollector(t, path)
			const n = 20
			rng := rand.New(rand.NewPCG(6, 6))
			var batch []wire.Response
			for range n {
				r := collectortest.Response(rng, time.Now().Add(-time.Minute))
				r.Score = rng.IntN(7)
				batch = append(batch, r)
			}
			if res, err := collectortest.Upload(ctx, url, dev.Token, batch); err != nil || len(res.Accepted) != n {
				t.Fatalf("upload: %+v, %v", res, err)
			}
			for range 3 { // three deliveries started: kill the collector inside the third
				select {
				case <-inFlight:
				case <-time.After(20 * time.Second):
					t.Fatal("no delivery started")
				}
			}
			if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			proc.Wait()
			mu.Lock()
			before := len(got)
			mu.Unlock()
			if before >= n {
				t.Fatalf("all %d events were delivered before the kill; the test proves nothing", before)
			}

			startCollector(t, path)
			deadline := time.Now().Add(60 * time.Second)
			for {
				mu.Lock()
				distinct := len(got)
				mu.Unlock()
				if distinct == n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d events arrived after the restart", distinct, n)
				}
				time.Sleep(50 * time.Millisecond)
			}
			log, err := db.DeliveryLog(ctx, 100)
			if err != nil || len(log) != n {
				t.Fatalf("delivery log: %d lines, %v", len(log), err)
			}
			deadline = time.Now().Add(10 * time.Second)
			for _, l := range log {
				for l.Status != "delivered" && time.Now().Before(deadline) { // the last ack may still be on its way
					time.Sleep(50 * time.Millisecond)
					log, _ = db.DeliveryLog(ctx, 100)
					for _, m := range log {
						if m.ID == l.ID {
							l = m
						}
					}
				}
				if l.Status != "delivered" {
					t.Errorf("delivery %d after the restart: %+v", l.ID, l)
				}
			}
			t.Logf("%d events delivered before the kill, all %d after the restart", before, n)
		})
	}
}
