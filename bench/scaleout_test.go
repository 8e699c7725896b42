package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to check the counts in SQL

	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// scaleShape is the load of a scale-out run: kiosks uploading through the load balancer
// and shoppers answering survey links on their phones.
type scaleShape struct {
	collectors      int
	devices, stores int
	web             int // shoppers answering at once, each a new answer every webEvery
	duration        time.Duration
	uploadEvery     time.Duration // mean gap between a kiosk's uploads
	webEvery        time.Duration
	heartbeatEvery  time.Duration
	// chaos kills one collector with SIGKILL a third of the way in (and starts it again
	// as systemd would), and restarts another with SIGTERM two thirds in (a rolling
	// upgrade's step), checking its /readyz fails while it drains.
	chaos bool
}

var (
	// The test in make test: small, about a minute.
	smallScale = scaleShape{collectors: 3, devices: 50, stores: 10, web: 10, duration: 30 * time.Second,
		uploadEvery: time.Second, webEvery: 2 * time.Second, heartbeatEvery: 5 * time.Second, chaos: true}
	// make bench: the 500-device fleet.
	fullScale = scaleShape{collectors: 3, devices: 500, stores: 100, web: 50, duration: 2 * time.Minute,
		uploadEvery: 2 * time.Second, webEvery: 2 * time.Second, heartbeatEvery: 30 * time.Second, chaos: true}
)

// TestScaleOutExactlyOnce runs three collectors on one PostgreSQL behind HAProxy, a
// fleet of kiosks and shoppers on survey links through it, kills one collector with
// SIGKILL and restarts another for an upgrade, and then checks in the database that
// every acknowledged response is stored and counted once, every detractor's case opened
// once, every webhook event delivered (each id at least once), and no digest sent twice.
func TestScaleOutExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL-backed collectors and HAProxy for about a minute")
	}
	shape := smallScale
	// make scale-demo runs this test with a bigger fleet for longer, and keeps the logs.
	if v := os.Getenv("NPS_SCALE_DEVICES"); v != "" {
		if _, err := fmt.Sscan(v, &shape.devices); err != nil || shape.devices < shape.stores {
			t.Fatalf("NPS_SCALE_DEVICES=%q: give a number of devices, at least %d", v, shape.stores)
		}
		shape.web = max(shape.web, shape.devices/10)
	}
	if v := os.Getenv("NPS_SCALE_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Second {
			t.Fatalf("NPS_SCALE_DURATION=%q: give a duration of 10s or more", v)
		}
		shape.duration = d
	}
	r := runScaleOut(t, shape)
	t.Logf("%d kiosk and %d web responses acknowledged in %s through %d collectors (%.0f responses/s, upload p99 %s); %d uploads retried; load %.2f",
		r.kioskAcked, r.webAcked, r.elapsed.Round(time.Millisecond), shape.collectors, r.rate(), r.p99.Round(time.Millisecond), r.retried, loadAverage())
}

// BenchmarkScaleOut runs the 500-device fleet and web shoppers through HAProxy to three
// collectors, with the SIGKILL and the rolling restart, and checks exactly once as the
// test does; then the throughput of 1, 2 and 3 collectors under a closed-loop load
// (every device uploading again as soon as it is answered), as a ratio to one.
// -short: the test's small fleet, and 10 s per throughput run.
func BenchmarkScaleOut(b *testing.B) {
	shape, closed := fullScale, 30*time.Second
	if testing.Short() {
		shape, closed = smallScale, 10*time.Second
		shape.duration = 12 * time.Second
	}
	for b.Loop() {
		r := runScaleOut(b, shape)
		b.ReportMetric(float64(shape.devices), "devices")
		b.ReportMetric(r.rate(), "responses/s")
		b.ReportMetric(float64(r.kioskAcked+r.webAcked), "acked")
		b.ReportMetric(float64(r.retried), "retried-uploads")
		b.ReportMetric(ms(r.p99), "upload-p99-ms")
		var one float64
		for n := 1; n <= 3; n++ {
			tr := throughput(b, n, 200, 200*time.Millisecond, closed)
			if n == 1 {
				one = tr.rate
			}
			b.Logf("throughput: %d collector(s): %.0f responses/s (%.2f× one), %.0f uploads/s, p50 %.1f ms, p99 %.1f ms, load %.2f; CPU s per s: collectors %.2f, PostgreSQL %.2f, HAProxy %.2f, the simulated fleet %.2f; CPU ms per upload: collectors %.2f, PostgreSQL %.2f, HAProxy %.2f",
				n, tr.rate, tr.rate/one, tr.uploads, ms(tr.p50), ms(tr.p99), tr.load, tr.cpuCollectors, tr.cpuPostgres, tr.cpuHAProxy, tr.cpuFleet,
				1000*tr.cpuCollectors/tr.uploads, 1000*tr.cpuPostgres/tr.uploads, 1000*tr.cpuHAProxy/tr.uploads)
			b.ReportMetric(1000*tr.cpuCollectors/tr.uploads, fmt.Sprintf("c%d-collector-cpu-ms/upload", n))
			b.ReportMetric(1000*tr.cpuPostgres/tr.uploads, fmt.Sprintf("c%d-postgres-cpu-ms/upload", n))
			b.ReportMetric(tr.rate, fmt.Sprintf("c%d-responses/s", n))
			b.ReportMetric(tr.rate/one, fmt.Sprintf("c%d-ratio", n))
		}
	}
}

