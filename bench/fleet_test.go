package bench

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
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// fleetShape is the load: how many devices, for how long, and how often each uploads and
// sends its heartbeat.
type fleetShape struct {
	devices, stores int
	duration        time.Duration
	uploadEvery     time.Duration // mean; each gap is drawn from [½, 1½] of it
	heartbeatEvery  time.Duration
	// Every stallEvery the staller writes stallBytes to a file beside the collector's
	// database and fsyncs it (diskStaller).
	stallEvery time.Duration
	stallBytes int64
}

var (
	// A kiosk uploads within seconds of each response and sends a heartbeat every five
	// minutes. Here every device uploads every 2 s (a busy till's whole day in minutes)
	// and heartbeats every 30 s: ten times the real heartbeat rate.
	fullFleet = fleetShape{devices: 1000, stores: 100, duration: 5 * time.Minute, uploadEvery: 2 * time.Second, heartbeatEvery: 30 * time.Second,
		stallEvery: 20 * time.Second, stallBytes: 256 << 20}
	// The -short fleet: a tenth of the devices at the full fleet's rates, long enough
	// for three stalls.
	smokeFleet = fleetShape{devices: 100, stores: 10, duration: 30 * time.Second, uploadEvery: 2 * time.Second, heartbeatEvery: 5 * time.Second,
		stallEvery: 10 * time.Second, stallBytes: 128 << 20}
)

// BenchmarkFleet runs a fleet of simulated devices against one npscollector process on
// loopback: each device its own connection, uploading small gzip batches and sending
// heartbeats, with no retries, so every failure counts. Meanwhile a staller makes the
// disk slow every few seconds (diskStaller) and a probe times the disk's own fsyncs. It
// reports throughput, latency beside the same request from one device at a time on the
// idle collector (idleRuns of each), errors, the disk's stalls, and checks the
// collector stored exactly what it accepted. -short runs a tenth of the fleet for 30 s.
func BenchmarkFleet(b *testing.B) {
	shape := fullFleet
	if testing.Short() {
		shape = smokeFleet
	}
	bin := program(b, "npscollector")
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		dbPath := filepath.Join(dir, "collector.db")
		tokens := enrollFleet(b, dbPath, shape)
		url, proc := startCollector(b, bin, dbPath, filepath.Join(dir, "collector.log"))
		b.StartTimer()

		idle, idleBeats := idleRequests(b, url, tokens, idleRuns)
		idle, idleBeats = sortedCopy(idle), sortedCopy(idleBeats)
		cpuBefore := cpuTime([]int{proc.Process.Pid})
		probeCtx, stopProbe := context.WithCancel(context.Background())
		fsyncs := make(chan []time.Duration, 1)
		go func() { fsyncs <- probeFsync(probeCtx, filepath.Join(dir, "fsync-probe")) }()
		stalls := make(chan []stall, 1)
		go func() {
			stalls <- diskStaller(probeCtx, filepath.Join(dir, "disk-stall"), shape.stallEvery, shape.stallBytes)
		}()
		res := runFleet(url, tokens, shape)
		stopProbe()
		disk := sortedCopy(<-fsyncs)
		stalled := <-stalls
		collectorCPU := cpuTime([]int{proc.Process.Pid}) - cpuBefore
		rss, _ := memory([]int{proc.Process.Pid})

		b.StopTimer()
		stopCollector(b, proc)
		if res.errors > 0 {
			b.Errorf("%d errors under load; first: %v", res.errors, res.firstErr)
		}
		// An upload the device gave up on (its timeout) may still have been committed:
		// stored must lie between what was accepted and that plus those.
		stored := countResponses(b, dbPath)
		if want := res.responses + len(idle); stored < want || stored > want+res.unsure {
			b.Errorf("the collector holds %d responses; %d were accepted, and %d more were in uploads that failed", stored, want, res.unsure)
		}
		uploads := sortedCopy(res.uploadLatency)
		beats := sortedCopy(res.heartbeatLatency)
		secs := res.elapsed.Seconds()
		offered := float64(shape.devices) * (1/shape.uploadEvery.Seconds() + 1/shape.heartbeatEvery.Seconds())
		b.ReportMetric(float64(shape.devices), "devices")
		b.ReportMetric(float64(len(uploads)+len(beats))/secs, "req/s")
		b.ReportMetric(offered, "offered-req/s")
		b.ReportMetric(float64(res.responses)/secs, "resp/s")
		b.ReportMetric(ms(percentile(uploads, 0.50)), "upload-p50-ms")
		b.ReportMetric(ms(percentile(uploads, 0.99)), "upload-p99-ms")
		b.ReportMetric(ms(percentile(beats, 0.50)), "heartbeat-p50-ms")
		b.ReportMetric(ms(percentile(beats, 0.99)), "heartbeat-p99-ms")
		b.ReportMetric(ms(percentile(idle, 0.50)), "idle-upload-p50-ms")
		b.ReportMetric(ms(percentile(idle, 0.99)), "idle-upload-p99-ms")
		b.ReportMetric(ms(percentile(idleBeats, 0.50)), "idle-heartbeat-p50-ms")
		b.ReportMetric(ms(percentile(idleBeats, 0.99)), "idle-heartbeat-p99-ms")
		b.ReportMetric(ms(percentile(uploads, 0.95)), "upload-p95-ms")
		b.ReportMetric(ms(percentile(beats, 0.95)), "heartbeat-p95-ms")
		b.ReportMetric(float64(res.errors), "errors")
		b.ReportMetric(ms(percentile(uploads, 1)), "upload-max-ms")
		b.ReportMetric(ms(percentile(disk, 0.50)), "disk-fsync-p50-ms")
		b.ReportMetric(ms(percentile(disk, 0.99)), "disk-fsync-p99-ms")
		b.ReportMetric(ms(percentile(disk, 1)), "disk-fsync-max-ms")
		b.ReportMetric(float64(len(stalled)), "disk-stalls")
		b.ReportMetric(float64(shape.stallBytes)/(1<<20), "disk-stall-MiB")
		b.ReportMetric(ms(percentile(sortedCopy(stallTimes(stalled)), 0.5)), "disk-stall-p50-ms")
		// Where the tail comes from: uploads that overlapped a stall, and the others.
		during, outside := splitByStalls(res.uploadStart, res.uploadLatency, stalled)
		during, outside = sortedCopy(during), sortedCopy(outside)
		b.ReportMetric(float64(len(during)), "uploads-during-stall")
		b.ReportMetric(ms(percentile(during, 0.99)), "upload-p99-during-stall-ms")
		b.ReportMetric(ms(percentile(outside, 0.99)), "upload-p99-outside-stall-ms")
		b.ReportMetric(100*collectorCPU.Seconds()/secs, "collector-cpu-%")
		b.ReportMetric(float64(rss)/(1<<20), "collector-rss-MiB")
		b.StartTimer()
	}
}

