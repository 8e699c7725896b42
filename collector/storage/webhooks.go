package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/contactvault"
)

// Event types a subscription may ask for.
const (
	EventCaseOpened      = "case.opened"
	EventCaseUpdated     = "case.updated"
	EventResponseCreated = "response.created"
	EventNPSDropped      = "nps.dropped"
	EventNPSRecovered    = "nps.recovered"
)

// EventTypes lists every event type.
var EventTypes = []string{EventCaseOpened, EventCaseUpdated, EventResponseCreated, EventNPSDropped, EventNPSRecovered, EventDigest}

// Subscription scopes.
const (
	ScopeChain  = "chain"
	ScopeRegion = "region"
	ScopeStore  = "store"
)

// Subscription sends a scope's events to a URL.
type Subscription struct {
	ID          string    `json:"id"`
	ScopeKind   string    `json:"scope_kind"` // chain, region or store
	Scope       string    `json:"scope,omitempty"`
	URL         string    `json:"url"`
	Secret      string    `json:"secret,omitempty"` // whsec_…; shown when made
	Events      []string  `json:"events"`           // empty: every event
	CreatedAt   time.Time `json:"created_at"`
	Paused      bool      `json:"paused"`
	PauseReason string    `json:"pause_reason,omitempty"`
	Failures    int       `json:"consecutive_failures"`
	// User is the person whose alerts these are (see SetUserAlerts); zero for a
	// subscription made for an address or a URL.
	User SubscriptionUser `json:"user,omitzero"`
}

// SubscriptionUser is who a person's alerts go to, as the worker finds them when it sends.
type SubscriptionUser struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Language string `json:"language"`
}

// AddSubscription stores a subscription whose URL the caller has checked. Its id is
// made here.
func (db *DB) AddSubscription(ctx context.Context, s Subscription) (Subscription, error) {
	switch s.ScopeKind {
	case ScopeChain:
		s.Scope = ""
	case ScopeRegion, ScopeStore:
		if s.Scope == "" {
			return Subscription{}, fmt.Errorf("add subscription: %w: a %s scope needs its id", ErrInvalid, s.ScopeKind)
		}
	default:
		return Subscription{}, fmt.Errorf("add subscription: %w: scope must be chain, region or store", ErrInvalid)
	}
	for _, e := range s.Events {
		if !slices.Contains(EventTypes, e) {
			return Subscription{}, fmt.Errorf("add subscription: %w: unknown event %q (known: %s)", ErrInvalid, e, strings.Join(EventTypes, ", "))
		}
	}
	if s.ScopeKind == ScopeStore {
		var exists bool
		if err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM stores WHERE id = ?)`, s.Scope).Scan(&exists); err != nil {
			return Subscription{}, fmt.Errorf("add subscription: %w", err)
		}
		if !exists {
			return Subscription{}, fmt.Errorf("add subscription: store %q: %w", s.Scope, ErrNotFound)
		}
	}
	s.ID = uuid.Must(uuid.NewV7()).String()
	s.CreatedAt = db.now()
	_, err := db.write.ExecContext(ctx, `
		INSERT INTO webhook_subscriptions (id, scope_kind, scope, url, secret, events, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.ScopeKind, s.Scope, s.URL, s.Secret, eventList(s.Events), s.CreatedAt.UnixMilli())
	if err != nil {
		return Subscription{}, fmt.Errorf("add subscription: %w", err)
	}
	return s, nil
}

// eventList is the events column: every type between commas, so one LIKE finds a type.
func eventList(events []string) string {
	if len(events) == 0 {
		return ",*,"
	}
	return "," + strings.Join(events, ",") + ","
}