// scaleResult is what a run acknowledged.
type scaleResult struct {
	elapsed              time.Duration
	kioskAcked, webAcked int
	retried              int
	p99                  time.Duration
}

func (r scaleResult) rate() float64 {
	return float64(r.kioskAcked+r.webAcked) / r.elapsed.Seconds()
}

// cluster is PostgreSQL, n collector processes and HAProxy in front of them.
type cluster struct {
	tb      testing.TB
	bin     string
	dsn     string
	dir     string
	ports   []int
	procs   []*exec.Cmd
	exited  []chan error // each running collector's exit, nil once it stopped
	lb      *exec.Cmd
	url     string // HAProxy's
	hookURL string
}

// freePort finds a loopback port nothing listens on, for a config file that needs it
// before the process starts.
func freePort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// postgresDSN is a fresh schema on the PostgreSQL of scripts/with-postgres.sh.
func postgresDSN(tb testing.TB) string {
	for _, be := range storagetest.Backends(tb) {
		if be.Name == "postgres" {
			return be.Path(tb)
		}
	}
	tb.Skip("scale-out needs PostgreSQL: run through scripts/with-postgres.sh (make test does)")
	return ""
}

func haproxyPath(tb testing.TB) string {
	path, err := exec.LookPath("haproxy")
	if err != nil {
		path = "/usr/sbin/haproxy"
		if _, serr := os.Stat(path); serr != nil {
			if os.Getenv("CI") != "" {
				tb.Fatal("HAProxy is missing: make deps installs it")
			}
			tb.Skip("HAProxy is missing: make deps installs it")
		}
	}
	return path
}

func newCluster(tb testing.TB, n int, hookURL string) *cluster {
	dir := os.Getenv("NPS_SCALE_DIR") // make scale-demo keeps the configuration and logs there
	if dir == "" {
		dir = tb.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	c := &cluster{tb: tb, bin: program(tb, "npscollector"), dsn: postgresDSN(tb), dir: dir, hookURL: hookURL}
	lbPath := haproxyPath(tb)
	for range n {
		c.ports = append(c.ports, freePort(tb))
	}
	c.procs, c.exited = make([]*exec.Cmd, n), make([]chan error, n)
	return c.withLB(lbPath)
}

func (c *cluster) withLB(lbPath string) *cluster {
	port := freePort(c.tb)
	var servers strings.Builder
	for i, p := range c.ports {
		fmt.Fprintf(&servers, "    server c%d 127.0.0.1:%d check\n", i+1, p)
	}
	// The same layout as scripts/scale-demo.sh and the operations guide: /readyz
	// checked twice a second, out after two failures; a request whose connection failed
	// is sent again to another collector, and so is an upload that got no answer (uploads
	// are idempotent by response id), but no other POST: a web answer sent again would be
	// stored twice.
	cfg := fmt.Sprintf(`global
    maxconn %d
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 10s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    option forwardfor
frontend collectors
    bind 127.0.0.1:%d
    default_backend collectors
backend collectors
    balance leastconn
    http-request disable-l7-retry if METH_POST !{ path /v1/responses }
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
%s`, lbMaxConn(), port, servers.String())
	cfgPath := filepath.Join(c.dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		c.tb.Fatal(err)
	}
	logFile := c.logFile("haproxy.log")
	c.lb = exec.Command(lbPath, "-f", cfgPath, "-db")
	c.lb.Stdout, c.lb.Stderr = logFile, logFile
	if err := c.lb.Start(); err != nil {
		c.tb.Fatal(err)
	}
	c.tb.Cleanup(func() { c.lb.Process.Kill(); c.lb.Wait() })
	c.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	c.tb.Logf("HAProxy on %s in front of collectors on ports %v; configuration and logs in %s", c.url, c.ports, c.dir)
	for range 100 {
		if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			conn.Close()
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.dumpLogs()
	c.tb.Fatal("HAProxy did not start")
	return nil
}

// lbMaxConn is HAProxy's connection limit: 4,000 (the fleet holds one connection a
// device), or what the open-file limit allows, HAProxy needing two descriptors a
// connection and refusing to start when it cannot raise its limit that far.
func lbMaxConn() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 1000
	}
	if lim.Max >= 2*4000+200 { // RLIM_INFINITY too
		return 4000
	}
	return max(100, (int(lim.Max)-200)/2)
}