// idleRuns is how many uploads, and how many heartbeats, time the idle collector, one
// at a time: enough for a p99 that is not one sample's luck. They go round the fleet's
// devices, so no device exceeds its rate limit's burst.
const idleRuns = 1000

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// enrollFleet makes the stores and devices in the collector's database and returns each
// device's token.
func enrollFleet(b *testing.B, path string, shape fleetShape) []string {
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for s := range shape.stores {
		if err := db.AddStore(ctx, storage.Store{ID: fmt.Sprintf("F%03d", s), Name: "Fleet store", Timezone: "UTC"}); err != nil {
			b.Fatal(err)
		}
	}
	tokens := make([]string, shape.devices)
	for d := range tokens {
		nd, err := db.AddDevice(ctx, fmt.Sprintf("F%03d", d%shape.stores), fmt.Sprintf("Till %d", d), 0)
		if err != nil {
			b.Fatal(err)
		}
		en, err := db.Enroll(ctx, wire.EnrollRequest{Code: nd.Code})
		if err != nil {
			b.Fatal(err)
		}
		tokens[d] = en.Token
	}
	return tokens
}

var listening = regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)

// startCollector runs npscollector serve on a free loopback port and waits for /healthz.
func startCollector(b testing.TB, bin, dbPath, logPath string) (string, *exec.Cmd) {
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { logFile.Close() })
	cmd := exec.Command(bin, "serve", "--db", dbPath, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 100 {
		data, _ := os.ReadFile(logPath)
		if m := listening.FindSubmatch(data); m != nil {
			url := "http://" + string(m[1])
			if resp, err := http.Get(url + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return url, cmd
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	data, _ := os.ReadFile(logPath)
	b.Fatalf("the collector did not start:\n%s", data)
	return "", nil
}

// stopCollector asks the collector to shut down as systemd would, and waits.
func stopCollector(b *testing.B, cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b.Errorf("collector exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		b.Error("the collector did not stop within 15 s of SIGTERM")
	}
}

func countResponses(b *testing.B, path string) int {
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	n, err := db.Export(ctx, storage.Filter{From: "2000-01-01", To: "2100-01-01"}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// probeFsync appends to a file beside the collector's database and fsyncs it ten times a
// second until ctx ends, so the report can tell the disk's own stalls from the collector's.
func probeFsync(ctx context.Context, path string) []time.Duration {
	f, err := os.Create(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lat []time.Duration
	rec := make([]byte, 128)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return lat
		case <-tick.C:
		}
		start := time.Now()
		if _, err := f.Write(rec); err != nil {
			return lat
		}
		if err := f.Sync(); err != nil {
			return lat
		}
		lat = append(lat, time.Since(start))
	}
}

// diskStaller makes the disk slow for the collector until ctx ends: every interval
// (the first after one interval) it writes size bytes of random data to a file beside
// the collector's database, on the same filesystem, fsyncs it and removes it. The page
// cache takes the writes at once; the fsync then pushes them all to the device, and
// every other fsync on the disk (the collector's commits, the probe's) queues behind
// them. It returns when each stall began and ended.
func diskStaller(ctx context.Context, path string, interval time.Duration, size int64) []stall {
	var took []stall
	chunk := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{}).Read(chunk) // random, so no layer below can compress it away
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return took
		case <-tick.C:
		}
		start := time.Now()
		if err := writeAndSync(path, chunk, size); err != nil {
			slog.Error("disk staller", "err", err)
			return took
		}
		took = append(took, stall{start, time.Now()})
		os.Remove(path)
	}
}

// stall is one write + fsync of the staller.
type stall struct{ start, end time.Time }

func stallTimes(stalls []stall) []time.Duration {
	out := make([]time.Duration, len(stalls))
	for i, s := range stalls {
		out[i] = s.end.Sub(s.start)
	}
	return out
}

// splitByStalls parts request latencies into those of requests that overlapped a stall
// and the others.
func splitByStalls(starts []time.Time, lat []time.Duration, stalls []stall) (during, outside []time.Duration) {
	for i, t0 := range starts {
		t1 := t0.Add(lat[i])
		hit := slices.ContainsFunc(stalls, func(s stall) bool { return t0.Before(s.end) && t1.After(s.start) })
		if hit {
			during = append(during, lat[i])
		} else {
			outside = append(outside, lat[i])
		}
	}
	return during, outside
}

func writeAndSync(path string, chunk []byte, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for written := int64(0); written < size; written += int64(len(chunk)) {
		if _, err := f.Write(chunk); err != nil {
			return err
		}
	}
	return f.Sync()
}

// device is one simulated kiosk: its own connection to the collector.
type device struct {
	url, token string
	client     *http.Client
	rng        *rand.Rand
}

func newDevice(url, token string, seed uint64) *device {
	return &device{url: url, token: token, rng: rand.New(rand.NewPCG(seed, 7)),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}
}

// upload sends n new responses in one gzip batch, as the sync worker does.
func (d *device) upload(n int) error {
	now := time.Now()
	rs := make([]wire.Response, n)
	for i := range rs {
		rs[i] = wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: d.rng.IntN(11), Reasons: []string{"staff"},
			Locale: "en", SurveyVersion: 1, CreatedAt: now.Add(-20 * time.Second), CompletedAt: now, Outcome: "submitted"}
	}
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	if err := json.NewEncoder(zw).Encode(wire.UploadRequest{Responses: rs}); err != nil {
		return err
	}
	zw.Close()
	var res wire.UploadResult
	if err := d.post("/v1/responses", &body, true, http.StatusOK, &res); err != nil {
		return err
	}
	if len(res.Accepted) != n {
		return fmt.Errorf("upload: %d of %d accepted: %+v", len(res.Accepted), n, res)
	}
	return nil
}

