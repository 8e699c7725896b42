package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// UserAlertEvents are the events a person may have e-mailed to them. response.created
// is left out: one e-mail per shopper is for machines, through a webhook.
var UserAlertEvents = []string{EventCaseOpened, EventCaseUpdated, EventNPSDropped, EventNPSRecovered, EventDigest}

// DefaultUserAlerts are what a new person receives unless told otherwise: the cases to
// follow up, a significant drop, and the morning digest of what they see.
var DefaultUserAlerts = []string{EventCaseOpened, EventNPSDropped, EventDigest}

// UserAlertURL is the subscription URL of a person's alerts: the address and language
// are the person's own at the time of sending.
func UserAlertURL(userID string) string { return "user:" + userID }

// SetUserAlerts sets the events e-mailed to a person, for everything they see (their
// chain, region or store); none stops them. Deliveries already queued for the person
// go out unless the events are emptied, which drops them with the subscription.
func (db *DB) SetUserAlerts(ctx context.Context, userID string, events []string) error {
	for _, e := range events {
		if !slices.Contains(UserAlertEvents, e) {
			return fmt.Errorf("alerts of user %s: %w: %q cannot be e-mailed to a person (choose from %s)",
				userID, ErrInvalid, e, strings.Join(UserAlertEvents, ", "))
		}
	}
	events = slices.Compact(slices.Sorted(slices.Values(events)))
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("alerts of user %s: %w", userID, err)
	}
	defer t.Rollback()
	var (
		kind, scope string
		disabled    sql.NullInt64
	)
	err = t.QueryRowContext(ctx, `SELECT scope_kind, scope, disabled_at FROM users WHERE id = ?`, userID).Scan(&kind, &scope, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("alerts of user %s: %w", userID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("alerts of user %s: %w", userID, err)
	}
	if disabled.Valid {
		return fmt.Errorf("alerts of user %s: %w: the user is disabled", userID, ErrConflict)
	}
	if len(events) == 0 {
		if err := dropUserSubscription(ctx, t, userID); err != nil {
			return err
		}
		return t.Commit()
	}
	// User scopes and subscription scopes have the same kinds and ids.
	_, err = t.ExecContext(ctx, `
		INSERT INTO webhook_subscriptions (id, scope_kind, scope, url, secret, events, created_at, user_id)
		VALUES (?, ?, ?, ?, '', ?, ?, ?)
		ON CONFLICT (user_id) WHERE user_id IS NOT NULL DO UPDATE SET events = excluded.events`,
		uuid.Must(uuid.NewV7()).String(), kind, scope, UserAlertURL(userID), eventList(events), db.now().UnixMilli(), userID)
	if err != nil {
		return fmt.Errorf("alerts of user %s: %w", userID, err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("alerts of user %s: %w", userID, err)
	}
	return nil
}

// dropUserSubscription removes a person's alerts with their queue and log.
func dropUserSubscription(ctx context.Context, t tx, userID string) error {
	for _, q := range []string{
		`DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT d.id FROM deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE s.user_id = ?)`,
		`DELETE FROM deliveries WHERE subscription_id IN (SELECT id FROM webhook_subscriptions WHERE user_id = ?)`,
		`DELETE FROM webhook_subscriptions WHERE user_id = ?`,
	} {
		if _, err := t.ExecContext(ctx, q, userID); err != nil {
			return fmt.Errorf("drop the alerts of user %s: %w", userID, err)
		}
	}
	return nil
}

// userAlerts reads the events each person receives, by user id.
func (db *DB) userAlerts(ctx context.Context) (map[string][]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT user_id, events FROM webhook_subscriptions WHERE user_id IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("alerts of users: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id, events string
		if err := rows.Scan(&id, &events); err != nil {
			return nil, fmt.Errorf("alerts of users: %w", err)
		}
		out[id] = strings.Split(strings.Trim(events, ","), ",")
	}
	return out, rows.Err()
}
