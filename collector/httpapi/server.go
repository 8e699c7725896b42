// Package httpapi is the collector's HTTP API: the device endpoints (enroll, upload,
// config, heartbeat) with device-token auth and per-device rate limits, the integration
// API (responses in received order, reports, comments, cases, invitations) for API tokens
// with scopes and its OpenAPI document, health and Prometheus metrics. docs/api.md
// describes it.
package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/authguard"
	"github.com/npskiosk/npskiosk/collector/invitations"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/pii"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// Config wires the HTTP API.
type Config struct {
	Service *collector.Service // required
	Logger  *slog.Logger       // nil means slog.Default()
	// DeviceRate and DeviceBurst limit each device's requests per second; a device over
	// its limit gets 429 with Retry-After. Zero means 10 per second, bursts of 60: a
	// week's catch-up (30 batches) goes through at once.
	DeviceRate  float64
	DeviceBurst int
	// Inviter sends e-mail invitations for POST /v1/invitations; nil: that endpoint
	// answers 503.
	Inviter *invitations.Inviter
	// Guard limits and records failed enrollment codes and tokens; nil: one with the
	// default rules and no trusted proxies. Give the dashboard the same one (Guard).
	Guard *authguard.Guard
}

// Server is the collector's HTTP API.
type Server struct {
	svc     *collector.Service
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	metrics *metrics
	limit   *limiter
	inviter *invitations.Inviter
	guard   *authguard.Guard
	routes  []Route
	openapi []byte // the integration API's OpenAPI document, as JSON
	uploads bodyReader
	// draining is set by Drain: /readyz fails, so a load balancer sends no new
	// requests, and every reply asks its client to close the connection.
	draining atomic.Bool
}

// New builds the API's handler.
func New(cfg Config) *Server {
	if cfg.DeviceRate <= 0 {
		cfg.DeviceRate = 10
	}
	if cfg.DeviceBurst <= 0 {
		cfg.DeviceBurst = 60
	}
	s := &Server{svc: cfg.Service, log: cfg.Logger, mux: http.NewServeMux(), metrics: newMetrics(),
		limit: newLimiter(cfg.DeviceRate, cfg.DeviceBurst), inviter: cfg.Inviter, guard: cfg.Guard}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.guard == nil && s.svc != nil {
		s.guard = authguard.New(authguard.Config{DB: s.svc.DB, Logger: s.log})
	}
	if doc, err := openAPIJSON(); err != nil {
		s.log.Error("integration API", "err", err) // openapi_test.go keeps this from happening
	} else {
		s.openapi = doc
	}
	s.handler = s.metrics.instrument(s.mux)
	s.metrics.watchCases(s.svc, s.log)
	if s.guard != nil {
		s.metrics.registry.MustRegister(s.guard.Collector())
	}
	// The metrics are served on an address of their own (Metrics): on the public one
	// they are refused, and the attempt is logged.
	s.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		s.guard.Refuse(r, "metrics_public")
		writeError(w, http.StatusNotFound, "not_found", "metrics are served on the metrics address only (npscollector serve --metrics-addr)")
	})
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.device("POST /v1/enroll", s.enroll)
	s.device("POST /v1/enroll/check", s.checkEnrollment)
	s.device("GET /v1/contact-key", s.contactKey)
	s.device("POST /v1/responses", s.deviceAuth(s.responses))
	s.device("GET /v1/config", s.deviceAuth(s.config))
	s.device("GET /v1/device/settings", s.deviceAuth(s.deviceSettings))
	s.device("POST /v1/heartbeat", s.deviceAuth(s.heartbeat))
	s.device("GET /v1/device/cases", s.deviceAuth(s.deviceCases))
	s.device("POST /v1/device/cases/{id}", s.deviceAuth(s.changeDeviceCase))
	s.device("GET /v1/device/channels", s.deviceAuth(s.deviceChannels))
	s.device("PUT "+wire.DiagnosticsPath, s.deviceAuth(s.putDiagnostics))
	// The integration API: each endpoint with the scope an API token needs for it.
	s.api("GET /v1/openapi.json", "", s.openAPI)
	s.api("GET /v1/responses", storage.ScopeReadResponses, s.scoped(storage.ScopeReadResponses, s.listResponses))
	for pattern, h := range map[string]readerHandler{
		"GET /v1/reports/nps":           s.reportNPS,
		"GET /v1/reports/trend":         s.reportTrend,
		"GET /v1/reports/stores":        s.reportStores,
		"GET /v1/reports/reasons":       s.reportReasons,
		"GET /v1/reports/channels":      s.reportBy(storage.ByChannel),
		"GET /v1/reports/touchpoints":   s.reportBy(storage.ByTouchpoint),
		"GET /v1/reports/regions":       s.reportByStoreLabel(storage.ByRegion),
		"GET /v1/reports/formats":       s.reportByStoreLabel(storage.ByFormat),
		"GET /v1/reports/questions":     s.reportQuestions,
		"GET /v1/reports/drivers":       s.reportDrivers,
		"GET /v1/reports/themes/status": s.reportThemesStatus,
		"GET /v1/comments":              s.comments,
		"GET /v1/cases":                 s.listCases,
		"GET /v1/cases/{id}":            s.getCase,
	} {
		s.api(pattern, storage.ScopeReadReports, s.scoped(storage.ScopeReadReports, h))
	}
	s.api("POST /v1/cases/{id}", storage.ScopeWriteCases, s.scoped(storage.ScopeWriteCases, s.changeCase))
	s.api("POST /v1/invitations", storage.ScopeWriteCases, s.scoped(storage.ScopeWriteCases, s.invite))
	s.api("POST /v1/erasures", storage.ScopeAdmin, s.scoped(storage.ScopeAdmin, s.erase))
	return s
}

