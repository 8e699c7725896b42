// Package sync uploads the kiosk's outbox to the collector and keeps the kiosk's survey
// and health in step with it: batches of completed responses (gzip JSON, oldest first)
// sent with go-retryablehttp in a pipeline (the next batch read and the last one's
// acknowledgement applied while one uploads), acknowledgements applied exactly once,
// backoff with jitter while offline, the survey config pulled with ETags, heartbeats, and
// a status for the manager view and "npskiosk status", and with every survey pull the
// device settings HQ gives the store (the manager PIN among them). It knows nothing of
// Fyne.
//
// Import it as kiosksync: its name is the standard library's too.
package sync

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/tlstrust"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// Outbox is the part of the kiosk's store the worker uses.
type Outbox interface {
	// PendingAfter reads the outbox in its order from a place in it (the zero key: its
	// start), so the next batch can be read before the one before is marked synced.
	PendingAfter(ctx context.Context, after store.OutboxKey, limit int) ([]store.Response, error)
	MarkSynced(ctx context.Context, ids []string) (int64, error)
	Quarantine(ctx context.Context, id, reason string) error
	Outbox(ctx context.Context) (store.OutboxStats, error)
	Setting(ctx context.Context, key string) (string, bool, error)
	SetSetting(ctx context.Context, key, value string) error
}

// Config sets the worker up. Fields say when they are required.
type Config struct {
	Store        Outbox // required
	CollectorURL string // required, e.g. https://collector.example.com
	Token        string // required: the device token from enrollment
	AppVersion   string
	// FreeDisk reports free bytes where the database lives, for heartbeats; nil sends 0.
	FreeDisk func() int64
	// OnSurvey is called with each new survey the collector sends.
	OnSurvey func(wire.Survey)
	// OnDeviceSettings is called with the device settings HQ sends, once they are kept
	// in Store (PullDeviceSettings).
	OnDeviceSettings func(wire.DeviceSettings)
	// LocalOverrides names the settings the kiosk's own config overrides
	// (devicesettings field names), for heartbeats.
	LocalOverrides []string
	// Cases keeps the store's follow-up cases and the manager's moves of them; nil means
	// Store when it does (store.DB does), else cases are not synced.
	Cases CaseStore
	// Channels keeps the store's NPS per channel for the manager view; nil means Store
	// when it does (store.DB does), else the figures are not pulled.
	Channels ChannelStore
	// ContactKeys keeps the collector's contact key; nil means Store when it does
	// (store.DB does), else the key is not pulled.
	ContactKeys ContactKeyStore
	// Retention tells the database's size and its last purge for heartbeats; nil means
	// Store when it does (store.DB does), else they are not sent.
	Retention RetentionStore
	// Diagnostics adds the app's part to a diagnostics bundle a remote action asks for:
	// doctor's lines and the recent log lines (Worker.Diagnostics masks them). nil: the
	// bundle has the worker's part only (versions, queue, sync state).
	Diagnostics func(ctx context.Context, d *wire.Diagnostics)
	// Secrets are strings that must never leave in a diagnostics bundle, besides Token
	// (e.g. the manager PIN's hash): they become "[secret]".
	Secrets []string
	// OnRestart is called when a remote action asks the app to restart, once the
	// action's result is kept for the next process to report: the app should then stop
	// and exit with wire.ExitRestart, for its service manager to start it again. nil: a
	// restart action fails, saying this process cannot restart itself.
	OnRestart func()
	// UpdateDir is where the worker and the package's updater share their files
	// (UpdateTargetFile, UpdateStateFile); empty: no staged rollout reaches this kiosk,
	// and heartbeats say nothing of updates.
	UpdateDir string

	// Tuning; zero values take the defaults in brackets.
	AttemptTimeout time.Duration // one HTTP attempt [15s]
	RetryMax       int           // quick retries of one request; the outbox is the long-term retry [2]
	RetryWaitMin   time.Duration // [500ms]
	RetryWaitMax   time.Duration // also caps Retry-After [30s]
	Idle           time.Duration // pause between rounds when all is well [10s]
	IdleMax        time.Duration // pause after a round that found nothing to do (see Run) [60s]
	MaxBackoff     time.Duration // ceiling of the pause while failing [5m]
	Heartbeat      time.Duration // [5m]
	ConfigEvery    time.Duration // the survey and the store's figures per channel [5m]
	BatchItems     int           // [wire.MaxBatchItems]

	HTTPClient *http.Client // nil: a fresh one (tests pass their own transport)
	Logger     *slog.Logger // nil: slog.Default()
	Now        func() time.Time
}