func (c *cluster) logFile(name string) *os.File {
	f, err := os.OpenFile(filepath.Join(c.dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.tb.Cleanup(func() { f.Close() })
	return f
}

// start runs collector i and waits until it is ready.
func (c *cluster) start(i int) {
	if err := c.launch(i); err != nil {
		c.dumpLogs()
		c.tb.Fatal(err)
	}
}

// launch runs collector i and waits, up to a minute (a loaded machine starts slowly),
// until its /readyz answers 200. It may run on any goroutine.
func (c *cluster) launch(i int) error {
	cmd := exec.Command(c.bin, "serve", "--db", c.dsn, "--addr", fmt.Sprintf("127.0.0.1:%d", c.ports[i]),
		"--metrics-addr", "off", "--allow-loopback-webhooks", "--webhook-lease", "3s", "--digest-hour", "0",
		"--trusted-proxies", "127.0.0.1", "--drain-delay", "1500ms", "--heartbeat-flush", "1s")
	cmd.Env = append(os.Environ(), "NPSCOLLECTOR_PUBLIC_URL="+c.url)
	logFile := c.logFile(fmt.Sprintf("collector%d.log", i+1))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	c.procs[i] = cmd
	c.tb.Cleanup(func() { cmd.Process.Kill() }) // the goroutine below reaps it
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", c.ports[i])
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("collector %d exited at start: %v", i+1, err)
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := http.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				// Wait's goroutine owns the process from here: kill and drain read
				// its end through c.exited.
				c.exited[i] = exited
				return nil
			}
		}
	}
	return fmt.Errorf("collector %d did not become ready within a minute", i+1)
}

