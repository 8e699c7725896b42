package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/sync/wire"
)

const (
	benchDevices   = 200
	benchStores    = 20
	benchBatches   = 5  // per device
	benchBatchSize = 50 // responses per batch
)

// BenchmarkIngest measures responses/s from 200 devices posting gzip batches of 50 at once
// over loopback HTTP, and beside it, interleaved round by round in the same database, the
// raw batched-insert rate of the same responses (fresh ids) in the same batches of 50,
// each its own transaction as each upload is, for each backend.
func BenchmarkIngest(b *testing.B) {
	for _, be := range collectortest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			var httpElapsed, rawElapsed time.Duration
			runs := 0
			for b.Loop() {
				b.StopTimer()
				ctx := context.Background()
				c := collectortest.Start(b, collectortest.Options{Backend: be,
					Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
					DeviceRate: 1e6, DeviceBurst: 1e6})
				db := c.DB
				devices := enrollBenchDevices(b, c)
				tokens := make([]string, len(devices))
				for d, e := range devices {
					tokens[d] = e.Token
				}
				bodies := deviceBodies(b)
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchDevices}}
				// Round k is every device's k-th batch, over HTTP and raw, the two in
				// alternating order: a busy neighbour on the machine slows both alike.
				for k := range benchBatches {
					round := make([][][]byte, benchDevices)
					for d := range round {
						round[d] = bodies[d][k : k+1]
					}
					postRound := func() {
						b.StartTimer()
						httpElapsed += postAll(b, client, c.URL, tokens, round)
						b.StopTimer()
					}
					if (k+runs)%2 == 0 {
						postRound()
						rawElapsed += rawInsert(b, db, devices, round)
					} else {
						rawElapsed += rawInsert(b, db, devices, round)
						postRound()
					}
				}
				runs++
				total := 2 * benchDevices * benchBatches * benchBatchSize
				var n int64
				db.RawQueryRow(ctx, `SELECT COUNT(*) FROM responses`).Scan(&n)
				if n != int64(total) {
					b.Fatalf("%d rows stored, want %d", n, total)
				}
				c.Close()
				b.StartTimer()
			}
			total := float64(runs * benchDevices * benchBatches * benchBatchSize)
			b.ReportMetric(total/httpElapsed.Seconds(), "resp/s-http")
			b.ReportMetric(total/rawElapsed.Seconds(), "resp/s-raw")
			b.ReportMetric(rawElapsed.Seconds()/httpElapsed.Seconds(), "http/raw-ratio")
		})
	}
}

// postAll has every device post its batches at once, and returns how long they took.
func postAll(b *testing.B, client *http.Client, url string, tokens []string, bodies [][][]byte) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, benchDevices)
	for d := range benchDevices {
		wg.Go(func() {
			for _, body := range bodies[d] {
				if err := post(client, url, tokens[d], body); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return elapsed
}

// BenchmarkIngestCaseCost is what opening follow-up cases at ingest costs: the same
// 50,000 responses (uniform scores, so 64 % detractors, each opening a case and queueing
// its case.opened event) posted as in BenchmarkIngest to a collector with the default
// follow-up rule and to one whose rule opens no case, in alternating order in each
// iteration. Both sides validate, insert and roll up the same rows durably; only the
// cases, their history and their events differ.
func BenchmarkIngestCaseCost(b *testing.B) {
	for _, be := range collectortest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			bodies := deviceBodies(b)
			if testing.Short() { // make test: one batch a device, so it stays quick
				for d := range bodies {
					bodies[d] = bodies[d][:1]
				}
			}
			total := 0
			for _, bs := range bodies {
				total += len(bs) * benchBatchSize
			}
			var withCases, without time.Duration
			i := 0
			for b.Loop() {
				run := func(cases bool) time.Duration {
					b.StopTimer()
					c := collectortest.Start(b, collectortest.Options{Backend: be,
						Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
						DeviceRate: 1e6, DeviceBurst: 1e6})
					defer c.Close()
					if !cases {
						if err := c.DB.SetFollowUpRule(context.Background(), "", followup.Rule{Channels: []string{"none"}}); err != nil {
							b.Fatal(err)
						}
					}
					tokens := enrollDevices(b, c)
					client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchDevices}}
					b.StartTimer()
					elapsed := postAll(b, client, c.URL, tokens, bodies)
					b.StopTimer()
					opened, err := c.DB.Cases(context.Background(), storage.CaseFilter{Limit: 1})
					if err != nil || (len(opened) > 0) != cases {
						b.Fatalf("cases=%v: %d cases opened (%v)", cases, len(opened), err)
					}
					b.StartTimer()
					return elapsed
				}
				if i%2 == 0 {
					without += run(false)
					withCases += run(true)
				} else {
					withCases += run(true)
					without += run(false)
				}
				i++
			}
			b.ReportMetric(float64(total*i)/without.Seconds(), "resp/s-nocases")
			b.ReportMetric(float64(total*i)/withCases.Seconds(), "resp/s-cases")
			b.ReportMetric(without.Seconds()/withCases.Seconds(), "cases/nocases-ratio")
		})
	}
}