// Status is what the manager view and "npskiosk status" show.
type Status struct {
	Online        bool      `json:"online"`
	Revoked       bool      `json:"revoked"`
	LastAttempt   time.Time `json:"last_attempt,omitzero"`
	LastSuccess   time.Time `json:"last_success,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	Uploaded      int64     `json:"uploaded"` // since start
	NextAttemptIn string    `json:"next_attempt_in,omitempty"`
}

// Worker uploads the outbox. Start it with Run; it stops when the context ends.
type Worker struct {
	cfg    Config
	client *retryablehttp.Client
	log    *slog.Logger
	now    func() time.Time
	wake   chan struct{}
	enc    encoder
	// noClock: the collector refused the device's clock in uploads (a version from
	// before); it is left out from then on.
	noClock atomic.Bool
	// noSettings: the collector refused the settings fields in heartbeats (a version
	// from before device settings); they are left out from then on.
	noSettings atomic.Bool

	mu     stdsync.Mutex
	status Status
	// certExpiry is when the collector's TLS certificate expires, as last seen.
	certExpiry time.Time
	// caseContacts are the contacts of the store's cases as last pulled, by case id;
	// nil until the first pull. Memory only: the kiosk's disk holds no readable contact.
	caseContacts map[string]caseContact
	// scrubbed are the responses scrubbed as a heartbeat reply asked, to name in the
	// next heartbeat. Memory only: after a restart the collector asks again, and a
	// second scrub changes nothing.
	scrubbed []string
	// actions is the remote actions' state (SettingActions), read once: the ids
	// handled and the results not yet carried by an answered heartbeat.
	actions       actionState
	actionsLoaded bool

	// lifecycle guards Start and Stop.
	lifecycle stdsync.Mutex
	cancel    context.CancelFunc
	done      chan struct{}
	runErr    error
}

// Settings keys the worker keeps in the kiosk's database.
const (
	SettingSurvey     = "sync.survey"
	SettingSurveyETag = "sync.survey_etag"
)

// ErrRevoked means the collector no longer accepts this device's token.
var ErrRevoked = errors.New("the collector refused this device's token (revoked or unknown): enroll the device again")

// New checks the config and builds a worker.
func New(cfg Config) (*Worker, error) {
	if cfg.Store == nil || cfg.CollectorURL == "" || cfg.Token == "" {
		return nil, errors.New("sync: Store, CollectorURL and Token are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.AttemptTimeout, 15*time.Second)
	def(&cfg.RetryWaitMin, 500*time.Millisecond)
	def(&cfg.RetryWaitMax, 30*time.Second)
	def(&cfg.Idle, 10*time.Second)
	def(&cfg.IdleMax, 60*time.Second)
	def(&cfg.MaxBackoff, 5*time.Minute)
	def(&cfg.Heartbeat, 5*time.Minute)
	def(&cfg.ConfigEvery, 5*time.Minute)
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 2
	}
	if cfg.BatchItems <= 0 || cfg.BatchItems > wire.MaxBatchItems {
		cfg.BatchItems = wire.MaxBatchItems
	}
	cfg.CollectorURL = strings.TrimRight(cfg.CollectorURL, "/")
	w := &Worker{cfg: cfg, log: cfg.Logger, now: cfg.Now, wake: make(chan struct{}, 1)}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.now == nil {
		w.now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	hc.Timeout = cfg.AttemptTimeout
	w.client = &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       slogAdapter{w.log},
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		RetryMax:     cfg.RetryMax,
		CheckRetry:   retryPolicy,
		Backoff:      backoff,
		// Hand back the last response when retries run out, so a 4xx can be told from
		// a 5xx and a 401 seen for what it is.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return w, nil
}

// retryPolicy retries what may succeed on a second try: connection errors, 408, 429
// and 5xx other than 501. Other 4xx would fail the same way again.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if resp != nil && resp.StatusCode == http.StatusRequestTimeout {
		return ctx.Err() == nil, nil
	}
	return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
}

// backoff honours Retry-After on 429 and 503, capped at max (a collector asking for an
// hour must not park a kiosk that long: the outbox loop backs off on its own), and
// otherwise waits a random time up to min·2ⁿ ("full jitter"), so a fleet coming back
// online together does not stampede the collector.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, hi)
		}
	}
	return jitter(lo, hi, attempt)
}

// jitter picks a wait between lo/2 and lo·2ⁿ, capped at hi.
func jitter(lo, hi time.Duration, attempt int) time.Duration {
	ceiling := lo << min(attempt, 30)
	if ceiling <= 0 || ceiling > hi {
		ceiling = hi
	}
	return lo/2 + time.Duration(rand.Int64N(int64(ceiling-lo/2)+1))
}

// slogAdapter gives retryablehttp a leveled logger that writes to slog, not stderr.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Error(msg string, kv ...any) { a.l.Warn("sync http: "+msg, kv...) }
func (a slogAdapter) Info(msg string, kv ...any)  { a.l.Debug("sync http: "+msg, kv...) }
func (a slogAdapter) Debug(msg string, kv ...any) { a.l.Debug("sync http: "+msg, kv...) }
func (a slogAdapter) Warn(msg string, kv ...any)  { a.l.Warn("sync http: "+msg, kv...) }

// Status returns a snapshot of the worker's state.
func (w *Worker) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

func (w *Worker) update(f func(*Status)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(&w.status)
}

// SyncNow wakes the worker for a round at once (the "Sync now" button, a new response).
func (w *Worker) SyncNow() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Start runs the worker in the background until Stop is called or ctx ends. A worker
// is started at most once.
func (w *Worker) Start(ctx context.Context) {
	w.lifecycle.Lock()
	defer w.lifecycle.Unlock()
	if w.done != nil {
		return
	}
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		w.runErr = w.Run(ctx)
	}()
}

// Done is closed when a started worker has returned; nil before Start.
func (w *Worker) Done() <-chan struct{} {
	w.lifecycle.Lock()
	defer w.lifecycle.Unlock()
	return w.done
}

// Stop cancels a started worker and waits until it has returned, so that no upload is
// in flight and no acknowledgement is still being applied: only then may the caller
// close the database. It returns why the worker ended, nil for a plain stop.
func (w *Worker) Stop() error {
	w.lifecycle.Lock()
	defer w.lifecycle.Unlock()
	if w.done == nil {
		return nil
	}
	w.cancel()
	<-w.done
	if errors.Is(w.runErr, context.Canceled) {
		return nil
	}
	return w.runErr
}

// Run uploads until ctx ends: a round, then a pause that SyncNow cuts short: Idle after a
// round that found work, IdleMax after one that found none, growing up to MaxBackoff
// while rounds fail. A revoked token stops uploads until the process restarts with a new
// one.
//
// A round finds work when it uploads a response, sends a manager's move of a case, pulls
// cases that differ from the cached ones, or leaves a remote action's result to send.
// Uploads never wait for IdleMax (a new response wakes the worker); what does is news
// from the collector alone: a case opened from another channel, or one HQ moved, shows
// on an idle kiosk within IdleMax. Each round costs an idle kiosk's CPU tens of
// milliseconds (a drain pass, the cases' pull, their queries), most of what the idle
// kiosk spends: one a minute rather than six.
func (w *Worker) Run(ctx context.Context) error {
	var lastHeartbeat, lastConfig, lastChannels time.Time
	failures := 0
	// Once a run (a new version may send what an older one could not), and whenever the
	// clock is stepped, the quarantined responses are judged again.
	w.requeue(ctx, "start")
	clock := newClockWatch(w.now)
	for {
		if clock.stepped() {
			w.requeue(ctx, "the clock was set")
		}
		if time.Since(lastConfig) >= w.cfg.ConfigEvery {
			if err := w.PullConfig(ctx); err == nil {
				lastConfig = time.Now()
			}
		}
		held, err := w.Drain(ctx)
		casesMoved := false
		if err == nil {
			// Responses first: they are the shoppers' answers; the manager's moves follow.
			casesMoved, err = w.syncCases(ctx)
		}
		if ctx.Err() != nil {
			return ctx.Err() // a shutdown, not a failed round
		}
		// A remote action's result goes back in the next round, not a heartbeat later.
		if err == nil && (time.Since(lastHeartbeat) >= w.cfg.Heartbeat || w.resultsWaiting()) {
			if hbErr := w.SendHeartbeat(ctx); hbErr == nil {
				lastHeartbeat = time.Now()
			}
		}
		if err == nil && time.Since(lastChannels) >= w.cfg.ConfigEvery {
			if chErr := w.PullChannels(ctx); chErr == nil {
				lastChannels = time.Now()
			} else if ctx.Err() == nil {
				w.log.Warn("could not pull the store's figures per channel; the kept ones stay", "err", chErr)
			}
		}
		var wait time.Duration
		switch {
		case errors.Is(err, ErrRevoked):
			w.log.Error("uploads stopped", "err", err)
			<-ctx.Done()
			return ctx.Err()
		case err != nil:
			failures++
			wait = jitter(w.cfg.Idle, w.cfg.MaxBackoff, failures)
			w.log.Warn("sync round failed; the responses stay in the outbox", "err", err, "retry_in", wait.Round(time.Second))
		default:
			failures = 0
			wait = w.cfg.Idle
			// A heartbeat's reply may have brought a remote action: its result goes soon.
			if held == 0 && !casesMoved && !w.resultsWaiting() {
				wait = max(w.cfg.IdleMax, w.cfg.Idle)
			}
		}
		w.update(func(s *Status) { s.NextAttemptIn = wait.Round(time.Second).String() })
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-w.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// PullConfig is the run loop's config pull: the survey, then, once the collector has
// answered, its contact key and the device settings HQ gives the store. It fails only
// when the survey pull does (the loop then tries again next round); a failure of the
// other two is logged, and what the kiosk kept stays.
func (w *Worker) PullConfig(ctx context.Context) error {
	if err := w.PullSurvey(ctx); err != nil {
		return err
	}
	if err := w.PullContactKey(ctx); err != nil && ctx.Err() == nil {
		w.log.Warn("could not pull the collector's contact key; the kept one stays", "err", err)
	}
	if err := w.PullDeviceSettings(ctx); err != nil && ctx.Err() == nil {
		w.log.Warn("could not pull the device settings; the kept ones stay", "err", err)
	}
	return nil
}

// Drain uploads batches until the outbox is empty or a batch fails. It returns how many
// responses the collector now holds (accepted or duplicate).
//
// Each pass reads the outbox in order from its start (drainPass); a response completed
// meanwhile behind the pass's place (a follow-up left open longer than later taps) is
// found by the next pass, so Drain ends only when a pass finds nothing.
func (w *Worker) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		held, sent, err := w.drainPass(ctx)
		total += held
		if err != nil || sent == 0 {
			return total, err
		}
	}
}

// drainPass uploads the outbox once through, in a pipeline: while two batches upload
// (uploadsInFlight), the next is read and encoded, and the acknowledgements that came
// back are applied (marked synced, rejections quarantined) in the order they come. The
// steps hand over through unbuffered channels, so at most one batch is encoded ahead
// and one acknowledgement waits. A batch is marked synced only after the collector
// acknowledged it. A failure in any step stops the pass: no batch is sent after it, the
// other upload in flight finishes and acknowledgements already received are still
// applied, and what was not acknowledged stays in the outbox for the next round (a
// resend is a duplicate at the collector: exactly-once rests on the ids, not on the
// order of the batches). It returns how many responses the collector holds and how many
// batches it acknowledged.
func (w *Worker) drainPass(parent context.Context) (held, sent int, err error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	ready := make(chan outgoing)
	readErr := make(chan error, 1)
	go func() { readErr <- w.readAhead(ctx, ready) }()

	acks := make(chan ack)
	// applyFailed is closed when applying an answer fails: no further batch is sent. The
	// upload in flight is let finish; its answer is not applied, so it is sent again.
	applyFailed := make(chan struct{})
	type applied struct {
		held int
		err  error
	}
	appliedc := make(chan applied, 1)
	go func() {
		var res applied
		for a := range acks {
			if res.err != nil {
				continue // the local database failed: the rest stays pending and is resent
			}
			n, err := w.apply(ctx, a)
			res.held += n
			if err != nil {
				res.err = err
				close(applyFailed)
			}
		}
		appliedc <- res
	}()

	var (
		mu        stdsync.Mutex // guards uploadErr and sent
		uploadErr error
		uploaders stdsync.WaitGroup
	)
	stopped := func() bool {
		select {
		case <-applyFailed:
			return true
		default:
		}
		mu.Lock()
		defer mu.Unlock()
		return uploadErr != nil
	}
	for range uploadsInFlight {
		uploaders.Go(func() {
			for b := range ready {
				if stopped() {
					return
				}
				a, err := w.upload(ctx, b)
				if len(a.done)+len(a.rejected) > 0 || err == nil {
					acks <- a
				}
				mu.Lock()
				if err == nil {
					sent++
				} else if uploadErr == nil {
					uploadErr = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	uploaders.Wait()
	cancel()
	rErr := <-readErr // the reader has stopped: nothing touches the store after Drain
	close(acks)
	res := <-appliedc
	switch {
	case res.err != nil:
		return res.held, sent, res.err
	case uploadErr != nil:
		return res.held, sent, uploadErr
	case parent.Err() != nil:
		return res.held, sent, parent.Err()
	case rErr != nil && !errors.Is(rErr, context.Canceled):
		return res.held, sent, rErr
	}
	return res.held, sent, nil
}

// uploadsInFlight is how many batches a drain has at the collector at once. Two: the
// collector decodes and checks one while its writer commits the other, which takes a
// week's backlog from 1.5 to about 1.25 times the collector's own ingest of it. A
// store's uploads go to one writer at the collector, so a third only queues there: it
// measured no faster.
const uploadsInFlight = 2

// outgoing is a batch read from the outbox and encoded for upload.
type outgoing struct {
	rs   []store.Response // the responses in the body, oldest first
	body []byte           // gzip JSON
	// stamped is the device time written in the body; zero when it carries no clock.
	stamped time.Time
}

// ack is what the collector said of a batch: the responses it holds and the ones it
// rejected.
type ack struct {
	sent     int
	done     []string // accepted or duplicate: to mark synced
	rejected []wire.Rejection
}

// readAhead reads the outbox from its start in batches, encodes each and hands it to
// out, until the outbox is read through or ctx ends. It closes out when it returns.
func (w *Worker) readAhead(ctx context.Context, out chan<- outgoing) error {
	defer close(out)
	var after store.OutboxKey
	for {
		rs, err := w.cfg.Store.PendingAfter(ctx, after, w.cfg.BatchItems)
		if err != nil {
			return fmt.Errorf("read outbox: %w", err)
		}
		if len(rs) == 0 {
			return nil
		}
		b, err := w.encode(rs, !w.noClock.Load())
		if err != nil {
			return w.fail(fmt.Errorf("encode batch: %w", err), false)
		}
		// The responses that did not fit in the body are read again with the next batch.
		last := b.rs[len(b.rs)-1]
		after = store.OutboxKey{CreatedAt: last.CreatedAt, ID: last.ID}
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// maxStampAge is how long an encoded batch may wait for its upload before it is encoded
// again: its device time (and the ages) must say when it was sent, give or take less
// than the collector's tolerance of 5 s.
const maxStampAge = time.Second

// encode encodes the oldest of rs that fit in one body, with the device's clock unless
// withClock is false.
func (w *Worker) encode(rs []store.Response, withClock bool) (outgoing, error) {
	var (
		deviceTime time.Time
		ages       func([]string) []store.CaptureAge
	)
	if withClock {
		deviceTime = w.now()
		if a, ok := w.cfg.Store.(interface {
			CaptureAges(ids []string) []store.CaptureAge
		}); ok {
			ages = a.CaptureAges
		}
	}
	body, n, err := w.enc.encode(rs, deviceTime, ages)
	if err != nil {
		return outgoing{}, err
	}
	return outgoing{rs: rs[:n], body: body, stamped: deviceTime}, nil
}

// encoder turns batches into gzip JSON bodies, reusing its gzip writers and JSON buffers:
// a catch-up encodes dozens of batches in a row, and a gzip writer alone allocates
// about 800 KiB. Its zero value is ready to use.
type encoder struct {
	zws  stdsync.Pool // *gzip.Writer
	bufs stdsync.Pool // *bytes.Buffer: a batch's JSON before compression
}

// encodeBatch is encoder.encode with writers of its own, for tests that build a body as
// the worker would.
func encodeBatch(rs []store.Response, deviceTime time.Time, ages func(ids []string) []store.CaptureAge) ([]byte, int, error) {
	var e encoder
	return e.encode(rs, deviceTime, ages)
}

// encode turns the oldest of rs into a gzip body whose JSON stays under MaxBatchBytes,
// with the device's clock: its wall time (zero: none) and, from ages, the monotonic ages
// of the responses this run captured. It returns how many responses went in.
func (e *encoder) encode(rs []store.Response, deviceTime time.Time, ages func(ids []string) []store.CaptureAge) ([]byte, int, error) {
	buf, _ := e.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer e.bufs.Put(buf)
	buf.Reset()
	// The envelope is written by hand around the items, each encoded once: marshalling
	// them as json.RawMessage would scan every byte again.
	const (
		head = `{"responses":[`
		// Room for the tail: device_time and each response's age.
		tailBytes = len(`],"device_time":"2006-01-02T15:04:05.999999999+00:00","ages":[]}`)
		ageBytes  = 96
	)
	buf.WriteString(head)
	enc := json.NewEncoder(buf)
	n := 0
	for _, r := range rs {
		mark := buf.Len()
		if n > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(toWire(r)); err != nil {
			return nil, 0, fmt.Errorf("response %s: %w", r.ID, err)
		}
		if buf.Len()+(n+1)*ageBytes+tailBytes > wire.MaxBatchBytes && n > 0 {
			buf.Truncate(mark)
			break
		}
		n++
	}
	buf.WriteByte(']')
	if !deviceTime.IsZero() {
		buf.WriteString(`,"device_time":`)
		if err := enc.Encode(deviceTime); err != nil {
			return nil, 0, fmt.Errorf("device time: %w", err)
		}
	}
	if ages != nil {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = rs[i].ID
		}
		var wireAges []wire.Age
		for _, a := range ages(ids) {
			wireAges = append(wireAges, wire.Age{ID: a.ID, CreatedMS: a.Created.Milliseconds(), CompletedMS: a.Completed.Milliseconds()})
		}
		if len(wireAges) > 0 {
			buf.WriteString(`,"ages":`)
			if err := enc.Encode(wireAges); err != nil {
				return nil, 0, fmt.Errorf("ages: %w", err)
			}
		}
	}
	buf.WriteByte('}')

	// The body goes to the HTTP client, which may read it after the upload returns
	// (RoundTrip closes bodies in its own time), so it is not pooled; at a few tens of
	// bytes a response it is small beside what is.
	out := bytes.NewBuffer(make([]byte, 0, buf.Len()/8))
	zw, _ := e.zws.Get().(*gzip.Writer)
	if zw == nil {
		zw = gzip.NewWriter(out)
	} else {
		zw.Reset(out)
	}
	defer e.zws.Put(zw)
	if _, err := zw.Write(buf.Bytes()); err != nil {
		return nil, 0, fmt.Errorf("compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, 0, fmt.Errorf("compress: %w", err)
	}
	return out.Bytes(), n, nil
}

func toWire(r store.Response) wire.Response {
	reasons := r.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	return wire.Response{ID: r.ID, Score: r.Score, Reasons: reasons, Comment: r.Comment, Contact: r.Contact,
		SealedContact: r.SealedContact, ContactConsent: r.ContactConsent, Locale: r.Locale, SurveyVersion: r.SurveyVersion,
		CreatedAt: r.CreatedAt.UTC(), CompletedAt: r.CompletedAt.UTC(), Outcome: r.Outcome, Suspect: r.Suspect,
		Answers: r.Answers}
}

// ackTimeout bounds applying one batch's answer to the local database.
const ackTimeout = 30 * time.Second

// upload sends one batch and reads the collector's answer. On an error the ack holds
// what the collector did say, if anything, to be applied all the same.
func (w *Worker) upload(ctx context.Context, b outgoing) (ack, error) {
	var err error
	withClock := !b.stamped.IsZero()
	if withClock && (w.noClock.Load() || w.now().Sub(b.stamped) > maxStampAge) {
		// Encoded too long ago for its clock to be right, or the collector turned out
		// not to take the clock.
		if b, err = w.encode(b.rs, !w.noClock.Load()); err != nil {
			return ack{}, w.fail(fmt.Errorf("encode batch: %w", err), false)
		}
	}
	resp, err := w.post(ctx, b.body)
	if errors.Is(err, errClockUnknown) {
		// An older collector: send without the clock from now on (it rejects times far
		// in the future, as before).
		w.log.Warn("the collector does not take the device's clock; uploading without it")
		w.noClock.Store(true)
		if b, err = w.encode(b.rs, false); err != nil {
			return ack{}, w.fail(fmt.Errorf("encode batch: %w", err), false)
		}
		resp, err = w.post(ctx, b.body)
	}
	if err != nil {
		return ack{}, err
	}
	defer resp.Body.Close()
	return w.readAck(resp, b.rs)
}

// post sends one encoded batch, asking for the compact reply.
func (w *Worker) post(ctx context.Context, body []byte) (*http.Response, error) {
	w.update(func(s *Status) { s.LastAttempt = w.now() })
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, w.cfg.CollectorURL+"/v1/responses", body)
	if err != nil {
		return nil, fmt.Errorf("build upload request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set(wire.PreferHeader, wire.PreferMinimal)
	return w.do(req)
}

// readAck reads the collector's answer to the batch rs: the compact one when the
// collector says it applied the preference, else the full one (a collector from before).
func (w *Worker) readAck(resp *http.Response, rs []store.Response) (ack, error) {
	body := io.LimitReader(resp.Body, 4<<20)
	a := ack{sent: len(rs)}
	if !preferenceApplied(resp.Header, wire.PreferMinimal) {
		var result wire.UploadResult
		if err := json.NewDecoder(body).Decode(&result); err != nil {
			return ack{}, w.fail(fmt.Errorf("read the collector's answer: %w", err), false)
		}
		a.done = append(result.Accepted, result.Duplicate...)
		a.rejected = result.Rejected
		return a, nil
	}
	var sum wire.UploadSummary
	if err := json.NewDecoder(body).Decode(&sum); err != nil {
		return ack{}, w.fail(fmt.Errorf("read the collector's answer: %w", err), false)
	}
	// Every response not named is marked synced, so the answer must account for the
	// batch exactly; one that does not is not applied at all, and the batch is sent again.
	rejected := make(map[string]bool, len(sum.Rejected))
	inBatch := make(map[string]bool, len(rs))
	for _, r := range rs {
		inBatch[r.ID] = true
	}
	for _, rej := range sum.Rejected {
		if !inBatch[rej.ID] || rejected[rej.ID] {
			return ack{}, w.fail(fmt.Errorf("the collector's answer rejects %q, which is not in the batch or named twice; nothing of it was applied", rej.ID), true)
		}
		rejected[rej.ID] = true
	}
	if got := sum.Accepted + sum.Duplicate + len(sum.Rejected); got != len(rs) {
		return ack{}, w.fail(fmt.Errorf("the collector answered for %d of %d responses (%d accepted, %d duplicate, %d rejected); nothing of it was applied",
			got, len(rs), sum.Accepted, sum.Duplicate, len(sum.Rejected)), true)
	}
	a.done = make([]string, 0, len(rs)-len(rejected))
	for _, r := range rs {
		if !rejected[r.ID] {
			a.done = append(a.done, r.ID)
		}
	}
	a.rejected = sum.Rejected
	return a, nil
}

// preferenceApplied says whether the reply's Preference-Applied header names pref.
func preferenceApplied(h http.Header, pref string) bool {
	for _, v := range h.Values(wire.PreferenceAppliedHeader) {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), pref) {
				return true
			}
		}
	}
	return false
}

// apply applies the collector's answer to one batch to the kiosk's database: the
// responses it holds are marked synced, the rejected ones quarantined. It returns how
// many the collector holds.
func (w *Worker) apply(ctx context.Context, a ack) (int, error) {
	// The collector has committed; from here on a crash only means the next round sends
	// these again and the collector answers "duplicate". A shutdown arriving now still
	// lets the answer be applied (a few local writes), so the kiosk does not resend what
	// the collector already holds; the timeout only guards against a stuck disk.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	if _, err := w.cfg.Store.MarkSynced(actx, a.done); err != nil {
		return 0, fmt.Errorf("mark %d responses synced: %w", len(a.done), err)
	}
	for _, rej := range a.rejected {
		if err := w.cfg.Store.Quarantine(actx, rej.ID, rej.Error); err != nil && !errors.Is(err, store.ErrNotQuarantine) {
			return len(a.done), fmt.Errorf("quarantine %s: %w", rej.ID, err)
		}
		w.log.Warn("collector rejected a response; it is kept in quarantine", "id", rej.ID, "reason", rej.Error)
	}
	if len(a.done)+len(a.rejected) < a.sent {
		return len(a.done), w.fail(fmt.Errorf("the collector answered for %d of %d responses", len(a.done)+len(a.rejected), a.sent), true)
	}
	w.update(func(s *Status) {
		s.LastSuccess = w.now()
		s.Uploaded += int64(len(a.done))
	})
	return len(a.done), nil
}

// do sends a request with the device token and turns failures into plain-words errors.
func (w *Worker) do(req *retryablehttp.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+w.cfg.Token)
	resp, err := w.client.Do(req)
	if err != nil {
		// A certificate problem is named (unknown CA, expired, wrong name, pin
		// mismatch); retryablehttp does not retry it, the outbox loop does, with backoff.
		return nil, w.fail(fmt.Errorf("cannot reach the collector at %s: %w", w.cfg.CollectorURL, tlstrust.Describe(err)), false)
	}
	w.noteTLS(resp)
	if resp.StatusCode < 300 || resp.StatusCode == http.StatusNotModified {
		w.update(func(s *Status) { s.Online, s.LastError = true, "" })
		return resp, nil
	}
	defer resp.Body.Close()
	var e wire.Error
	json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
	detail := e.Detail
	if detail == "" {
		detail = e.Error
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		w.update(func(s *Status) { s.Revoked = true })
		return nil, w.fail(ErrRevoked, true)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return nil, w.fail(fmt.Errorf("the collector is busy or failing (%s): %s", resp.Status, detail), false)
	}
	if resp.StatusCode == http.StatusBadRequest && e.Error == "bad_json" &&
		(strings.Contains(detail, `unknown field "device_time"`) || strings.Contains(detail, `unknown field "ages"`)) {
		return nil, errClockUnknown
	}
	if resp.StatusCode == http.StatusBadRequest && e.Error == "bad_json" &&
		(strings.Contains(detail, `unknown field "settings_version"`) || strings.Contains(detail, `unknown field "local_overrides"`)) {
		return nil, errSettingsUnknown
	}
	return nil, w.fail(fmt.Errorf("the collector refused the request (%s): %s", resp.Status, detail), true)
}

// errSettingsUnknown: a collector from before device settings refused the heartbeat's
// settings version or local overrides (it decodes bodies strictly).
var errSettingsUnknown = errors.New("the collector does not take device settings in heartbeats")

// errClockUnknown: a collector from before refused the device's clock in an upload.
var errClockUnknown = errors.New("the collector does not take the device's clock with uploads")

// fail records err as the last error; online says whether the collector was reached.
func (w *Worker) fail(err error, online bool) error {
	w.update(func(s *Status) { s.LastError, s.Online = err.Error(), online })
	return err
}

// PullSurvey fetches the survey if it changed, stores it in the kiosk's database (so a
// kiosk restarted offline shows it) and hands it to OnSurvey.
func (w *Worker) PullSurvey(ctx context.Context) error {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, w.cfg.CollectorURL+"/v1/config", nil)
	if err != nil {
		return err
	}
	if etag, ok, _ := w.cfg.Store.Setting(ctx, SettingSurveyETag); ok {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := w.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return nil
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read survey: %w", err)
	}
	var s wire.Survey
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("decode survey: %w", err)
	}
	if err := s.Validate(); err != nil {
		return fmt.Errorf("the collector sent an invalid survey, keeping the current one: %w", err)
	}
	if err := w.cfg.Store.SetSetting(ctx, SettingSurvey, string(raw)); err != nil {
		return err
	}
	if err := w.cfg.Store.SetSetting(ctx, SettingSurveyETag, resp.Header.Get("ETag")); err != nil {
		return err
	}
	w.log.Info("new survey from the collector", "version", s.Version)
	if w.cfg.OnSurvey != nil {
		w.cfg.OnSurvey(s)
	}
	// The collector's rules changed: what it rejected before is judged again.
	w.requeue(ctx, "a new survey")
	return nil
}

// requeue puts quarantined responses back in the outbox, when the store can.
func (w *Worker) requeue(ctx context.Context, why string) {
	q, ok := w.cfg.Store.(interface {
		Requeue(ctx context.Context) (int64, error)
	})
	if !ok {
		return
	}
	n, err := q.Requeue(ctx)
	if err != nil {
		w.log.Warn("could not requeue quarantined responses", "why", why, "err", err)
		return
	}
	if n > 0 {
		w.log.Info("quarantined responses requeued for the collector to judge again", "why", why, "count", n)
	}
}

// clockWatch notices the wall clock being stepped (set by hand, or by NTP fixing it): the
// difference between the wall and the monotonic clock moves.
type clockWatch struct {
	wall  func() time.Time
	start time.Time // carries a monotonic reading
	base  time.Time
}

func newClockWatch(wall func() time.Time) *clockWatch {
	return &clockWatch{wall: wall, start: time.Now(), base: wall().Round(0)}
}

// stepped reports whether the wall clock moved by more than a minute against the
// monotonic clock since the last call that reported a step. The wall readings are
// stripped of their monotonic reading (Round(0)), else Sub would use it.
func (c *clockWatch) stepped() bool {
	drift := c.wall().Round(0).Sub(c.base) - time.Since(c.start)
	if drift > time.Minute || drift < -time.Minute {
		c.start, c.base = time.Now(), c.wall().Round(0)
		return true
	}
	return false
}

// CheckCollector asks the collector, as this device, whether it is reachable and accepts
// the token. Unlike PullSurvey it writes nothing locally, so it is safe on a database
// opened read-only (npskiosk status and doctor).
func (w *Worker) CheckCollector(ctx context.Context) error {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, w.cfg.CollectorURL+"/v1/config", nil)
	if err != nil {
		return fmt.Errorf("build config request: %w", err)
	}
	if etag, ok, _ := w.cfg.Store.Setting(ctx, SettingSurveyETag); ok {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := w.do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return nil
}

// CachedSurvey returns the last survey the collector sent, if there is one.
func CachedSurvey(ctx context.Context, st interface {
	Setting(ctx context.Context, key string) (string, bool, error)
}) (wire.Survey, bool, error) {
	raw, ok, err := st.Setting(ctx, SettingSurvey)
	if err != nil || !ok {
		return wire.Survey{}, false, err
	}
	var s wire.Survey
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return wire.Survey{}, false, fmt.Errorf("cached survey: %w", err)
	}
	return s, true, nil
}

// RetentionStore is what the heartbeat says of the kiosk's database: its size and its
// last purge.
type RetentionStore interface {
	Size() int64
	PurgeStats(ctx context.Context) (store.PurgeStats, error)
}

func (w *Worker) retention() RetentionStore {
	if w.cfg.Retention != nil {
		return w.cfg.Retention
	}
	r, _ := w.cfg.Store.(RetentionStore)
	return r
}

// SendHeartbeat reports the device's health.
func (w *Worker) SendHeartbeat(ctx context.Context) error {
	ob, err := w.cfg.Store.Outbox(ctx)
	if err != nil {
		return err
	}
	hb := wire.Heartbeat{AppVersion: w.cfg.AppVersion, QueueLength: ob.Pending, DeviceTime: w.now(),
		CollectorCertExpiry: w.CollectorCertExpiry()}
	if !w.noSettings.Load() {
		hb.LocalOverrides = w.cfg.LocalOverrides
		if ds, ok, err := CachedDeviceSettings(ctx, w.cfg.Store); err == nil && ok {
			hb.SettingsVersion = ds.Version
		}
	}
	if ks := w.contactKeys(); ks != nil {
		if k, ok, err := ks.ContactKey(ctx); err == nil && ok {
			hb.ContactKeyID = k.ID
		}
	}
	if !ob.OldestPending.IsZero() {
		hb.OldestPendingAge = w.now().Sub(ob.OldestPending).Seconds()
	}
	if w.cfg.FreeDisk != nil {
		hb.FreeDiskBytes = w.cfg.FreeDisk()
	}
	if r := w.retention(); r != nil {
		hb.DBBytes = r.Size()
		if st, err := r.PurgeStats(ctx); err == nil {
			hb.LastPurgeAt, hb.LastPurged = st.LastAt, st.LastPurged
		}
	}
	if w.cfg.UpdateDir != "" {
		if st, err := ReadUpdateStatus(w.cfg.UpdateDir); err == nil {
			hb.UpdateTarget, hb.UpdateState = st.Target, st.State
		} else {
			w.log.Warn("could not read the updater's state", "err", err)
		}
	}
	w.mu.Lock()
	hb.Scrubbed = w.scrubbed
	w.mu.Unlock()
	if err := w.loadActions(ctx); err != nil {
		w.log.Warn("remote actions' results not sent", "err", err)
	} else {
		hb.ActionResults = w.pendingResults()
	}
	body, err := json.Marshal(hb)
	if err != nil {
		return err
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, w.cfg.CollectorURL+"/v1/heartbeat", body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.do(req)
	if errors.Is(err, errSettingsUnknown) {
		// A collector from before device settings: the heartbeat goes without them.
		w.noSettings.Store(true)
		w.log.Info("the collector does not take device settings in heartbeats; leaving them out")
		return w.SendHeartbeat(ctx)
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	w.mu.Lock()
	w.scrubbed = slices.DeleteFunc(w.scrubbed, func(id string) bool { return slices.Contains(hb.Scrubbed, id) })
	w.mu.Unlock()
	w.resultsSent(ctx, hb.ActionResults)
	var reply wire.HeartbeatReply // 204: nothing to scrub, nothing asked, no target
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&reply); err != nil {
			return fmt.Errorf("heartbeat reply: %w", err)
		}
	}
	if w.cfg.UpdateDir != "" {
		if err := WriteUpdateTarget(w.cfg.UpdateDir, reply.TargetVersion); err != nil {
			w.log.Warn("could not note the rollout's target version for the updater", "target", reply.TargetVersion, "err", err)
		}
	}
	if err := w.scrub(ctx, reply); err != nil {
		return err
	}
	if len(reply.Actions) > 0 {
		if err := w.loadActions(ctx); err != nil {
			return err // not noted as handled, so not done: the collector sends them again
		}
		return w.runActions(ctx, reply.Actions)
	}
	return nil
}

// scrub clears on the kiosk the responses an erasure cleared at the collector, and
// keeps their ids for the next heartbeat to say so.
func (w *Worker) scrub(ctx context.Context, reply wire.HeartbeatReply) error {
	if len(reply.Scrub) == 0 {
		return nil
	}
	s, ok := w.cfg.Store.(interface {
		ScrubErased(ctx context.Context, responseIDs, caseIDs []string) (int, error)
	})
	if !ok {
		return nil
	}
	n, err := s.ScrubErased(ctx, reply.Scrub, reply.ScrubCases)
	if err != nil {
		return fmt.Errorf("scrub erased responses: %w", err)
	}
	w.log.Info("scrubbed responses erased at the collector", "asked", len(reply.Scrub), "changed", n)
	w.mu.Lock()
	for _, id := range reply.Scrub {
		if !slices.Contains(w.scrubbed, id) {
			w.scrubbed = append(w.scrubbed, id)
		}
	}
	w.mu.Unlock()
	return nil
}

// EnrollRetryWindow is how long, after its first use, an enrollment code still enrolls
// the same device again (with a new token), provided it has not expired: a kiosk that
// could not save its token retries with the code it has. It is the collector's promise
// (collector/storage.EnrollRetryWindow); a test keeps the two equal.
const EnrollRetryWindow = 15 * time.Minute

// Enroll exchanges a one-time code for this device's identity and token.
func Enroll(ctx context.Context, collectorURL, code string, hc *http.Client) (wire.EnrollResponse, error) {
	return EnrollWith(ctx, collectorURL, wire.EnrollRequest{Code: code}, hc)
}

// EnrollWith is Enroll with the whole request: an enrollment key (from a provisioning
// file) and the name the new device asks for.
func EnrollWith(ctx context.Context, collectorURL string, enroll wire.EnrollRequest, hc *http.Client) (wire.EnrollResponse, error) {
	var r wire.EnrollResponse
	if err := postEnroll(ctx, collectorURL, "/v1/enroll", enroll, hc, &r); err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	return r, nil
}

// CheckEnrollment asks the collector which store an enrollment would join, spending
// nothing: the setup screen's connection test.
func CheckEnrollment(ctx context.Context, collectorURL string, enroll wire.EnrollRequest, hc *http.Client) (wire.EnrollPreview, error) {
	var p wire.EnrollPreview
	if err := postEnroll(ctx, collectorURL, "/v1/enroll/check", enroll, hc, &p); err != nil {
		return wire.EnrollPreview{}, fmt.Errorf("check enrollment: %w", err)
	}
	return p, nil
}

// postEnroll posts an enrollment request to the collector's path and decodes the reply
// into out.
func postEnroll(ctx context.Context, collectorURL, path string, enroll wire.EnrollRequest, hc *http.Client, out any) error {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	url := strings.TrimRight(collectorURL, "/") + path
	body, _ := json.Marshal(enroll)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the collector: %w", tlstrust.Describe(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e wire.Error
		json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
		if resp.StatusCode == http.StatusNotFound && e.Error == "" {
			return fmt.Errorf("the collector said %s: is this the collector's address?", resp.Status)
		}
		return fmt.Errorf("the collector said %s: %s", resp.Status, e.Detail)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(out); err != nil {
		return fmt.Errorf("the collector's reply: %w", err)
	}
	return nil
}
