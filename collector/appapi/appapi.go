// Package appapi is the in-app submission API: POST /v1/app/responses, where mobile
// apps and other systems send answers with an app key (a survey link of kind app, made
// with npscollector key add --kind app). The key names the store, channel and
// touchpoint; the request's Origin, when a browser sends one, must be one of the key's
// origins, and its app bundle id one of the key's bundle ids when it lists any. Each
// client network and each key has a rate limit. The answers are the kiosk's response
// shape, stored through the collector's service with the same rules, by the id the
// client made: a retry is reported as a duplicate and stored once.
// docs/api.md and docs/openapi.yaml describe it.
package appapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/internal/clientnet"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// Limits of one request.
const (
	MaxItems = 100       // responses in one request
	MaxBytes = 256 << 10 // of the JSON body, after gzip
)

// Defaults of Config.
const (
	// DefaultKeyPerMinute is an app key's limit on answers from everyone together when
	// the key sets none (its RatePerMinute), in bursts of as many.
	DefaultKeyPerMinute = 600
	// DefaultClientPerMinute and DefaultClientBurst limit each client network's
	// requests: 20 at once, then one every 3 s. An app sends one request per answer, a
	// retry or two after a lost reply; a server that forwards answers sends batches.
	DefaultClientPerMinute = 20
	DefaultClientBurst     = 20
)

// Headers the API reads.
const (
	HeaderAppKey   = "X-NPS-App-Key"
	HeaderBundleID = "X-NPS-Bundle-Id"
)

// Config wires the API. Zero values are the defaults.
type Config struct {
	Service *collector.Service // required
	Logger  *slog.Logger       // nil: slog.Default()
	// TrustedProxies are the reverse proxies in front of the collector: a request from
	// one is from the address it names in X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// ClientPerMinute and ClientBurst limit each client network's requests.
	ClientPerMinute int
	ClientBurst     int
	// KeyPerMinute is the limit of answers of a key that sets none.
	KeyPerMinute int
	// MaxClients bounds the limits' memory: 100,000 client networks and keys.
	MaxClients int
	Now        func() time.Time // nil: time.Now
}

// API serves POST /v1/app/responses.
type API struct {
	svc     *collector.Service
	log     *slog.Logger
	cfg     Config
	clients *limiters
	keys    *limiters
}

// New checks the configuration and fills in the defaults.
func New(cfg Config) (*API, error) {
	if cfg.Service == nil {
		return nil, errors.New("appapi: Config.Service is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientPerMinute <= 0 {
		cfg.ClientPerMinute = DefaultClientPerMinute
	}
	if cfg.ClientBurst <= 0 {
		cfg.ClientBurst = DefaultClientBurst
	}
	if cfg.KeyPerMinute <= 0 {
		cfg.KeyPerMinute = DefaultKeyPerMinute
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 100_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &API{svc: cfg.Service, log: cfg.Logger, cfg: cfg,
		clients: newLimiters(cfg.MaxClients), keys: newLimiters(cfg.MaxClients)}, nil
}

// Router is where the API is added: an http.ServeMux, or the HTTP API's server so that
// it shares its metrics.
type Router interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the API's routes to mux.
func (a *API) Register(mux Router) {
	mux.Handle("POST /v1/app/responses", http.HandlerFunc(a.post))
	mux.Handle("OPTIONS /v1/app/responses", http.HandlerFunc(preflight))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, detail string) {
	writeJSON(w, status, wire.Error{Error: code, Detail: detail})
}

// tooMany answers 429 with Retry-After in whole seconds, at least one.
func tooMany(w http.ResponseWriter, wait time.Duration, detail string) {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("%s; retry after %d s", detail, secs))
}

// preflight answers a browser's CORS preflight. It cannot know the key (a preflight
// carries no credentials), so it lets any origin ask; the POST that follows is refused
// unless its Origin is one of its key's, and only then carries
// Access-Control-Allow-Origin.
func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding, "+HeaderAppKey+", "+HeaderBundleID)
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// keyCode reads the app key from Authorization: Bearer, else X-NPS-App-Key.
func keyCode(r *http.Request) string {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(token)
	}
	return strings.TrimSpace(r.Header.Get(HeaderAppKey))
}