func enrollDevices(b *testing.B, c *collectortest.Collector) []string {
	devices := enrollBenchDevices(b, c)
	tokens := make([]string, len(devices))
	for d, e := range devices {
		tokens[d] = e.Token
	}
	return tokens
}

func enrollBenchDevices(b *testing.B, c *collectortest.Collector) []wire.EnrollResponse {
	for s := range benchStores {
		c.AddStore(b, storage.Store{ID: fmt.Sprintf("S%03d", s), Name: "Store", Timezone: "Europe/Berlin"})
	}
	devices := make([]wire.EnrollResponse, benchDevices)
	for d := range benchDevices {
		devices[d] = c.Enroll(b, fmt.Sprintf("S%03d", d%benchStores), fmt.Sprintf("Till %d", d))
	}
	return devices
}

// deviceBodies makes each device's gzip batches ahead of time.
func deviceBodies(b *testing.B) [][][]byte {
	rng := rand.New(rand.NewPCG(1, 1))
	now := time.Now()
	out := make([][][]byte, benchDevices)
	for d := range out {
		for range benchBatches {
			var rs []wire.Response
			for range benchBatchSize {
				rs = append(rs, collectortest.Response(rng, now.Add(-time.Duration(rng.IntN(7*24*60))*time.Minute)))
			}
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			json.NewEncoder(zw).Encode(wire.UploadRequest{Responses: rs})
			zw.Close()
			out[d] = append(out[d], buf.Bytes())
		}
	}
	return out
}

func post(client *http.Client, url, token string, body []byte) error {
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/responses", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var res wire.UploadResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 || len(res.Accepted) != benchBatchSize {
		return fmt.Errorf("upload: %s, %d accepted (%v)", resp.Status, len(res.Accepted), err)
	}
	return nil
}

const rawSeqBase = 1 << 40

// rawInsert is the floor: the responses of bodies (each device's, with fresh ids) in
// one multi-row INSERT and one transaction per batch, as an upload's batch is stored, one
// batch after another on one connection; no HTTP, no validation, no rollups. Each row
// gets a received-order position: on SQLite a number counted here (ingest reserves a
// batch's in one UPDATE), on PostgreSQL the columns' defaults.
func rawInsert(b *testing.B, db *storage.DB, devices []wire.EnrollResponse, bodies [][][]byte) time.Duration {
	ctx := context.Background()
	sqlite := db.Dialect() == "sqlite"
	var batches [][]any
	rows := make([]int, 0, len(bodies))
	for d, bs := range bodies {
		for _, body := range bs {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			var up wire.UploadRequest
			if err := json.NewDecoder(zr).Decode(&up); err != nil {
				b.Fatal(err)
			}
			var args []any
			for _, r := range up.Responses {
				reasons, _ := json.Marshal(r.Reasons)
				args = append(args, uuid.Must(uuid.NewV7()).String(), devices[d].StoreID, devices[d].DeviceID, "kiosk",
					r.Score, string(reasons), r.Comment, r.Contact, r.ContactConsent, r.Locale, r.SurveyVersion,
					r.CreatedAt.UnixMilli(), r.CompletedAt.UnixMilli(), string(r.Outcome), r.Suspect,
					r.CreatedAt.Format(time.DateOnly), r.ContentHash(), time.Now().UnixMilli())
			}
			batches = append(batches, args)
			rows = append(rows, len(up.Responses))
		}
	}
	// Raw rows take positions from rawSeqBase on, far above ingest's, which alternate
	// with them: one statement a batch, as if reserved, without taking ingest's.
	var seq int64
	if err := db.RawQueryRow(ctx, `SELECT COALESCE(MAX(seq), ?) FROM responses WHERE seq >= ?`, rawSeqBase, rawSeqBase).Scan(&seq); err != nil {
		b.Fatal(err)
	}
	row, seqColumn := `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ""
	if sqlite {
		row, seqColumn = strings.TrimSuffix(row, ")")+", ?)", ", seq"
	}
	start := time.Now()
	for i, args := range batches {
		if sqlite {
			// The positions are counted as the rows are written, as ingest's are.
			const cols = 18
			withSeq := make([]any, 0, len(args)+rows[i])
			for j := 0; j < len(args); j += cols {
				seq++
				withSeq = append(withSeq, args[j:j+cols]...)
				withSeq = append(withSeq, seq)
			}
			args = withSeq
		}
		_, err := db.RawExec(ctx, `
			INSERT INTO responses (id, store_id, device_id, channel, score, reasons, comment, contact, contact_consent,
			                       locale, survey_version, created_at, completed_at, outcome, suspect, day,
			                       content_hash, received_at`+seqColumn+`)
			VALUES `+strings.TrimSuffix(strings.Repeat(row+",", rows[i]), ","), args...)
		if err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}
