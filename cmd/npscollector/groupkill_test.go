package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// TestIngestSurvivesSIGKILLDuringGroupCommit: kiosks upload at once to a collector
// process, whose writer is group-committing their batches, and the process is killed
// with SIGKILL in the middle. After a restart, every response whose upload was
// acknowledged is stored exactly once and counted once; an upload cut off by the kill
// is retried, as a kiosk does, and stores nothing twice.
func TestIngestSurvivesSIGKILLDuringGroupCommit(t *testing.T) {
	for _, b := range collectortest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			path := b.Path(t)
			ctx := context.Background()
			db, err := storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			const kiosks = 16
			var tokens []string
			for k := range kiosks {
				store := fmt.Sprintf("S%d", k%4)
				if k < 4 {
					if err := db.AddStore(ctx, storage.Store{ID: store, Name: store, Timezone: "Europe/Berlin"}); err != nil {
						t.Fatal(err)
					}
				}
				nd, err := db.AddDevice(ctx, store, fmt.Sprintf("Till %d", k), 0)
				if err != nil {
					t.Fatal(err)
				}
				dev, err := db.Enroll(ctx, wire.EnrollRequest{Code: nd.Code})
				if err != nil {
					t.Fatal(err)
				}
				tokens = append(tokens, dev.Token)
			}

			proc, url := startCollector(t, path)
			var (
				mu        sync.Mutex
				acked     = map[string]bool{} // acknowledged as accepted or duplicate
				pending   = make([][]wire.Response, kiosks)
				uploads   atomic.Int64
				wg        sync.WaitGroup
				killed    = make(chan struct{})
				started   = time.Now()
				uploadCtx = context.Background()
			)
			for k := range kiosks {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(k), 9))
					for {
						batch := make([]wire.Response, 20)
						for i := range batch {
							batch[i] = collectortest.Response(rng, started.Add(-time.Minute))
						}
						res, err := collectortest.Upload(uploadCtx, url, tokens[k], batch)
						if err != nil {
							// Killed (or about to be): this batch is unacknowledged, to be
							// retried after the restart.
							pending[k] = batch
							return
						}
						if len(res.Accepted) != len(batch) {
							t.Errorf("kiosk %d: %+v", k, res)
							return
						}
						mu.Lock()
						for _, id := range res.Accepted {
							acked[id] = true
						}
						mu.Unlock()
						uploads.Add(1)
						select {
						case <-killed:
							return
						default:
						}
					}
				})
			}
			for uploads.Load() < 100 {
				time.Sleep(time.Millisecond)
			}
			if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			close(killed)
			proc.Wait()
			wg.Wait()
			mu.Lock()
			before := len(acked)
			mu.Unlock()

			_, url = startCollector(t, path)
			retried := 0
			for k, batch := range pending {
				if batch == nil {
					continue
				}
				retried++
				res, err := collectortest.Upload(ctx, url, tokens[k], batch)
				if err != nil || len(res.Accepted)+len(res.Duplicate) != len(batch) {
					t.Fatalf("retry of kiosk %d: %+v, %v", k, res, err)
				}
				for _, id := range append(res.Accepted, res.Duplicate...) {
					acked[id] = true
				}
			}
			var rows, distinct, rolled int64
			if err := db.RawQueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT id) FROM responses`).Scan(&rows, &distinct); err != nil {
				t.Fatal(err)
			}
			if err := db.RawQueryRow(ctx, `SELECT CAST(COALESCE(SUM(promoters + passives + detractors + suspect), 0) AS BIGINT) FROM daily_rollups`).Scan(&rolled); err != nil {
				t.Fatal(err)
			}
			if rows != int64(len(acked)) || distinct != rows || rolled != rows {
				t.Fatalf("%d acknowledged, %d rows (%d distinct), %d in the rollups", len(acked), rows, distinct, rolled)
			}
			for id := range acked {
				var n int
				if err := db.RawQueryRow(ctx, `SELECT COUNT(*) FROM responses WHERE id = ?`, id).Scan(&n); err != nil || n != 1 {
					t.Fatalf("acknowledged response %s stored %d times (%v)", id, n, err)
				}
			}
			t.Logf("%d responses acknowledged before the kill, %d uploads cut off and retried", before, retried)
		})
	}
}