// Guard is the API's guard, for the dashboard's sign-in.
func (s *Server) Guard() *authguard.Guard { return s.guard }

// Metrics serves the Prometheus metrics, for a listener of their own: see
// npscollector serve --metrics-addr.
func (s *Server) Metrics() http.Handler { return s.metrics.handler() }

// Handle adds a route beside the API's, such as the dashboard's pages, so that every
// reply is counted in the same metrics.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP implements http.Handler. While draining, every reply carries
// "Connection: close", so clients and a load balancer do not reuse a connection the
// collector is about to close.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		w.Header().Set("Connection", "close")
	}
	s.handler.ServeHTTP(w, r)
}

// Drain marks the collector as going away: /readyz answers 503 from now on, so a load
// balancer's health check takes it out of rotation, while requests already sent, or
// still arriving before the balancer notices, are served as usual. It cannot be undone;
// a collector that drained is stopped and started again.
func (s *Server) Drain() { s.draining.Store(true) }

// HTTPServer returns an http.Server with timeouts set, so a slow or stuck client cannot
// hold a connection forever.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, detail string) {
	writeJSON(w, status, wire.Error{Error: code, Detail: detail})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Ping(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "unhealthy", err.Error())
		return
	}
	// The current contact key's id, so IT sees which key kiosks are handed (and that
	// the collector has one) without signing in.
	res := map[string]string{"status": "ok"}
	if k, ok := s.svc.ContactKey(); ok {
		res["contact_key_id"] = k.ID
	}
	writeJSON(w, http.StatusOK, res)
}

// readyz says whether a load balancer should send requests here: 503 while draining
// (Drain) or when the database does not answer, else 200. /healthz says whether the
// process is alive and is unaffected by draining.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeError(w, http.StatusServiceUnavailable, "draining", "this collector is shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Ping(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "unhealthy", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Route is one endpoint of the API under /v1.
type Route struct {
	Pattern string // as http.ServeMux reads it: "GET /v1/responses"
	// Scope is what an API token needs for it; empty for a public endpoint or one of the
	// devices'.
	Scope string
	// Device marks the endpoints of kiosks (enrollment, upload, config, heartbeat, …),
	// which docs/api.md describes and the integration API's OpenAPI document does not.
	Device bool
}

// Routes lists the endpoints New registered under /v1, for the test that holds the
// OpenAPI document to them.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

// device registers an endpoint of the kiosks.
func (s *Server) device(pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Pattern: pattern, Device: true})
	s.mux.HandleFunc(pattern, h)
}

// api registers an endpoint of the integration API; h checks scope itself (scoped).
func (s *Server) api(pattern, scope string, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Pattern: pattern, Scope: scope})
	s.mux.HandleFunc(pattern, h)
}

type deviceHandler func(w http.ResponseWriter, r *http.Request, d storage.EnrolledDevice)