// Subscriptions lists every subscription, secrets left out.
func (db *DB) Subscriptions(ctx context.Context) ([]Subscription, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT s.id, s.scope_kind, s.scope, s.url, s.events, s.created_at, s.paused_at IS NOT NULL, s.pause_reason,
		       s.consecutive_failures, COALESCE(u.id, ''), COALESCE(u.name, ''), COALESCE(u.email, ''), COALESCE(u.language, '')
		  FROM webhook_subscriptions s LEFT JOIN users u ON u.id = s.user_id
		 ORDER BY s.created_at, s.id`)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []Subscription
	for rows.Next() {
		var (
			s       Subscription
			events  string
			created int64
		)
		if err := rows.Scan(&s.ID, &s.ScopeKind, &s.Scope, &s.URL, &events, &created, &s.Paused, &s.PauseReason, &s.Failures,
			&s.User.ID, &s.User.Name, &s.User.Email, &s.User.Language); err != nil {
			return nil, fmt.Errorf("list subscriptions: %w", err)
		}
		s.CreatedAt = time.UnixMilli(created)
		if events != ",*," {
			s.Events = strings.Split(strings.Trim(events, ","), ",")
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ResumeSubscription lifts a pause: the deliveries that waited go out again.
func (db *DB) ResumeSubscription(ctx context.Context, id string) error {
	res, err := db.write.ExecContext(ctx, `
		UPDATE webhook_subscriptions SET paused_at = NULL, pause_reason = '', consecutive_failures = 0 WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("resume subscription %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("resume subscription %s: %w", id, ErrNotFound)
	}
	return nil
}

