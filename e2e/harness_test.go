package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // reads the kiosk's database as IT would, read-only
	"github.com/npskiosk/npskiosk/sync/tlstrust/tlstrusttest"
)

// harness is one end-to-end run: the built binaries, a folder for its databases,
// configs, logs and screenshots, and the processes it started. On failure it prints
// every log and keeps the folder; on success it removes it unless NPS_E2E_ARTIFACTS
// names it.
type harness struct {
	t    *testing.T
	bin  string // folder holding npskiosk and npscollector
	dir  string
	keep bool
	logs []string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	bin := os.Getenv("NPS_E2E_BIN")
	if bin == "" {
		t.Skip("set NPS_E2E_BIN to the folder of the built npskiosk and npscollector (make test-e2e does)")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(bin, "npskiosk"), filepath.Join(bin, "npscollector")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("NPS_E2E_BIN=%s: %v (run make build)", bin, err)
		}
	}
	for _, tool := range []string{"Xvfb", "xdotool", "scrot", chromiumPath} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: make deps installs it", tool)
		}
	}
	h := &harness{t: t, bin: bin}
	if dir := os.Getenv("NPS_E2E_ARTIFACTS"); dir != "" {
		h.dir, h.keep = dir, true
		err = os.MkdirAll(dir, 0o755)
	} else {
		h.dir, err = os.MkdirTemp("", "npse2e-")
	}
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs last: after every process has stopped and written
	// its last line.
	t.Cleanup(h.report)
	t.Logf("logs and screenshots in %s", h.dir)
	return h
}

// report prints the logs of a failed run and says where its screenshots are.
func (h *harness) report() {
	if !h.t.Failed() {
		if !h.keep {
			os.RemoveAll(h.dir)
		}
		return
	}
	for _, path := range h.logs {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 80 {
			lines = append([]string{"…"}, lines[len(lines)-80:]...)
		}
		h.t.Logf("---- %s ----\n%s", filepath.Base(path), strings.Join(lines, "\n"))
	}
	shots, _ := filepath.Glob(filepath.Join(h.dir, "*.png"))
	h.t.Logf("FAILED: logs, databases and the screenshots %v are kept in %s", names(shots), h.dir)
}

func names(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

// path is a file in the run's folder.
func (h *harness) path(name string) string { return filepath.Join(h.dir, name) }

// process is a program the harness started, in a process group of its own.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// spawn starts cmd with its output in NAME.log and stops it when the test ends:
// SIGTERM to its process group, 10 s to end, then SIGKILL. Should the test binary
// itself be killed, the kernel sends the SIGTERM (Pdeathsig).
func (h *harness) spawn(name string, cmd *exec.Cmd) *process {
	h.t.Helper()
	p := &process{name: name, cmd: cmd, log: h.path(name + ".log"), done: make(chan struct{})}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start %s: %v", name, err)
	}
	h.logs = append(h.logs, p.log)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	h.t.Cleanup(func() { p.stop(h.t) })
	return p
}

func (p *process) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not stop within 10 s of SIGTERM: killed", p.name)
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// exited fails the test when the process has ended on its own.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v", p.name, p.err)
	default:
		return nil
	}
}

// logSince is what the process has logged after offset bytes.
func (p *process) logSince(offset int64) string {
	b, _ := os.ReadFile(p.log)
	if offset > int64(len(b)) {
		return ""
	}
	return string(b[offset:])
}

// logSize is how much the process has logged so far.
func (p *process) logSize() int64 {
	st, err := os.Stat(p.log)
	if err != nil {
		return 0
	}
	return st.Size()
}

// waitFor polls check every 100 ms until it reports done, fails, or timeout passes.
// The last error check returned is in the failure message.
func waitFor(t *testing.T, what string, timeout time.Duration, check func() (bool, error)) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		ok, err := check()
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last error: %v)", what, timeout, last)
		}
	}
}

// collector is a running "npscollector serve", and the tools IT uses with it.
type collector struct {
	h    *harness
	proc *process
	db   string
	addr string // 127.0.0.1:port
	// metrics is the URL of its Prometheus metrics (--metrics-addr).
	metrics string
	token   string // an API token for every store, to read cases as HQ's tools do
	ca      *tlstrusttest.CA
	client  *http.Client // trusts ca, as the kiosk's ca_file does
}

var (
	listening        = regexp.MustCompile(`msg="collector listening" addr=(\S+)`)
	metricsListening = regexp.MustCompile(`msg="metrics listening" metrics=(\S+)`)
)

// startCollector serves the collector over HTTPS on a free loopback port, with a
// certificate from a private CA made for the test (c.ca) and a contact key, sending alert e-mails through
// the SMTP server at smtpHost:smtpPort and webhooks to loopback receivers.
func (h *harness) startCollector(smtpHost string, smtpPort int) *collector {
	h.t.Helper()
	c := &collector{h: h, db: h.path("collector.db"), ca: tlstrusttest.NewCA(h.t, "Chain IT private CA")}
	c.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.ca.Pool()}}}
	certFile, keyFile := c.ca.Issue(h.t, "collector", time.Now().Add(90*24*time.Hour)).WriteFiles(h.t, h.dir)
	contactKeys := h.path("contact-keys.pem")
	h.run(nil, filepath.Join(h.bin, "npscollector"), "contact-key", "create", "--file", contactKeys)
	c.proc = h.spawn("collector", exec.Command(filepath.Join(h.bin, "npscollector"), "serve",
		"--db", c.db, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--allow-loopback-webhooks",
		"--tls-cert", certFile, "--tls-key", keyFile, "--contact-keys", contactKeys,
		"--smtp-host", smtpHost, "--smtp-port", fmt.Sprint(smtpPort), "--smtp-security", "none",
		"--smtp-from", "NPS alerts <nps@example.com>"))
	waitFor(h.t, "the collector says where it listens", 20*time.Second, func() (bool, error) {
		log := c.proc.logSince(0)
		m, mm := listening.FindStringSubmatch(log), metricsListening.FindStringSubmatch(log)
		if m != nil && mm != nil {
			c.addr, c.metrics = m[1], mm[1]
			return true, nil
		}
		return false, c.proc.exited()
	})
	waitFor(h.t, "the collector answers /healthz", 10*time.Second, func() (bool, error) {
		resp, err := c.client.Get(c.url() + "/healthz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("/healthz: %s", resp.Status)
	})
	return c
}