// deviceAuth authenticates the request's device token.
func (s *Server) deviceAuth(next deviceHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			writeError(w, http.StatusUnauthorized, "unauthorized", "a device token is required: Authorization: Bearer <token>")
			return
		}
		if !s.allow(w, r, authguard.Token) {
			return
		}
		d, err := s.svc.AuthenticateDevice(r.Context(), token)
		if errors.Is(err, storage.ErrUnauthorized) {
			s.guard.Failed(r.Context(), r, authguard.Token, "as", "device")
			writeError(w, http.StatusUnauthorized, "unauthorized", "the device token is unknown or revoked")
			return
		}
		if err != nil {
			s.log.Error("authenticate device", "err", err)
			writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
			return
		}
		if ok, wait := s.limit.allow(d.ID); !ok {
			s.metrics.limited.Inc()
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests from this device; retry after "+strconv.Itoa(wait)+" s")
			return
		}
		next(w, r, d)
	}
}

// allow applies the guard's limit on failed attempts of kind: over it, it answers 429
// with Retry-After (or 503 when the database cannot say) and returns false.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, kind string) bool {
	ok, wait, err := s.guard.Allow(r.Context(), r, kind)
	if err != nil {
		s.log.Error("auth guard", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return false
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many failed attempts from this network; retry after "+strconv.Itoa(wait)+" s")
		return false
	}
	return true
}

// decodeBody reads a JSON body of at most limit bytes (after gzip), refusing unknown
// fields. It writes the error reply itself and returns false on failure.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	var b bodyReader
	return b.decode(w, r, limit, v)
}

// bodyReader reads request bodies, reusing gzip readers and buffers between requests:
// a kiosk's catch-up is dozens of uploads of up to 1 MiB in a row, and a fresh gzip
// reader and a buffer grown from nothing cost each of them allocations and copies. The
// zero value is ready to use; the Server keeps one for the uploads.
type bodyReader struct {
	zrs  stdsync.Pool // *gzip.Reader
	bufs stdsync.Pool // *bytes.Buffer
}

// decode is decodeBody with pooled readers and buffers.
func (b *bodyReader) decode(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	return b.with(w, r, limit, func(body []byte) bool { return decodeStrictly(w, body, v) })
}

// with reads a body of at most limit bytes (after gzip) into a pooled buffer and hands
// it to use, which must keep none of it. It writes the error reply itself and returns
// false when the body cannot be read; else what use returns.
func (b *bodyReader) with(w http.ResponseWriter, r *http.Request, limit int64, use func(body []byte) bool) bool {
	body := io.Reader(http.MaxBytesReader(w, r.Body, limit+1))
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, _ := b.zrs.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(body)
		} else {
			err = zr.Reset(body)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "body is not valid gzip")
			return false
		}
		defer func() {
			zr.Close()
			b.zrs.Put(zr)
		}()
		body = zr
	}
	buf, _ := b.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	// use keeps none of buf, so the buffer goes back to the pool when this returns.
	defer b.bufs.Put(buf)
	_, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || int64(buf.Len()) > limit {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body is over %d bytes", limit))
		return false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "could not read the body: "+err.Error())
		return false
	}
	return use(buf.Bytes())
}

// decodeStrictly decodes body into v, refusing unknown fields and trailing data. It
// writes the error reply itself and returns false on failure.
func decodeStrictly(w http.ResponseWriter, body []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_json", err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "bad_json", "trailing data after the JSON body")
		return false
	}
	return true
}

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	serveEnrollment(s, w, r, "enroll", s.svc.Enroll)
}

// checkEnrollment tells the kiosk's setup screen which store a code (with its setup
// PIN) or key would join, spending nothing. Failures count against the client as
// failed enrollments do, so it is no faster a way to guess codes.
func (s *Server) checkEnrollment(w http.ResponseWriter, r *http.Request) {
	serveEnrollment(s, w, r, "check enrollment", s.svc.CheckEnrollment)
}