// authenticate finds the request's open app key and checks its origin and bundle id;
// when it cannot, it writes the reply and returns false.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (storage.Link, bool) {
	code := keyCode(r)
	if code == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="npscollector app"`)
		writeError(w, http.StatusUnauthorized, "unauthorized",
			"an app key is required: Authorization: Bearer <key> (or "+HeaderAppKey+": <key>)")
		return storage.Link{}, false
	}
	var key storage.Link
	err := storage.ErrNotFound
	if storage.ValidLinkCode(code) {
		key, err = a.svc.LinkByCode(r.Context(), code)
	}
	if err == nil && key.Kind != storage.LinkKindApp {
		err = storage.ErrNotFound // a site key or a survey link is not an app key
	}
	if errors.Is(err, storage.ErrNotFound) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="npscollector app", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid_key", "the app key is unknown, or not an app key")
		return storage.Link{}, false
	}
	if err != nil {
		a.unavailable(w, "find app key", err)
		return storage.Link{}, false
	}
	if err := key.Open(a.cfg.Now()); err != nil {
		code := "key_expired"
		if !key.DisabledAt.IsZero() {
			code = "key_disabled"
		}
		writeError(w, http.StatusGone, code, err.Error()+": ask for a new key")
		return storage.Link{}, false
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if !key.AllowsOrigin(origin) {
			writeError(w, http.StatusForbidden, "origin_not_allowed",
				fmt.Sprintf("origin %q is not one of this key's origins", origin))
			return storage.Link{}, false
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
	}
	if len(key.BundleIDs) > 0 {
		if id := r.Header.Get(HeaderBundleID); !key.AllowsBundle(id) {
			writeError(w, http.StatusForbidden, "bundle_not_allowed",
				fmt.Sprintf("%s %q is not one of this key's apps", HeaderBundleID, id))
			return storage.Link{}, false
		}
	}
	return key, true
}

func (a *API) unavailable(w http.ResponseWriter, what string, err error) {
	a.log.Error("app API: "+what, "err", err)
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "unavailable", "the collector cannot store answers just now; retry")
}

// post stores a batch of answers under the key's store, channel and touchpoint.
func (a *API) post(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	now := a.cfg.Now()
	perMinute := float64(a.cfg.ClientPerMinute) / 60
	if ok, wait := a.clients.allow("client "+clientnet.Network(r, a.cfg.TrustedProxies), perMinute, a.cfg.ClientBurst, 1, now); !ok {
		tooMany(w, wait, "too many requests from this client")
		return
	}
	key, ok := a.authenticate(w, r)
	if !ok {
		return
	}
	// The items are decoded one by one (collector.DecodeBatch), so that one the decoder
	// would misread is refused alone, by its id.
	var body struct {
		Responses []json.RawMessage `json:"responses"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	switch n := len(body.Responses); {
	case n == 0:
		writeError(w, http.StatusBadRequest, "bad_request", `no responses: send {"responses": [Response, …]}`)
		return
	case n > MaxItems:
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("%d responses in one request, at most %d", n, MaxItems))
		return
	}
	rpm := key.RatePerMinute
	if rpm <= 0 {
		rpm = a.cfg.KeyPerMinute
	}
	if len(body.Responses) > rpm {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("%d responses in one request, more than this key's %d a minute: send fewer at a time", len(body.Responses), rpm))
		return
	}
	if ok, wait := a.keys.allow("key "+key.ID+" "+strconv.Itoa(rpm), float64(rpm)/60, rpm, len(body.Responses), now); !ok {
		tooMany(w, wait, fmt.Sprintf("this app key takes %d answers a minute", rpm))
		return
	}
	batch, rejected := collector.DecodeBatch(body.Responses)
	res, err := a.ingest(r.Context(), key, batch)
	res.Rejected = append(res.Rejected, rejected...)
	if errors.Is(err, storage.ErrLinkClosed) {
		writeError(w, http.StatusGone, "key_disabled", err.Error())
		return
	}
	if err != nil {
		a.unavailable(w, "store answers", err)
		return
	}
	if len(res.Rejected) > 0 {
		a.log.Warn("app answers rejected", "key", key.Code, "store", key.StoreID, "count", len(res.Rejected), "first", res.Rejected[0].Error)
	}
	writeJSON(w, http.StatusOK, res)
}

// ingest stores each response through the key as IngestFromLink does, one at a time: a
// response is accepted (new), duplicate (its id was stored with the same content: a
// retry) or rejected (invalid, a channel or touchpoint other than the key's, or its id
// stored with other content). An error is the database's, or the key closing meanwhile.
func (a *API) ingest(ctx context.Context, key storage.Link, batch []wire.Response) (wire.UploadResult, error) {
	res := wire.UploadResult{Accepted: []string{}, Duplicate: []string{}, Rejected: []wire.Rejection{}}
	seen := make(map[string]bool, len(batch))
	for _, r := range batch {
		switch {
		case r.Channel != "" && r.Channel != key.Channel:
			res.Rejected = append(res.Rejected, wire.Rejection{ID: r.ID, Error: fmt.Sprintf(
				"%s: channel %q: this key's answers are channel %q (leave it out)", response.ErrInvalid, r.Channel, key.Channel)})
			continue
		case r.Touchpoint != "" && r.Touchpoint != key.Touchpoint:
			res.Rejected = append(res.Rejected, wire.Rejection{ID: r.ID, Error: fmt.Sprintf(
				"%s: touchpoint %q: this key's answers are touchpoint %q (leave it out)", response.ErrInvalid, r.Touchpoint, key.Touchpoint)})
			continue
		case seen[r.ID] && r.ID != "":
			res.Duplicate = append(res.Duplicate, r.ID)
			continue
		}
		seen[r.ID] = true
		got, err := a.svc.IngestFromLink(ctx, key, r)
		switch {
		case errors.Is(err, response.ErrInvalid):
			res.Rejected = append(res.Rejected, wire.Rejection{ID: r.ID, Error: strings.TrimPrefix(err.Error(), "answer through link "+key.Code+": ")})
		case err != nil:
			return res, err
		case got == storage.Inserted:
			res.Accepted = append(res.Accepted, r.ID)
		case got == storage.SameContent:
			res.Duplicate = append(res.Duplicate, r.ID)
		default:
			res.Rejected = append(res.Rejected, wire.Rejection{ID: r.ID, Error: "conflict: this id was already stored with other content"})
		}
	}
	return res, nil
}

// decodeBody reads a JSON body of at most MaxBytes (after gzip), refusing unknown
// fields. It writes the error reply itself and returns false on failure.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as Content-Type: application/json")
		return false
	}
	body := io.Reader(http.MaxBytesReader(w, r.Body, MaxBytes+1))
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "the body is not valid gzip")
			return false
		}
		defer zr.Close()
		body = zr
	default:
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", fmt.Sprintf("Content-Encoding %q: send gzip or nothing", enc))
		return false
	}
	raw, err := io.ReadAll(io.LimitReader(body, MaxBytes+1))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || len(raw) > MaxBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes", MaxBytes))
		return false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "could not read the body: "+err.Error())
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
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