func (c *collector) url() string { return "https://" + c.addr }

// served is how many requests to route (e.g. "GET /v1/device/cases") the collector has
// answered with 200, from its metrics.
func (c *collector) served(route string) (int, error) {
	resp, err := http.Get(c.metrics)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	want := fmt.Sprintf(`npscollector_http_requests_total{code="200",route=%q} `, route)
	for line := range strings.Lines(string(body)) {
		if n, ok := strings.CutPrefix(line, want); ok {
			return strconv.Atoi(strings.TrimSpace(n))
		}
	}
	return 0, nil
}

// cli runs "npscollector SUBCOMMAND --db DB FLAGS…" on the collector's database, as IT
// does beside the running server, and returns what it printed.
func (c *collector) cli(sub string, flags ...string) []byte {
	c.h.t.Helper()
	args := append(strings.Fields(sub), "--db", c.db)
	cmd := exec.Command(filepath.Join(c.h.bin, "npscollector"), append(args, flags...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.h.t.Fatalf("npscollector %s: %v\n%s", sub, err, stderr.String())
	}
	return out
}

// cliJSON runs cli with --json and decodes what it printed into out.
func (c *collector) cliJSON(out any, sub string, flags ...string) {
	c.h.t.Helper()
	b := c.cli(sub, append(flags, "--json")...)
	if err := json.Unmarshal(b, out); err != nil {
		c.h.t.Fatalf("npscollector %s --json printed %q: %v", sub, b, err)
	}
}

// get reads a JSON API path as HQ's tools do, with the API token.
func (c *collector) get(path string, out any) error {
	req, err := http.NewRequest(http.MethodGet, c.url()+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// apiCase is a case as GET /v1/cases/{id} shows it.
type apiCase struct {
	ID       string `json:"id"`
	StoreID  string `json:"store_id"`
	Status   string `json:"status"`
	Version  int64  `json:"version"`
	Response struct {
		Score   int      `json:"score"`
		Reasons []string `json:"reasons"`
		Comment string   `json:"comment"`
		Contact string   `json:"contact"`
	} `json:"response"`
	History []struct {
		Actor  string `json:"actor"`
		Action string `json:"action"`
		From   string `json:"from"`
		To     string `json:"to"`
		Note   string `json:"note"`
	} `json:"history"`
}

// kioskDB reads the kiosk's SQLite file read-only while the kiosk runs, as "npskiosk
// status" does.
type kioskDB struct{ db *sql.DB }

func openKioskDB(t *testing.T, path string) *kioskDB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &kioskDB{db}
}

// kioskResponse is a row of the kiosk's responses table.
type kioskResponse struct {
	Score                     int
	Outcome, Reasons, Comment string
	Consent, Sealed           bool // contact_consent, and a sealed contact kept
}

func (k *kioskDB) responses() ([]kioskResponse, error) {
	rows, err := k.db.Query(`SELECT score, coalesce(outcome, ''), reasons, comment, contact_consent, sealed_contact LIKE 'hpke1:%' FROM responses`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kioskResponse
	for rows.Next() {
		var r kioskResponse
		if err := rows.Scan(&r.Score, &r.Outcome, &r.Reasons, &r.Comment, &r.Consent, &r.Sealed); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// cachedCases maps the ids of the cases the kiosk holds for the manager view to when
// the sync worker pulled them as they are (Unix ms).
func (k *kioskDB) cachedCases() (map[string]int64, error) {
	rows, err := k.db.Query(`SELECT id, pulled_at FROM cases`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		out[id] = at
	}
	return out, rows.Err()
}

// caseChange is a manager's move queued on the kiosk.
type caseChange struct {
	CaseID, Status, Note string
	Synced, Rejected     bool
}

func (k *kioskDB) caseChanges() ([]caseChange, error) {
	rows, err := k.db.Query(`SELECT case_id, status, note, synced_at IS NOT NULL, rejected_at IS NOT NULL FROM case_changes`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []caseChange
	for rows.Next() {
		var c caseChange
		if err := rows.Scan(&c.CaseID, &c.Status, &c.Note, &c.Synced, &c.Rejected); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// mailHeader reads one header of a message Mailpit holds.
func mailHeader(api, id, name string) (string, error) {
	resp, err := http.Get(api + "/api/v1/message/" + id + "/headers")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var hs map[string][]string
	if err := json.NewDecoder(resp.Body).Decode(&hs); err != nil {
		return "", err
	}
	for k, v := range hs {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0], nil
		}
	}
	return "", fmt.Errorf("message %s has no %s header", id, name)
}

// readLine reads the first line from r, waiting at most timeout.
func readLine(r *os.File, timeout time.Duration) (string, error) {
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if s == "" {
			return "", errors.New("closed without a line")
		}
		return strings.TrimSpace(s), nil
	case <-time.After(timeout):
		r.Close()
		return "", fmt.Errorf("nothing within %s", timeout)
	}
}
