package websurvey_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/websurvey"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// BenchmarkWebSurvey measures the web survey's score posts over loopback HTTP, as
// phones send them (16 at once, each the form of a score page loaded before, untimed: a
// post that looks its answer up, stores one response durably and answers 303 to the
// follow-up), against the kiosks' batch ingest of as many responses
// to the same store (gzip batches of 500, one per device, all at once), on each
// backend. Each iteration runs both twice on fresh collectors, in the order web, kiosk,
// kiosk, web, so that neither side always goes first on a disk that is warming up.
func BenchmarkWebSurvey(b *testing.B) {
	n, phones := 4000, 16
	if testing.Short() { // make test: a quick pass so the benchmark does not rot
		n, phones = 200, 4
	}
	for _, be := range collectortest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			var (
				webTime, kioskTime time.Duration
				webLat, kioskLat   []time.Duration
				i                  int
			)
			web := func() {
				b.StopTimer()
				e := benchCollector(b, be)
				s, err := websurvey.New(websurvey.Config{Service: e.c.Service, Logger: e.log,
					ClientRate: 1e9, ClientBurst: 1e9, LinkRate: 1e9, LinkBurst: 1e9, NetworkRepeats: 1e9})
				if err != nil {
					b.Fatal(err)
				}
				s.Register(e.c.API)
				link, err := e.c.DB.AddLink(context.Background(), storage.NewLink{StoreID: "S001", Channel: "qr", Touchpoint: "checkout"})
				if err != nil {
					b.Fatal(err)
				}
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: phones},
					CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				// Each phone loaded its score page first (untimed): its form names the answer.
				answers := make([]string, n)
				postConcurrently(b, phones, n, func(j int) (err error) {
					answers[j], err = loadAnswerID(client, e.c.URL+"/s/"+link.Code)
					return err
				})
				rng := rand.New(rand.NewPCG(uint64(i), 1))
				bodies := make([]string, n)
				for j := range bodies {
					bodies[j] = url.Values{"score": {fmt.Sprint(rng.IntN(11))}, "lang": {"en"}, "website": {""}, "a": {answers[j]}}.Encode()
				}
				b.StartTimer()
				elapsed, lat := postConcurrently(b, phones, n, func(j int) error {
					return postScore(client, e.c.URL+"/s/"+link.Code, bodies[j])
				})
				b.StopTimer()
				e.expect(b, n)
				e.c.Close()
				webTime += elapsed
				webLat = append(webLat, lat...)
				b.StartTimer()
			}
			kiosk := func() {
				b.StopTimer()
				e := benchCollector(b, be)
				batch := min(n, wire.MaxBatchItems)
				devices := n / batch
				tokens := make([]string, devices)
				for d := range tokens {
					tokens[d] = e.c.Enroll(b, "S001", fmt.Sprintf("Till %d", d+1)).Token
				}
				rng := rand.New(rand.NewPCG(uint64(i), 2))
				bodies := make([][]byte, devices)
				for d := range bodies {
					var rs []wire.Response
					for range batch {
						rs = append(rs, collectortest.Response(rng, time.Now().Add(-time.Minute)))
					}
					var buf bytes.Buffer
					zw := gzip.NewWriter(&buf)
					json.NewEncoder(zw).Encode(wire.UploadRequest{Responses: rs})
					zw.Close()
					bodies[d] = buf.Bytes()
				}
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: devices}}
				b.StartTimer()
				elapsed, lat := postConcurrently(b, devices, devices, func(d int) error {
					return postBatch(client, e.c.URL, tokens[d], bodies[d], batch)
				})
				b.StopTimer()
				e.expect(b, devices*batch)
				e.c.Close()
				kioskTime += elapsed
				kioskLat = append(kioskLat, lat...)
				b.StartTimer()
			}
			for b.Loop() {
				web()
				kiosk()
				i++
				kiosk()
				web()
				i++
			}
			total := float64(n * i)
			b.ReportMetric(total/webTime.Seconds(), "resp/s-web")
			b.ReportMetric(total/kioskTime.Seconds(), "resp/s-kiosk")
			b.ReportMetric(kioskTime.Seconds()/webTime.Seconds(), "web/kiosk-ratio")
			b.ReportMetric(ms(percentile(webLat, 50)), "web-p50-ms")
			b.ReportMetric(ms(percentile(webLat, 99)), "web-p99-ms")
			b.ReportMetric(ms(percentile(kioskLat, 50)), "kiosk-batch-p50-ms")
			b.ReportMetric(ms(percentile(kioskLat, 99)), "kiosk-batch-p99-ms")
		})
	}
}

type benchEnv struct {
	c   *collectortest.Collector
	log *slog.Logger
}

func benchCollector(b *testing.B, be collectortest.Backend) benchEnv {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	c := collectortest.Start(b, collectortest.Options{Backend: be, Logger: log, DeviceRate: 1e6, DeviceBurst: 1e6})
	c.AddStore(b, storage.Store{ID: "S001", Name: "Main Street", Timezone: "Europe/Berlin"})
	return benchEnv{c: c, log: log}
}

// expect fails the benchmark unless the store holds exactly n responses.
func (e benchEnv) expect(b *testing.B, n int) {
	if got := e.c.Count(b, "S001"); got != int64(n) {
		b.Fatalf("%d responses stored, want %d", got, n)
	}
}

// postConcurrently runs post(0…n-1) from workers at once and returns the wall time and
// each post's latency.
func postConcurrently(b *testing.B, workers, n int, post func(int) error) (time.Duration, []time.Duration) {
	lat := make([]time.Duration, n)
	errs := make(chan error, workers)
	next := make(chan int, n)
	for j := range n {
		next <- j
	}
	close(next)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for j := range next {
				t := time.Now()
				if err := post(j); err != nil {
					errs <- err
					return
				}
				lat[j] = time.Since(t)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return elapsed, lat
}

// loadAnswerID loads a score page and returns the answer id its form carries.
func loadAnswerID(client *http.Client, page string) (string, error) {
	resp, err := client.Get(page)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	m := answerField.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("score page: %s, no answer id", resp.Status)
	}
	return string(m[1]), nil
}

func postScore(client *http.Client, target, body string) error {
	resp, err := client.Post(target, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("score post: %s", resp.Status)
	}
	return nil
}

func postBatch(client *http.Client, base, token string, body []byte, want int) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/responses", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var res wire.UploadResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 || len(res.Accepted) != want {
		return fmt.Errorf("upload: %s, %d accepted (%v)", resp.Status, len(res.Accepted), err)
	}
	return nil
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
