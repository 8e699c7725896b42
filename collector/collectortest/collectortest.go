// Package collectortest starts a real collector for tests in any package: its database
// (SQLite in a temporary folder, or a throwaway PostgreSQL schema), its service, the HTTP
// API with the dashboard, served on a loopback port. It replaces the enrollment and
// start-up helpers each package used to keep.
package collectortest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/authguard"
	"github.com/npskiosk/npskiosk/collector/contactvault"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/httpapi"
	"github.com/npskiosk/npskiosk/collector/invitations"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// Backend is a database a collector can run on: see storagetest.
type Backend = storagetest.Backend

// SQLite is the embedded backend, in the test's temporary folder.
var SQLite = storagetest.SQLite

// Backends returns SQLite, and PostgreSQL when the test script started one.
func Backends(t testing.TB) []Backend { return storagetest.Backends(t) }

// ForEachBackend runs f as a subtest on every backend.
func ForEachBackend(t *testing.T, f func(t *testing.T, b Backend)) { storagetest.ForEachBackend(t, f) }

// Options changes how Start sets the collector up. The zero value is SQLite, the real
// clock, default rate limits and no logs.
type Options struct {
	Backend     Backend          // zero: SQLite
	Now         func() time.Time // nil: time.Now
	Logger      *slog.Logger     // nil: discard
	DeviceRate  float64          // zero: the API's default
	DeviceBurst int
	// SMTP, when set, sends e-mail invitations (Collector.Inviter, POST /v1/invitations)
	// through that server, with links to this collector; see Mailpit.
	SMTP        *alerts.SMTPConfig
	QuietPeriod time.Duration // zero: the default
	// AuthRules replace the guard's default limits on failed sign-ins, codes and tokens.
	AuthRules map[string]authguard.Rule
	// DB, when set, is the --db of an existing database (another Collector's Path):
	// the two collectors share it, as several behind a load balancer do.
	DB string
	// ContactKeys open the contacts kiosks seal (see collector.Service.ContactKeys);
	// nil: the collector has no contact key. ContactKeys makes one.
	ContactKeys *contactseal.Keyring
	// ContactVault encrypts the contacts stored (storage.Config.ContactVault); nil: a
	// new key file in the test's temporary folder, as serve makes on first start.
	ContactVault *contactvault.Vault
}