func (d *device) heartbeat(queue int64) error {
	body, _ := json.Marshal(wire.Heartbeat{AppVersion: "bench", QueueLength: queue, FreeDiskBytes: 8 << 30, DeviceTime: time.Now()})
	return d.post("/v1/heartbeat", bytes.NewReader(body), false, http.StatusNoContent, nil)
}

func (d *device) post(path string, body io.Reader, gzipped bool, want int, out any) error {
	req, err := http.NewRequest(http.MethodPost, d.url+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s: %s", path, resp.Status, msg)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// idleRequests times n one-response uploads and n heartbeats, one request at a time
// with nothing else going on, taking the devices in turn.
func idleRequests(b *testing.B, url string, tokens []string, n int) (uploads, beats []time.Duration) {
	devices := make([]*device, len(tokens))
	for i, token := range tokens {
		devices[i] = newDevice(url, token, uint64(i)+1)
	}
	defer func() {
		for _, d := range devices {
			d.client.CloseIdleConnections()
		}
	}()
	for i := range n {
		d := devices[i%len(devices)]
		start := time.Now()
		if err := d.upload(1); err != nil {
			b.Fatalf("idle upload: %v", err)
		}
		uploads = append(uploads, time.Since(start))
		start = time.Now()
		if err := d.heartbeat(0); err != nil {
			b.Fatalf("idle heartbeat: %v", err)
		}
		beats = append(beats, time.Since(start))
	}
	return uploads, beats
}

type fleetResult struct {
	elapsed                         time.Duration
	uploadLatency, heartbeatLatency []time.Duration
	uploadStart                     []time.Time // beside uploadLatency
	responses, errors               int
	unsure                          int // responses in failed uploads: the collector may hold them
	firstErr                        error
}

// runFleet runs every device until the shape's duration is over. Each device starts at a
// random point of its cycle so the fleet does not beat in step.
func runFleet(url string, tokens []string, shape fleetShape) fleetResult {
	results := make(chan fleetResult, len(tokens))
	start := time.Now()
	deadline := start.Add(shape.duration)
	for i, token := range tokens {
		go func() {
			d := newDevice(url, token, uint64(i)+1)
			jitter := func(mean time.Duration) time.Duration {
				return mean/2 + time.Duration(d.rng.Int64N(int64(mean)))
			}
			var r fleetResult
			nextUpload := start.Add(time.Duration(d.rng.Int64N(int64(shape.uploadEvery))))
			nextBeat := start.Add(time.Duration(d.rng.Int64N(int64(shape.heartbeatEvery))))
			for {
				next := min(nextUpload.UnixNano(), nextBeat.UnixNano())
				if next >= deadline.UnixNano() {
					break
				}
				time.Sleep(time.Until(time.Unix(0, next)))
				t0 := time.Now()
				var err error
				if nextUpload.UnixNano() == next {
					n := 1 + d.rng.IntN(3)
					if err = d.upload(n); err == nil {
						r.uploadLatency = append(r.uploadLatency, time.Since(t0))
						r.uploadStart = append(r.uploadStart, t0)
						r.responses += n
					} else {
						r.unsure += n
					}
					nextUpload = nextUpload.Add(jitter(shape.uploadEvery))
				} else {
					if err = d.heartbeat(0); err == nil {
						r.heartbeatLatency = append(r.heartbeatLatency, time.Since(t0))
					}
					nextBeat = nextBeat.Add(shape.heartbeatEvery)
				}
				if err != nil {
					r.errors++
					if r.firstErr == nil {
						r.firstErr = err
					}
				}
			}
			d.client.CloseIdleConnections()
			results <- r
		}()
	}
	var total fleetResult
	for range tokens {
		r := <-results
		total.uploadLatency = append(total.uploadLatency, r.uploadLatency...)
		total.uploadStart = append(total.uploadStart, r.uploadStart...)
		total.heartbeatLatency = append(total.heartbeatLatency, r.heartbeatLatency...)
		total.responses += r.responses
		total.errors += r.errors
		total.unsure += r.unsure
		if total.firstErr == nil {
			total.firstErr = r.firstErr
		}
	}
	total.elapsed = time.Since(start)
	return total
}