// eventBody is what a webhook carries: the Standard Webhooks payload shape.
type eventBody struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// listeners returns the event types some subscription of a store's scope asks for ("*"
// for every type), read before a write transaction so that frequent events cost no time
// under the writer's lock when nobody listens.
func (db *DB) listeners(ctx context.Context, storeID string) (map[string]bool, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT s.events FROM webhook_subscriptions s
		 WHERE s.scope_kind = 'chain'
		    OR (s.scope_kind = 'store' AND s.scope = ?)
		    OR (s.scope_kind = 'region' AND s.scope = (SELECT region FROM stores WHERE id = ?))`, storeID, storeID)
	if err != nil {
		return nil, fmt.Errorf("subscriptions of %s: %w", storeID, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var events string
		if err := rows.Scan(&events); err != nil {
			return nil, fmt.Errorf("subscriptions of %s: %w", storeID, err)
		}
		for _, e := range strings.Split(strings.Trim(events, ","), ",") {
			out[e] = true
		}
	}
	return out, rows.Err()
}

// wants reports whether listeners asks for typ.
func wants(listeners map[string]bool, typ string) bool { return listeners["*"] || listeners[typ] }

// emitEvent records an event inside a write transaction and queues one delivery to
// every subscription of its scope that asked for its type, paused ones included: a
// paused subscription's deliveries wait for it to be resumed.
func emitEvent(ctx context.Context, t tx, typ, storeID string, data any, now time.Time) (string, error) {
	return emitSealedEvent(ctx, t, nil, typ, storeID, data, now)
}

// emitSealedEvent is emitEvent for an event that may carry a shopper's contact (a
// case's): its payload is stored encrypted under the contact store's key, as the
// contact itself is, and ClaimDeliveries decrypts it to send.
func emitSealedEvent(ctx context.Context, t tx, v *contactvault.Vault, typ, storeID string, data any, now time.Time) (string, error) {
	id := uuid.Must(uuid.NewV7()).String()
	raw, err := json.Marshal(eventBody{Type: typ, Timestamp: now.UTC(), Data: data})
	if err != nil {
		return "", fmt.Errorf("emit %s: %w", typ, err)
	}
	payload, err := v.Seal(string(raw))
	if err != nil {
		return "", fmt.Errorf("emit %s: %w", typ, err)
	}
	if _, err := t.ExecContext(ctx, `INSERT INTO events (id, type, store_id, at, payload) VALUES (?, ?, ?, ?, ?)`,
		id, typ, storeID, now.UnixMilli(), payload); err != nil {
		return "", fmt.Errorf("emit %s: %w", typ, err)
	}
	if typ == EventDigest {
		// A digest tells its own scope: a region's subscribers get the region's, not
		// one per store (see emitScopeEvent).
		_, err = t.ExecContext(ctx, `
			INSERT INTO deliveries (event_id, subscription_id, status, next_attempt_at)
			SELECT ?, s.id, 'pending', ? FROM webhook_subscriptions s
			 WHERE (s.events = ',*,' OR s.events LIKE ?) AND s.scope_kind = 'store' AND s.scope = ?`,
			id, now.UnixMilli(), "%,"+typ+",%", storeID)
	} else {
		_, err = t.ExecContext(ctx, `
			INSERT INTO deliveries (event_id, subscription_id, status, next_attempt_at)
			SELECT ?, s.id, 'pending', ? FROM webhook_subscriptions s
			 WHERE (s.events = ',*,' OR s.events LIKE ?)
			   AND (s.scope_kind = 'chain'
			        OR (s.scope_kind = 'store' AND s.scope = ?)
			        OR (s.scope_kind = 'region' AND s.scope = (SELECT region FROM stores WHERE id = ?)))`,
			id, now.UnixMilli(), "%,"+typ+",%", storeID, storeID)
	}
	if err != nil {
		return "", fmt.Errorf("emit %s: queue deliveries: %w", typ, err)
	}
	return id, nil
}

// emitScopeEvent records an event about a whole region or the chain (its store is
// empty) and queues it to the subscriptions of exactly that scope that asked for it.
func emitScopeEvent(ctx context.Context, t tx, typ, scopeKind, scope string, data any, now time.Time) (string, error) {
	id := uuid.Must(uuid.NewV7()).String()
	payload, err := json.Marshal(eventBody{Type: typ, Timestamp: now.UTC(), Data: data})
	if err != nil {
		return "", fmt.Errorf("emit %s: %w", typ, err)
	}
	if _, err := t.ExecContext(ctx, `INSERT INTO events (id, type, store_id, at, payload) VALUES (?, ?, '', ?, ?)`,
		id, typ, now.UnixMilli(), string(payload)); err != nil {
		return "", fmt.Errorf("emit %s: %w", typ, err)
	}
	if _, err := t.ExecContext(ctx, `
		INSERT INTO deliveries (event_id, subscription_id, status, next_attempt_at)
		SELECT ?, s.id, 'pending', ? FROM webhook_subscriptions s
		 WHERE (s.events = ',*,' OR s.events LIKE ?) AND s.scope_kind = ? AND s.scope = ?`,
		id, now.UnixMilli(), "%,"+typ+",%", scopeKind, scope); err != nil {
		return "", fmt.Errorf("emit %s: queue deliveries: %w", typ, err)
	}
	return id, nil
}

// Delivery is one event on its way to one subscription, as the worker sends it.
type Delivery struct {
	ID        int64
	EventID   string
	EventType string
	EventAt   time.Time
	Payload   []byte
	URL       string
	Secret    string
	Attempts  int
	SubID     string
	// UserEmail and UserLanguage are where and how a person's alerts (URL "user:ID")
	// are written, read as the delivery is claimed; empty if they are disabled or gone.
	UserEmail    string
	UserLanguage string
}

// ClaimDeliveries leases up to limit due deliveries of unpaused subscriptions to the
// caller until leaseUntil. A collector that dies holding a lease loses it when it runs
// out, and the delivery goes out again: at least once, never lost.
func (db *DB) ClaimDeliveries(ctx context.Context, limit int, leaseUntil time.Time) ([]Delivery, error) {
	now := db.now().UnixMilli()
	// A look on the read pool first: an idle queue costs no write transaction, which on
	// SQLite would queue behind the uploads for the one writer.
	var due bool
	if err := db.read.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ? AND leased_until < ?)`,
		now, now).Scan(&due); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if !due {
		return nil, nil
	}
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	defer t.Rollback()
	rows, err := t.QueryContext(ctx, `
		SELECT d.id FROM deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
		 WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.leased_until < ? AND s.paused_at IS NULL
		 ORDER BY d.next_attempt_at, d.id LIMIT ?`+db.dialect.skipLocked, now, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	out := make([]Delivery, 0, len(ids))
	for _, id := range ids {
		if _, err := t.ExecContext(ctx, `UPDATE deliveries SET leased_until = ? WHERE id = ?`, leaseUntil.UnixMilli(), id); err != nil {
			return nil, fmt.Errorf("claim delivery %d: %w", id, err)
		}
		var (
			d        Delivery
			at       int64
			payload  string
			contacts *bool
		)
		err := t.QueryRowContext(ctx, `
			SELECT d.id, d.event_id, e.type, e.at, e.payload, s.url, s.secret, d.attempts, s.id,
			       COALESCE(u.email, ''), COALESCE(u.language, ''), u.contacts
			  FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhook_subscriptions s ON s.id = d.subscription_id
			  LEFT JOIN users u ON u.id = s.user_id AND u.disabled_at IS NULL
			 WHERE d.id = ?`, id).Scan(&d.ID, &d.EventID, &d.EventType, &at, &payload, &d.URL, &d.Secret, &d.Attempts, &d.SubID,
			&d.UserEmail, &d.UserLanguage, &contacts)
		if err != nil {
			return nil, fmt.Errorf("claim delivery %d: %w", id, err)
		}
		plain, err := db.vault.Open(payload)
		if err != nil {
			// Its lease runs out and it is tried again, once the key file is back.
			db.log.Error("webhook delivery: cannot decrypt its event", "delivery", id, "event", d.EventID, "err", err)
			continue
		}
		if contacts != nil && !*contacts {
			// A person's alert, and the person may not see contacts.
			plain = hideEventContact(plain)
		}
		d.EventAt, d.Payload = time.UnixMilli(at), []byte(plain)
		out = append(out, d)
	}
	if err := t.Commit(); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// Attempt is the outcome of sending one delivery once.
type Attempt struct {
	StatusCode int           // 0 when no reply came
	Err        string        // why it failed; empty on success
	Duration   time.Duration // how long the attempt took
	// Retry is when to try again after a failure; zero gives up: the delivery fails
	// for good and stays in the log.
	Retry time.Time
	// PauseAfter pauses the subscription once it has failed this many times in a row;
	// zero never pauses.
	PauseAfter int
}

// RecordAttempt logs an attempt and moves the delivery on: delivered, retried later, or
// failed. A run of failures pauses the subscription and says why.
func (db *DB) RecordAttempt(ctx context.Context, d Delivery, a Attempt) error {
	now := db.now()
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record attempt of delivery %d: %w", d.ID, err)
	}
	defer t.Rollback()
	if _, err := t.ExecContext(ctx, `
		INSERT INTO delivery_attempts (delivery_id, at, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?)`,
		d.ID, now.UnixMilli(), a.StatusCode, a.Err, a.Duration.Milliseconds()); err != nil {
		return fmt.Errorf("record attempt of delivery %d: %w", d.ID, err)
	}
	switch {
	case a.Err == "":
		if _, err := t.ExecContext(ctx, `
			UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, leased_until = 0, last_error = ''
			 WHERE id = ?`, now.UnixMilli(), d.ID); err != nil {
			return fmt.Errorf("record delivery %d: %w", d.ID, err)
		}
		if _, err := t.ExecContext(ctx, `UPDATE webhook_subscriptions SET consecutive_failures = 0 WHERE id = ?`, d.SubID); err != nil {
			return fmt.Errorf("record delivery %d: %w", d.ID, err)
		}
	default:
		status, next := "pending", a.Retry.UnixMilli()
		if a.Retry.IsZero() {
			status, next = "failed", now.UnixMilli()
		}
		if _, err := t.ExecContext(ctx, `
			UPDATE deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, leased_until = 0, last_error = ?
			 WHERE id = ?`, status, next, a.Err, d.ID); err != nil {
			return fmt.Errorf("record failed delivery %d: %w", d.ID, err)
		}
		if _, err := t.ExecContext(ctx, `
			UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures + 1 WHERE id = ?`, d.SubID); err != nil {
			return fmt.Errorf("record failed delivery %d: %w", d.ID, err)
		}
		if a.PauseAfter > 0 {
			if _, err := t.ExecContext(ctx, `
				UPDATE webhook_subscriptions SET paused_at = ?, pause_reason = ?
				 WHERE id = ? AND paused_at IS NULL AND consecutive_failures >= ?`,
				now.UnixMilli(), fmt.Sprintf("paused after %d failed deliveries in a row; last: %s", a.PauseAfter, a.Err),
				d.SubID, a.PauseAfter); err != nil {
				return fmt.Errorf("pause subscription %s: %w", d.SubID, err)
			}
		}
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("record attempt of delivery %d: %w", d.ID, err)
	}
	return nil
}