// startAll starts the collectors at once, so their migrations and start-up jobs race.
func (c *cluster) startAll() {
	errs := make([]error, len(c.ports))
	var wg sync.WaitGroup
	for i := range c.ports {
		wg.Go(func() { errs[i] = c.launch(i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.dumpLogs()
		c.tb.Fatal(err)
	}
}

// waitLB waits until HAProxy's health checks have seen every collector ready: a
// request through it then finds one.
func (c *cluster) waitLB() {
	time.Sleep(1200 * time.Millisecond) // rise 2 × inter 500ms, and a little
	for range 100 {
		if resp, err := http.Get(c.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.dumpLogs()
	c.tb.Fatal("no collector ready through HAProxy")
}

// kill stops collector i with SIGKILL: nothing of it runs after.
func (c *cluster) kill(i int) {
	c.procs[i].Process.Kill()
	<-c.exited[i]
	c.exited[i] = nil
}

// drain stops collector i with SIGTERM and reports whether its /readyz failed while it
// was still up, and whether it exited cleanly within its drain.
func (c *cluster) drain(i int) (notReady bool, err error) {
	if err := c.procs[i].Process.Signal(syscall.SIGTERM); err != nil {
		return false, err
	}
	done := c.exited[i]
	c.exited[i] = nil
	ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", c.ports[i])
	deadline := time.After(20 * time.Second)
	for {
		select {
		case err := <-done:
			return notReady, err
		case <-deadline:
			return notReady, fmt.Errorf("collector %d did not stop within 20 s of SIGTERM", i+1)
		case <-time.After(100 * time.Millisecond):
			if resp, err := http.Get(ready); err == nil {
				resp.Body.Close()
				notReady = notReady || resp.StatusCode == http.StatusServiceUnavailable
			}
		}
	}
}

// stop drains every collector still running, then HAProxy.
func (c *cluster) stop() {
	var wg sync.WaitGroup
	for i := range c.procs {
		if c.exited[i] != nil {
			wg.Go(func() {
				if _, err := c.drain(i); err != nil {
					c.tb.Errorf("stopping collector %d: %v", i+1, err)
				}
			})
		}
	}
	wg.Wait()
	c.lb.Process.Kill()
	c.lb.Wait()
}

// dumpLogs shows the end of every log, for a failed run.
func (c *cluster) dumpLogs() {
	logs, _ := filepath.Glob(filepath.Join(c.dir, "*.log"))
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		if len(data) > 3000 {
			data = data[len(data)-3000:]
		}
		c.tb.Logf("%s:\n%s", filepath.Base(l), data)
	}
}

// fleetData is what the fleet needs: each device's token, each store's survey link.
type fleetData struct {
	tokens []string
	links  []string
	secret string
}

// seed makes the stores (in two regions), devices, one survey link per store and a
// webhook subscription for cases, drops and digests to the receiver.
func seed(tb testing.TB, dsn string, shape scaleShape, hookURL string) fleetData {
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{Path: dsn, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var fd fleetData
	for s := range shape.stores {
		id := fmt.Sprintf("S%03d", s)
		if err := db.AddStore(ctx, storage.Store{ID: id, Name: "Scale store", Timezone: "UTC", Region: []string{"North", "South"}[s%2]}); err != nil {
			tb.Fatal(err)
		}
		l, err := db.AddLink(ctx, storage.NewLink{StoreID: id, Channel: "qr", Label: "receipt"})
		if err != nil {
			tb.Fatal(err)
		}
		fd.links = append(fd.links, l.Code)
	}
	fd.tokens = make([]string, shape.devices)
	for d := range fd.tokens {
		nd, err := db.AddDevice(ctx, fmt.Sprintf("S%03d", d%shape.stores), fmt.Sprintf("Till %d", d), 0)
		if err != nil {
			tb.Fatal(err)
		}
		en, err := db.Enroll(ctx, wire.EnrollRequest{Code: nd.Code})
		if err != nil {
			tb.Fatal(err)
		}
		fd.tokens[d] = en.Token
	}
	if hookURL == "" {
		return fd
	}
	if fd.secret, err = alerts.NewSecret(); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.AddSubscription(ctx, storage.Subscription{ScopeKind: storage.ScopeChain, URL: hookURL, Secret: fd.secret,
		Events: []string{storage.EventCaseOpened, storage.EventNPSDropped, storage.EventDigest}}); err != nil {
		tb.Fatal(err)
	}
	return fd
}

// receiver is a webhook subscriber on loopback: it verifies each delivery's signature
// and counts deliveries by event id.
type receiver struct {
	mu     sync.Mutex
	secret string
	got    map[string]int
	bad    int
	// digests are the event ids of each digest received, by scope and day.
	digests map[string]map[string]bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := alerts.Verify(rc.secret, r.Header, body, time.Now()); err != nil {
		rc.bad++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	id := r.Header.Get("webhook-id")
	rc.got[id]++
	var ev struct {
		Type string
		Data struct {
			ScopeKind string `json:"scope_kind"`
			Scope     string
			Day       string
		}
	}
	if json.Unmarshal(body, &ev) == nil && ev.Type == storage.EventDigest {
		key := ev.Data.ScopeKind + "/" + ev.Data.Scope + "/" + ev.Data.Day
		if rc.digests[key] == nil {
			rc.digests[key] = map[string]bool{}
		}
		rc.digests[key][id] = true
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) received() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.got))
	for k, v := range rc.got {
		out[k] = v
	}
	return out
}

// acked collects the ids the collectors acknowledged.
type acked struct {
	mu      sync.Mutex
	kiosk   []string
	web     []string
	retried int
	lat     []time.Duration
	errs    int
	lastErr error
}

func (a *acked) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs++
	a.lastErr = err
}

// kiosk is one simulated kiosk: it uploads batches and retries a batch, with the same
// ids, until it is acknowledged, as the sync worker does.
type kiosk struct {
	url, token string
	client     *http.Client
	rng        *rand.Rand
}

func (k *kiosk) upload(ctx context.Context, rs []wire.Response) error {
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	if err := json.NewEncoder(zw).Encode(wire.UploadRequest{Responses: rs}); err != nil {
		return err
	}
	zw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.url+"/v1/responses", &body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+k.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return fmt.Errorf("upload: %s: %s", resp.Status, msg)
	}
	var res wire.UploadResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return err
	}
	if len(res.Accepted)+len(res.Duplicate) != len(rs) {
		return fmt.Errorf("upload: %d accepted and %d duplicate of %d: %+v", len(res.Accepted), len(res.Duplicate), len(rs), res)
	}
	return nil
}

func (k *kiosk) heartbeat(ctx context.Context) {
	body, _ := json.Marshal(wire.Heartbeat{AppVersion: "scale", FreeDiskBytes: 8 << 30, DeviceTime: time.Now()})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.url+"/v1/heartbeat", bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+k.token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := k.client.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// runKiosk uploads every gap (drawn from [½, 1½] of every; 0: at once again) until
// stop, and then finishes the batch it holds: an upload is retried until acknowledged
// or until ctx ends.
func runKiosk(ctx, stop context.Context, k *kiosk, every, beat time.Duration, out *acked) {
	nextBeat := time.Now().Add(time.Duration(k.rng.Int64N(int64(beat))))
	if every > 0 {
		select {
		case <-stop.Done():
			return
		case <-time.After(time.Duration(k.rng.Int64N(int64(every)))):
		}
	}
	for stop.Err() == nil {
		now := time.Now()
		rs := make([]wire.Response, 1+k.rng.IntN(3))
		for i := range rs {
			rs[i] = wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: k.rng.IntN(11), Reasons: []string{"staff"},
				Locale: "en", SurveyVersion: 1, CreatedAt: now.Add(-20 * time.Second), CompletedAt: now, Outcome: "submitted"}
		}
		t0, tries := time.Now(), 0
		for {
			tries++
			err := k.upload(ctx, rs)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return // never acknowledged: not counted as acked
			}
			out.fail(err)
			time.Sleep(time.Duration(100+k.rng.IntN(200)) * time.Millisecond)
		}
		out.mu.Lock()
		for _, r := range rs {
			out.kiosk = append(out.kiosk, r.ID)
		}
		out.lat = append(out.lat, time.Since(t0))
		if tries > 1 {
			out.retried++
		}
		out.mu.Unlock()
		if time.Now().After(nextBeat) {
			k.heartbeat(ctx)
			nextBeat = time.Now().Add(beat)
		}
		if every > 0 {
			select {
			case <-stop.Done():
			case <-time.After(every/2 + time.Duration(k.rng.Int64N(int64(every)))):
			}
		}
	}
}