// serveEnrollment answers an enrollment request with what do makes of it, under the
// enrollment limits.
func serveEnrollment[T any](s *Server, w http.ResponseWriter, r *http.Request, what string, do func(context.Context, wire.EnrollRequest) (T, error)) {
	var req wire.EnrollRequest
	if !decodeBody(w, r, 4<<10, &req) {
		return
	}
	if !s.allow(w, r, authguard.Enroll) {
		return
	}
	req.Code = strings.ToUpper(strings.TrimSpace(req.Code))
	req.SetupPIN = strings.TrimSpace(req.SetupPIN)
	res, err := do(r.Context(), req)
	if errors.Is(err, storage.ErrUnauthorized) {
		s.guard.Failed(r.Context(), r, authguard.Enroll)
		writeError(w, http.StatusUnauthorized, "unauthorized", enrollRefusal(req))
		return
	}
	if err != nil {
		s.log.Error(what, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// enrollRefusal says why an enrollment was refused, no more precisely than a guesser
// may learn.
func enrollRefusal(req wire.EnrollRequest) string {
	switch {
	case strings.HasPrefix(req.Code, storage.EnrollmentKeyPrefix):
		return "the enrollment key is unknown, revoked, expired or used up"
	case req.SetupPIN != "":
		return "the enrollment code is unknown, already used or expired, or the setup PIN is wrong"
	}
	return "the enrollment code is unknown, already used or expired"
}

// contactKey serves the public key kiosks and apps seal contacts to. It is public: it
// only lets one seal.
func (s *Server) contactKey(w http.ResponseWriter, r *http.Request) {
	k, ok := s.svc.ContactKey()
	if !ok {
		writeError(w, http.StatusNotFound, "no_contact_key", "this collector has no contact key: contacts are not asked for")
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, k)
}

func (s *Server) responses(w http.ResponseWriter, r *http.Request, d storage.EnrolledDevice) {
	var (
		req      wire.DeviceUpload
		rejected []wire.Rejection
	)
	read := s.uploads.with(w, r, wire.MaxBatchBytes, func(data []byte) bool {
		// A body as kiosks write it is decoded in one pass; any other the strict way,
		// which says what is wrong with it.
		var ok bool
		if req, rejected, ok = collector.DecodeUpload(data); ok {
			return true
		}
		// The items are decoded one by one (collector.DecodeBatch), so that one the
		// decoder would misread is refused alone; the rest of the body as
		// wire.DeviceUpload says.
		var body struct {
			wire.DeviceUpload
			Responses []json.RawMessage `json:"responses"`
		}
		if !decodeStrictly(w, data, &body) {
			return false
		}
		if len(body.Responses) > wire.MaxBatchItems {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large",
				fmt.Sprintf("%d responses in one batch, at most %d", len(body.Responses), wire.MaxBatchItems))
			return false
		}
		req = body.DeviceUpload
		req.Responses, rejected = collector.DecodeBatch(body.Responses)
		return true
	})
	if !read {
		return
	}
	res, err := s.svc.IngestUpload(r.Context(), d, req)
	if err != nil {
		s.log.Error("ingest", "device", d.ID, "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "could not store the batch; retry")
		return
	}
	res.Rejected = append(res.Rejected, rejected...)
	s.metrics.responses.WithLabelValues("accepted").Add(float64(len(res.Accepted)))
	s.metrics.responses.WithLabelValues("duplicate").Add(float64(len(res.Duplicate)))
	s.metrics.responses.WithLabelValues("rejected").Add(float64(len(res.Rejected)))
	if len(res.Rejected) > 0 {
		s.log.Warn("rejected responses", "device", d.ID, "store", d.StoreID, "count", len(res.Rejected), "first", res.Rejected[0].Error)
	}
	if prefers(r.Header, wire.PreferMinimal) {
		// The kiosk asked for the compact reply: counts, and only the rejections by id.
		w.Header().Set(wire.PreferenceAppliedHeader, wire.PreferMinimal)
		writeJSON(w, http.StatusOK, res.Summary())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// prefers says whether the request's Prefer header (RFC 7240) names pref. Preferences are
// comma-separated and may carry parameters after a semicolon, which are ignored here.
func prefers(h http.Header, pref string) bool {
	for _, v := range h.Values(wire.PreferHeader) {
		for p := range strings.SplitSeq(v, ",") {
			p, _, _ = strings.Cut(p, ";")
			if strings.EqualFold(strings.TrimSpace(p), pref) {
				return true
			}
		}
	}
	return false
}

func (s *Server) config(w http.ResponseWriter, r *http.Request, d storage.EnrolledDevice) {
	survey, err := s.svc.Survey(r.Context(), d.StoreID)
	if err != nil {
		s.log.Error("config", "store", d.StoreID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return
	}
	etag := surveyETag(survey)
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, survey)
}

// surveyETag changes whenever any part of the survey does.
func surveyETag(s wire.Survey) string {
	b, _ := json.Marshal(s)
	h := sha256.Sum256(b)
	return `"v` + strconv.Itoa(s.Version) + "-" + hex.EncodeToString(h[:8]) + `"`
}

// deviceSettings serves the settings HQ gave the device's store (its own over the
// chain's): to the device's token only, never with the survey, which the public sees
// too. The ETag is the settings' content, so a rotated PIN is never answered 304.
func (s *Server) deviceSettings(w http.ResponseWriter, r *http.Request, d storage.EnrolledDevice) {
	ds, err := s.svc.DeviceSettings(r.Context(), d.StoreID)
	if err != nil {
		s.log.Error("device settings", "store", d.StoreID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return
	}
	b, _ := json.Marshal(ds)
	h := sha256.Sum256(b)
	etag := `"s` + strconv.FormatInt(ds.Version, 10) + "-" + hex.EncodeToString(h[:8]) + `"`
	w.Header().Set("ETag", etag)
	// The PIN's hash: no shared cache may keep it.
	w.Header().Set("Cache-Control", "private, no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, ds)
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request, d storage.EnrolledDevice) {
	var hb wire.Heartbeat
	if !decodeBody(w, r, 64<<10, &hb) { // room for MaxScrubsPerReply ids in Scrubbed
		return
	}
	// Kept in memory and written at the next flush: the reply waits for no disk.
	s.svc.RecordHeartbeat(d, hb)
	// Responses an erasure cleared here are cleared on the kiosk that took them too; the
	// kiosk's acknowledgement of those it scrubbed is written before the reply.
	scrub, cases, err := s.svc.KioskScrubs(r.Context(), d.ID, hb.Scrubbed)
	if err != nil {
		s.log.Error("heartbeat: kiosk scrubs", "device", d.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return
	}
	// The results of actions asked before are written before the reply too: a kiosk
	// drops a result once its heartbeat is answered.
	if err := s.svc.FinishDeviceActions(r.Context(), d.ID, hb.ActionResults); err != nil {
		s.log.Error("heartbeat: device action results", "device", d.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return
	}
	for _, res := range hb.ActionResults {
		s.log.Info("device action result", "device", d.ID, "action", res.ID, "ok", res.OK, "bundle_bytes", res.BundleBytes)
	}
	// What IT asked of the device rides on the reply. Should the reply be lost, the
	// actions are sent again once their lease has passed.
	actions, err := s.svc.LeaseDeviceActions(r.Context(), d.ID)
	if err != nil {
		// The heartbeat itself is recorded: the actions wait for the next one.
		s.log.Error("heartbeat: device actions", "device", d.ID, "err", err)
	}
	// The staged rollout's version for this kiosk; a kiosk told none changes nothing, so a
	// failed read only delays an upgrade to the next heartbeat.
	target, err := s.svc.TargetVersion(r.Context(), d)
	if err != nil {
		s.log.Error("heartbeat: rollout", "device", d.ID, "err", err)
		target = ""
	}
	if len(scrub) > 0 || len(actions) > 0 || target != "" {
		writeJSON(w, http.StatusOK, wire.HeartbeatReply{Scrub: scrub, ScrubCases: cases, Actions: actions, TargetVersion: target})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// putDiagnostics keeps the diagnostics bundle a device uploads for a diagnostics action
// it was sent. The kiosk masks personal data in it before upload; its log and doctor
// lines are masked here again with the masker ingest uses, should a kiosk have missed
// one.
func (s *Server) putDiagnostics(w http.ResponseWriter, r *http.Request, d storage.EnrolledDevice) {
	var bundle wire.Diagnostics
	if !decodeBody(w, r, wire.MaxDiagnosticsBytes, &bundle) {
		return
	}
	var m pii.Masker
	for i, l := range bundle.Logs {
		bundle.Logs[i], _ = m.Mask(l)
	}
	for i, l := range bundle.Doctor {
		bundle.Doctor[i], _ = m.Mask(l)
	}
	body, err := json.Marshal(bundle)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "the bundle could not be encoded again")
		return
	}
	id := r.PathValue("id")
	err = s.svc.PutDiagnostics(r.Context(), d.ID, id, body)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no diagnostics action waiting for this device has that id")
		return
	case errors.Is(err, storage.ErrInvalid):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
		return
	case err != nil:
		s.log.Error("diagnostics bundle", "device", d.ID, "action", id, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return
	}
	s.log.Info("diagnostics bundle received", "device", d.ID, "action", id, "bytes", len(body))
	w.WriteHeader(http.StatusNoContent)
}