// DeliveryLogLine is one delivery as the dashboard lists it.
type DeliveryLogLine struct {
	ID           int64     `json:"id"`
	EventID      string    `json:"event_id"`
	EventType    string    `json:"event_type"`
	Subscription string    `json:"subscription_id"`
	URL          string    `json:"url"`
	Status       string    `json:"status"`
	Attempts     int       `json:"attempts"`
	LastError    string    `json:"last_error,omitempty"`
	NextAttempt  time.Time `json:"next_attempt_at,omitzero"`
	DeliveredAt  time.Time `json:"delivered_at,omitzero"`
}

// DeliveryLog lists the newest deliveries first.
func (db *DB) DeliveryLog(ctx context.Context, limit int) ([]DeliveryLogLine, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT d.id, d.event_id, e.type, d.subscription_id, s.url, d.status, d.attempts, d.last_error, d.next_attempt_at, d.delivered_at
		  FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhook_subscriptions s ON s.id = d.subscription_id
		 ORDER BY d.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("delivery log: %w", err)
	}
	defer rows.Close()
	var out []DeliveryLogLine
	for rows.Next() {
		var (
			l         DeliveryLogLine
			next      int64
			delivered sql.NullInt64
		)
		if err := rows.Scan(&l.ID, &l.EventID, &l.EventType, &l.Subscription, &l.URL, &l.Status, &l.Attempts, &l.LastError, &next, &delivered); err != nil {
			return nil, fmt.Errorf("delivery log: %w", err)
		}
		if l.Status == "pending" {
			l.NextAttempt = time.UnixMilli(next)
		}
		if delivered.Valid {
			l.DeliveredAt = time.UnixMilli(delivered.Int64)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// hideEventContact puts ContactHiddenText in place of the contact of a case event's
// payload.
func hideEventContact(payload string) string {
	var e map[string]any
	if json.Unmarshal([]byte(payload), &e) != nil {
		return payload
	}
	data, _ := e["data"].(map[string]any)
	resp, _ := data["response"].(map[string]any)
	if resp == nil {
		return payload
	}
	for _, k := range []string{"contact", "contact_sealed"} {
		if v, _ := resp[k].(string); v != "" {
			resp[k] = ""
			resp["contact"] = ContactHiddenText
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return payload
	}
	return string(b)
}

// ReleaseDeliveries hands back deliveries the caller claimed until leaseUntil and did not
// send (a collector draining for a restart), so another collector sends them now rather
// than when the lease runs out. A delivery whose lease has since changed hands, or that
// was recorded, is left alone.
func (db *DB) ReleaseDeliveries(ctx context.Context, ids []int64, leaseUntil time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("release deliveries: %w", err)
	}
	defer t.Rollback()
	for _, id := range ids {
		if _, err := t.ExecContext(ctx, `UPDATE deliveries SET leased_until = 0 WHERE id = ? AND status = 'pending' AND leased_until = ?`,
			id, leaseUntil.UnixMilli()); err != nil {
			return fmt.Errorf("release delivery %d: %w", id, err)
		}
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("release deliveries: %w", err)
	}
	return nil
}