// runShopper answers a survey link as a phone would every gap until stop, each answer
// from another client address (so the web survey's per-network limits do not flag
// them): it loads the score page, posts its form (the redirect not followed) and keeps
// the ids of the answers acknowledged (303 to the follow-up page, whose token names the
// response). A post that failed is sent again, the same form, as a shopper taps Send
// again: the form names its answer, so it is stored once however often it is posted.
func runShopper(stop context.Context, url string, links []string, every time.Duration, seed uint64, out *acked) (unsure int) {
	rng := rand.New(rand.NewPCG(seed, 11))
	client := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for stop.Err() == nil {
		select {
		case <-stop.Done():
			return unsure
		case <-time.After(every/2 + time.Duration(rng.Int64N(int64(every)))):
		}
		page := url + "/s/" + links[rng.IntN(len(links))]
		addr := fmt.Sprintf("10.%d.%d.7", rng.IntN(256), rng.IntN(256))
		form, err := scoreForm(client, page, addr)
		if err != nil {
			out.fail(err) // no answer yet: the shopper saw no page
			continue
		}
		form.Set("score", fmt.Sprint(rng.IntN(11)))
		id := ""
		for try := range 3 {
			if try > 0 {
				time.Sleep(time.Second)
			}
			if id, err = postAnswer(client, page, addr, form); err == nil {
				break
			}
			out.fail(err)
		}
		if id == "" {
			unsure++
			continue
		}
		out.mu.Lock()
		out.web = append(out.web, id)
		out.mu.Unlock()
	}
	return unsure
}