// ContactKeys returns a keyring of one new key.
func ContactKeys(t testing.TB) *contactseal.Keyring {
	t.Helper()
	k, err := contactseal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := contactseal.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// Collector is a running collector. It stops when the test ends.
type Collector struct {
	URL string // http://127.0.0.1:port
	// Path is the database's --db value, for a second collector on it (Options.DB).
	Path string
	// MetricsURL serves /metrics on a loopback port of its own, as serve's
	// --metrics-addr does; URL refuses it.
	MetricsURL string
	DB         *storage.DB
	Service    *collector.Service
	API        *httpapi.Server
	Inviter    *invitations.Inviter // nil without Options.SMTP
	Vault      *contactvault.Vault  // the contact store keys the database was opened with
	server     *httptest.Server
	metrics    *httptest.Server
}

// Start opens a new database and serves the collector on a loopback port.
func Start(t testing.TB, opts Options) *Collector {
	t.Helper()
	if opts.Backend.Path == nil {
		opts.Backend = SQLite
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	path := opts.DB
	if path == "" {
		path = opts.Backend.Path(t)
	}
	if opts.ContactVault == nil {
		// Where serve looks beside an SQLite database, and named by the database on
		// PostgreSQL, so that a second collector on it (Options.DB), or serve, reads the
		// same keys.
		file := filepath.Join(filepath.Dir(path), "contact-store.keys")
		if storage.IsPostgres(path) {
			sum := sha256.Sum256([]byte(path))
			file = filepath.Join(os.TempDir(), "npscollector-test-"+hex.EncodeToString(sum[:8])+".keys")
			t.Cleanup(func() { os.Remove(file) })
		}
		v, _, err := contactvault.LoadOrCreate(file, time.Now())
		if err != nil {
			t.Fatalf("contact store keys: %v", err)
		}
		opts.ContactVault = v
	}
	db, err := storage.Open(context.Background(), storage.Config{Path: path, Now: opts.Now, Logger: opts.Logger, ContactVault: opts.ContactVault})
	if err != nil {
		t.Fatalf("open collector database: %v", err)
	}
	svc := collector.New(db)
	svc.ContactKeys, svc.Logger = opts.ContactKeys, opts.Logger
	// The address is known before the server starts, for the links in invitations.
	srv := httptest.NewUnstartedServer(nil)
	url := "http://" + srv.Listener.Addr().String()
	var inviter *invitations.Inviter
	if opts.SMTP != nil {
		mailer, err := alerts.NewMailer(*opts.SMTP)
		if err == nil {
			inviter, err = invitations.New(invitations.Config{Service: svc, Mailer: mailer, PublicURL: url,
				QuietPeriod: opts.QuietPeriod, Logger: opts.Logger})
		}
		if err != nil {
			t.Fatalf("invitations: %v", err)
		}
	}
	guard := authguard.New(authguard.Config{DB: db, Logger: opts.Logger, Rules: opts.AuthRules})
	api := httpapi.New(httpapi.Config{Service: svc, Logger: opts.Logger, DeviceRate: opts.DeviceRate, DeviceBurst: opts.DeviceBurst,
		Inviter: inviter, Guard: guard})
	dashboard.New(dashboard.Config{Service: svc, Logger: opts.Logger, Guard: guard}).Register(api)
	pages, err := invitations.NewPages(invitations.PagesConfig{Service: svc, Logger: opts.Logger})
	if err != nil {
		t.Fatalf("invitation pages: %v", err)
	}
	pages.Register(api)
	srv.Config.Handler = api
	srv.Start()
	metrics := httptest.NewServer(api.Metrics())
	c := &Collector{URL: srv.URL, Path: path, MetricsURL: metrics.URL, DB: db, Service: svc, API: api, Inviter: inviter, Vault: opts.ContactVault, server: srv, metrics: metrics}
	t.Cleanup(func() {
		metrics.Close()
		srv.Close()
		db.Close()
	})
	return c
}

// Close stops serving before the test ends, as when the collector goes offline. The
// database stays open for the test to read.
func (c *Collector) Close() { c.server.Close() }

// AddStore registers a store; an empty time zone means UTC, an empty name "Main Street".
func (c *Collector) AddStore(t testing.TB, s storage.Store) storage.Store {
	t.Helper()
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
	if s.Name == "" {
		s.Name = "Main Street"
	}
	if err := c.DB.AddStore(context.Background(), s); err != nil {
		t.Fatalf("add store %s: %v", s.ID, err)
	}
	return s
}

// EnrollmentCode registers a device of a store (which must exist) and returns its
// one-time code, as "npscollector device add" prints it.
func (c *Collector) EnrollmentCode(t testing.TB, storeID, name string) storage.NewDevice {
	t.Helper()
	d, err := c.DB.AddDevice(context.Background(), storeID, name, 0)
	if err != nil {
		t.Fatalf("add device to %s: %v", storeID, err)
	}
	return d
}

// Enroll registers and enrolls a device of a store and returns its identity and token.
func (c *Collector) Enroll(t testing.TB, storeID, name string) wire.EnrollResponse {
	t.Helper()
	d := c.EnrollmentCode(t, storeID, name)
	res, err := c.Service.Enroll(context.Background(), wire.EnrollRequest{Code: d.Code})
	if err != nil {
		t.Fatalf("enroll %s: %v", name, err)
	}
	return res
}

// APIToken makes an API token, every store's when storeID is empty, with scopes (none:
// the default, what tokens could do before scopes).
func (c *Collector) APIToken(t testing.TB, storeID string, scopes ...string) string {
	t.Helper()
	tok, err := c.DB.AddAPIToken(context.Background(), "test", storeID, scopes...)
	if err != nil {
		t.Fatalf("add API token: %v", err)
	}
	return tok.Token
}

// Count is the number of responses stored for a store.
func (c *Collector) Count(t testing.TB, storeID string) int64 {
	t.Helper()
	n, err := c.DB.CountResponses(context.Background(), storeID)
	if err != nil {
		t.Fatalf("count responses of %s: %v", storeID, err)
	}
	return n
}

// Response returns a valid submitted response tapped at at, with a random score and the
// reason "staff", which the default survey has.
func Response(rng *rand.Rand, at time.Time) wire.Response {
	return wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: rng.IntN(11), Reasons: []string{"staff"},
		Locale: "en", SurveyVersion: 1, CreatedAt: at, CompletedAt: at.Add(10 * time.Second), Outcome: response.OutcomeSubmitted}
}

// Upload posts a batch to a collector's POST /v1/responses as a device would.
func Upload(ctx context.Context, baseURL, token string, batch []wire.Response) (wire.UploadResult, error) {
	return UploadWith(ctx, http.DefaultClient, baseURL, token, batch)
}

// UploadWith is Upload through a client of the caller's, e.g. one trusting a test CA.
func UploadWith(ctx context.Context, client *http.Client, baseURL, token string, batch []wire.Response) (wire.UploadResult, error) {
	body, err := json.Marshal(wire.UploadRequest{Responses: batch})
	if err != nil {
		return wire.UploadResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v1/responses", bytes.NewReader(body))
	if err != nil {
		return wire.UploadResult{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return wire.UploadResult{}, fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return wire.UploadResult{}, fmt.Errorf("upload: %s", resp.Status)
	}
	var res wire.UploadResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return wire.UploadResult{}, fmt.Errorf("upload: %w", err)
	}
	return res, nil
}

// Mailpit returns the settings of the test SMTP server that scripts/with-mailpit.sh
// started (make test does), and the address of its HTTP API. Without one the test is
// skipped, or fails under CI.
func Mailpit(t testing.TB) (alerts.SMTPConfig, string) {
	t.Helper()
	smtp, api := os.Getenv("NPS_TEST_SMTP"), os.Getenv("NPS_TEST_MAILPIT")
	if smtp == "" || api == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must test e-mail against a real SMTP server: run the tests through scripts/with-mailpit.sh (make test does)")
		}
		t.Skip("no SMTP server: run through scripts/with-mailpit.sh")
	}
	host, port, _ := net.SplitHostPort(smtp)
	p, _ := strconv.Atoi(port)
	return alerts.SMTPConfig{Host: host, Port: p, Security: "none", From: "NPS alerts <nps@example.com>"}, api
}

