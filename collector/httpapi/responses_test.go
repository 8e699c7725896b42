package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// Must-show (issue 19), end to end: four kiosks upload over HTTP while an integration
// pages GET /v1/responses by 7 over HTTP, then drains; it reads every accepted response
// exactly once.
func TestResponsesEndpointSeesEveryRowOnceWhileKiosksUpload(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: b, DeviceRate: 10000, DeviceBurst: 10000})
		c.AddStore(t, storage.Store{ID: "S001"})
		c.AddStore(t, storage.Store{ID: "S002"})
		tok, err := c.DB.AddAPIToken(ctx, "warehouse", "", storage.ScopeReadResponses)
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu     sync.Mutex
			stored = map[string]bool{}
			wg     sync.WaitGroup
			errs   = make(chan error, 4)
		)
		for w := range 4 {
			dev := c.Enroll(t, []string{"S001", "S002"}[w%2], "Till")
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 11))
				for range 20 {
					batch := make([]wire.Response, 1+rng.IntN(9))
					for i := range batch {
						batch[i] = collectortest.Response(rng, time.Now().Add(-time.Minute))
					}
					res, err := collectortest.Upload(ctx, c.URL, dev.Token, batch)
					if err == nil && len(res.Accepted) != len(batch) {
						err = errors.New("batch not all accepted")
					}
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					for _, id := range res.Accepted {
						stored[id] = true
					}
					mu.Unlock()
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()

		seen := map[string]int{}
		cursor := ""
		read := func() int {
			req, _ := http.NewRequest(http.MethodGet, c.URL+"/v1/responses?limit=7&cursor="+cursor, nil)
			req.Header.Set("Authorization", "Bearer "+tok.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var page responsesPage
			if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&page) != nil {
				t.Fatalf("GET /v1/responses: %d", resp.StatusCode)
			}
			for _, r := range page.Responses {
				seen[r.ID]++
			}
			cursor = page.NextCursor
			return len(page.Responses)
		}
		for running := true; running; {
			select {
			case <-done:
				running = false
			default:
				if read() == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}
		for deadline := time.Now().Add(30 * time.Second); len(seen) < len(stored) && time.Now().Before(deadline); {
			if read() == 0 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for id := range stored {
			if seen[id] != 1 {
				t.Errorf("%s read %d times", id, seen[id])
			}
		}
		if len(seen) != len(stored) {
			t.Errorf("read %d responses, %d accepted", len(seen), len(stored))
		}
	})
}