// scoreForm loads a score page and returns its form's fields but the score.
func scoreForm(client *http.Client, page, addr string) (url.Values, error) {
	req, _ := http.NewRequest(http.MethodGet, page, nil)
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("score page: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("score page: %w", err)
	}
	m := answerField.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return nil, fmt.Errorf("score page: %s, no answer id", resp.Status)
	}
	return url.Values{"a": {string(m[1])}, "lang": {"en"}}, nil
}

var answerField = regexp.MustCompile(`name="a" value="([^"]+)"`)

// postAnswer posts a score form and returns the id of the answer acknowledged.
func postAnswer(client *http.Client, page, addr string, form url.Values) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, page, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("web answer: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := answerID(resp)
	if resp.StatusCode != http.StatusSeeOther || id == "" {
		return "", fmt.Errorf("web answer: %s", resp.Status)
	}
	return id, nil
}

// answerID reads the response id from the follow-up page's token in a 303's Location.
func answerID(resp *http.Response) string {
	loc, err := resp.Location()
	if err != nil {
		return ""
	}
	token := loc.Query().Get("r")
	id, _, ok := strings.Cut(token, ".")
	if !ok {
		return ""
	}
	if _, err := uuid.Parse(id); err != nil {
		return ""
	}
	return id
}

func runScaleOut(tb testing.TB, shape scaleShape) scaleResult {
	rc := &receiver{got: map[string]int{}, digests: map[string]map[string]bool{}}
	hooks := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	hln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go hooks.Serve(hln)
	tb.Cleanup(func() { hooks.Close() })
	hookURL := "http://" + hln.Addr().String() + "/hook"

	c := newCluster(tb, shape.collectors, hookURL)
	fd := seed(tb, c.dsn, shape, hookURL)
	rc.secret = fd.secret
	c.startAll()
	c.waitLB()

	var out acked
	ctx, cancel := context.WithTimeout(context.Background(), shape.duration+90*time.Second)
	defer cancel()
	stop, stopFleet := context.WithCancel(ctx)
	var wg sync.WaitGroup
	start := time.Now()
	transport := &http.Transport{MaxIdleConnsPerHost: 1}
	for i, token := range fd.tokens {
		k := &kiosk{url: c.url, token: token, rng: rand.New(rand.NewPCG(uint64(i)+1, 3)),
			client: &http.Client{Timeout: 20 * time.Second, Transport: transport.Clone()}}
		wg.Go(func() { runKiosk(ctx, stop, k, shape.uploadEvery, shape.heartbeatEvery, &out) })
	}
	var unsureMu sync.Mutex
	webUnsure := 0
	for i := range shape.web {
		wg.Go(func() {
			n := runShopper(stop, c.url, fd.links, shape.webEvery, uint64(i)+1, &out)
			unsureMu.Lock()
			webUnsure += n
			unsureMu.Unlock()
		})
	}

	if shape.chaos && shape.collectors >= 2 {
		time.Sleep(shape.duration / 3)
		tb.Logf("SIGKILL collector 1")
		c.kill(0)
		time.Sleep(shape.duration / 6)
		tb.Logf("collector 1 starts again")
		c.start(0)
		time.Sleep(shape.duration / 6)
		tb.Logf("SIGTERM collector 2 (rolling restart)")
		notReady, err := c.drain(1)
		if err != nil {
			tb.Errorf("draining collector 2: %v", err)
		}
		if !notReady {
			tb.Errorf("collector 2's /readyz never failed while it drained")
		}
		c.start(1)
		time.Sleep(time.Until(start.Add(shape.duration)))
	} else {
		time.Sleep(shape.duration)
	}
	stopFleet()
	wg.Wait()
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		tb.Errorf("the fleet did not finish its last uploads in time")
	}

	// The webhook queue empties: every event delivered.
	db, err := sql.Open("pgx", c.dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	qctx, qcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer qcancel()
	for {
		var pending int
		if err := db.QueryRowContext(qctx, `SELECT COUNT(*) FROM deliveries WHERE status = 'pending'`).Scan(&pending); err != nil {
			tb.Fatal(err)
		}
		if pending == 0 {
			break
		}
		select {
		case <-qctx.Done():
			tb.Fatalf("%d webhook deliveries still pending a minute after the fleet stopped", pending)
		case <-time.After(200 * time.Millisecond):
		}
	}
	c.stop()
	tb.Logf("%d failed requests (retried or not acknowledged), the last: %v", out.errs, out.lastErr)
	checkExactlyOnce(tb, db, &out, webUnsure, rc.received())
	// No digest twice: one event per scope and day, however many collectors ran the
	// daily jobs at once.
	digestEvents := 0
	for key, ids := range rc.digests {
		digestEvents += len(ids)
		if len(ids) > 1 {
			tb.Errorf("digest %s sent as %d events", key, len(ids))
		}
	}
	if digestEvents == 0 {
		tb.Errorf("no digest received")
	}
	if tb.Failed() {
		c.dumpLogs()
	}
	if rc.bad > 0 {
		tb.Errorf("%d webhook deliveries failed their signature check", rc.bad)
	}
	lat := sortedCopy(out.lat)
	return scaleResult{elapsed: elapsed, kioskAcked: len(out.kiosk), webAcked: len(out.web), retried: out.retried,
		p99: percentile(lat, 0.99)}
}