// Mail is a message as Mailpit holds it.
type Mail struct {
	ID, Subject, Text, HTML string
}

// MailTo waits up to 10 s for the messages Mailpit holds for an address, and returns
// them with their bodies.
func MailTo(t testing.TB, api, address string, want int) []Mail {
	t.Helper()
	var list struct {
		Messages []struct{ ID, Subject string }
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(api + "/api/v1/search?query=" + url.QueryEscape("to:"+address))
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Messages) >= want || time.Now().After(deadline) {
			break
		}
	}
	var out []Mail
	for _, m := range list.Messages {
		resp, err := http.Get(api + "/api/v1/message/" + m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var full Mail
		err = json.NewDecoder(resp.Body).Decode(&full)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		full.ID, full.Subject = m.ID, m.Subject
		out = append(out, full)
	}
	return out
}

// Session signs in a new dashboard user and returns their session token, for the
// dashboard's cookie: a chain user when storeID is empty, else that store's. API
// tokens are no dashboard cookie.
func (c *Collector) Session(t testing.TB, storeID string) string {
	t.Helper()
	nu := storage.NewUser{Email: "u" + strconv.FormatInt(rand.Int64(), 36) + "@example.com", Name: "Test user",
		Password: "a long test password"}
	if storeID != "" {
		nu.ScopeKind, nu.Scope = storage.UserScopeStore, storeID
	}
	u, err := c.DB.AddUser(context.Background(), nu)
	if err != nil {
		t.Fatalf("add user: %v", err)
	}
	token, _, err := c.DB.NewSession(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	return token
}