// checkExactlyOnce holds the database to what the fleet was told.
func checkExactlyOnce(tb testing.TB, db *sql.DB, out *acked, webUnsure int, received map[string]int) {
	ctx := context.Background()
	count := func(q string, args ...any) int {
		tb.Helper()
		var n int
		if err := db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
		return n
	}
	stored := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT id FROM responses`)
	if err != nil {
		tb.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			tb.Fatal(err)
		}
		stored[id] = true
	}
	rows.Close()
	missing := 0
	for _, id := range append(append([]string(nil), out.kiosk...), out.web...) {
		if !stored[id] {
			missing++
		}
	}
	if missing > 0 {
		tb.Errorf("%d acknowledged responses are not stored", missing)
	}
	// Kiosks retried every batch until it was acknowledged, so nothing else of theirs is
	// stored; a shopper's post whose answer was lost may be.
	total := len(stored)
	acked := len(out.kiosk) + len(out.web)
	if total < acked || total > acked+webUnsure {
		tb.Errorf("%d responses stored, %d acknowledged and %d web posts unanswered", total, acked, webUnsure)
	}
	// Counted once: the rollups and the chain's report sums add up to the rows.
	if n := count(`SELECT COALESCE(SUM(promoters + passives + detractors + suspect), 0) FROM daily_rollups`); n != total {
		tb.Errorf("the daily rollups count %d responses, the table holds %d", n, total)
	}
	// Every case opened once: one per detractor not flagged suspect, never two for one
	// response (cases.response_id is unique too), one case.opened event each.
	detractors := count(`SELECT COUNT(*) FROM responses WHERE score <= 6 AND NOT suspect`)
	if n := count(`SELECT COUNT(*) FROM cases`); n != detractors {
		tb.Errorf("%d cases opened for %d detractors", n, detractors)
	}
	if n := count(`SELECT COUNT(*) FROM events WHERE type = $1`, storage.EventCaseOpened); n != detractors {
		tb.Errorf("%d case.opened events for %d detractors", n, detractors)
	}
	// Every event for the receiver's subscription delivered to it, at least once under
	// its own id (a store's digest goes to the store's subscribers, not the chain's).
	if n := count(`SELECT COUNT(*) FROM deliveries WHERE status <> 'delivered'`); n > 0 {
		tb.Errorf("%d webhook deliveries not delivered", n)
	}
	rows, err = db.QueryContext(ctx, `SELECT DISTINCT event_id FROM deliveries`)
	if err != nil {
		tb.Fatal(err)
	}
	events, undelivered, twice := 0, 0, 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			tb.Fatal(err)
		}
		events++
		switch received[id] {
		case 0:
			undelivered++
		case 1:
		default:
			twice++
		}
	}
	rows.Close()
	if undelivered > 0 {
		tb.Errorf("%d of %d events never reached the webhook receiver", undelivered, events)
	}
	tb.Logf("stored %d responses (%d kiosk, %d web acknowledged, %d web posts unanswered), %d cases, %d events (%d delivered more than once, allowed: at least once)",
		total, len(out.kiosk), len(out.web), webUnsure, detractors, events, twice)
}

// throughputResult is one closed-loop run.
type throughputResult struct {
	rate, uploads                          float64
	p50, p99                               time.Duration
	load                                   float64
	cpuCollectors, cpuPostgres, cpuHAProxy float64
	cpuFleet                               float64 // this process: the simulated devices
}

// throughput runs n collectors behind HAProxy with devices uploading in a closed loop
// for d (each again a gap after it is answered, the gap drawn from [½, 1½] of every:
// about 5 uploads a second a device at most, under the per-device limit of 10 that
// each collector keeps in its own memory), and measures what was acknowledged.
func throughput(b *testing.B, n, devices int, every, d time.Duration) throughputResult {
	shape := scaleShape{collectors: n, devices: devices, stores: 20, duration: d, heartbeatEvery: time.Hour}
	c := newCluster(b, n, "")
	fd := seed(b, c.dsn, shape, "")
	c.startAll()
	c.waitLB()
	collectors := make([]int, 0, n)
	for _, p := range c.procs {
		collectors = append(collectors, p.Process.Pid)
	}
	lb, self := []int{c.lb.Process.Pid}, []int{os.Getpid()}
	pg0 := cpuByPID(postgresPIDs())
	cpu0, lb0, self0 := cpuTime(collectors), cpuTime(lb), cpuTime(self)
	var out acked
	ctx, cancel := context.WithTimeout(context.Background(), d+60*time.Second)
	defer cancel()
	stop, stopFleet := context.WithTimeout(ctx, d)
	defer stopFleet()
	var wg sync.WaitGroup
	start := time.Now()
	transport := &http.Transport{MaxIdleConnsPerHost: 1}
	for i, token := range fd.tokens {
		k := &kiosk{url: c.url, token: token, rng: rand.New(rand.NewPCG(uint64(i)+1, 5)),
			client: &http.Client{Timeout: 20 * time.Second, Transport: transport.Clone()}}
		wg.Go(func() { runKiosk(ctx, stop, k, every, time.Hour, &out) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	secs := elapsed.Seconds()
	load := loadAverage()
	r := throughputResult{rate: float64(len(out.kiosk)) / secs, uploads: float64(len(out.lat)) / secs, load: load,
		cpuCollectors: (cpuTime(collectors) - cpu0).Seconds() / secs,
		cpuPostgres:   cpuSince(postgresPIDs(), pg0).Seconds() / secs,
		cpuHAProxy:    (cpuTime(lb) - lb0).Seconds() / secs,
		cpuFleet:      (cpuTime(self) - self0).Seconds() / secs}
	lat := sortedCopy(out.lat)
	r.p50, r.p99 = percentile(lat, 0.5), percentile(lat, 0.99)
	c.stop()
	return r
}

// postgresPIDs are the processes of the PostgreSQL server of scripts/with-postgres.sh:
// the postmaster named by its pid file and its children.
func postgresPIDs() []int {
	base := os.Getenv(storagetest.PostgresEnv)
	u, err := url.Parse(base)
	if err != nil {
		return nil
	}
	// with-postgres.sh keeps the data directory at /tmp/npspg.*/data; find the one on
	// this port.
	matches, _ := filepath.Glob("/tmp/npspg.*/data/postmaster.pid")
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		lines := strings.Split(string(data), "\n")
		if len(lines) > 3 && strings.TrimSpace(lines[3]) == u.Port() {
			var pid int
			fmt.Sscan(lines[0], &pid)
			return procTree(pid)
		}
	}
	return nil
}

// cpuByPID is the CPU time of each process.
func cpuByPID(pids []int) map[int]time.Duration {
	out := make(map[int]time.Duration, len(pids))
	for _, p := range pids {
		out[p] = cpuTime([]int{p})
	}
	return out
}

// cpuSince is the CPU the processes used since before (a process new since then, such
// as a PostgreSQL backend for a new connection, from its start).
func cpuSince(pids []int, before map[int]time.Duration) time.Duration {
	var d time.Duration
	for _, p := range pids {
		d += cpuTime([]int{p}) - before[p]
	}
	return d
}

// loadAverage is the one-minute load average.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(data), &l)
	return l
}
