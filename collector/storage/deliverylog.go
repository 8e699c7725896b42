package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DeliveryAttempt is one try at sending a delivery, as the delivery log shows it.
type DeliveryAttempt struct {
	At         time.Time     `json:"at"`
	StatusCode int           `json:"status_code"` // 0 when no reply came
	Error      string        `json:"error,omitempty"`
	Duration   time.Duration `json:"duration"`
}

// DeliveryAttempts lists a delivery's attempts, oldest first: the order they happened
// in, so a reader sees how a run of failures began. An unknown delivery has none.
func (db *DB) DeliveryAttempts(ctx context.Context, deliveryID int64) ([]DeliveryAttempt, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT at, status_code, error, duration_ms FROM delivery_attempts
		 WHERE delivery_id = ? ORDER BY id`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("attempts of delivery %d: %w", deliveryID, err)
	}
	defer rows.Close()
	var out []DeliveryAttempt
	for rows.Next() {
		var (
			a      DeliveryAttempt
			at, ms int64
		)
		if err := rows.Scan(&at, &a.StatusCode, &a.Error, &ms); err != nil {
			return nil, fmt.Errorf("attempts of delivery %d: %w", deliveryID, err)
		}
		a.At, a.Duration = time.UnixMilli(at), time.Duration(ms)*time.Millisecond
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("attempts of delivery %d: %w", deliveryID, err)
	}
	return out, nil
}

// DeliveryLogEntry is one delivery of the log, by its id, or ErrNotFound.
func (db *DB) DeliveryLogEntry(ctx context.Context, deliveryID int64) (DeliveryLogLine, error) {
	var (
		l         DeliveryLogLine
		next      int64
		delivered sql.NullInt64
	)
	err := db.read.QueryRowContext(ctx, `
		SELECT d.id, d.event_id, e.type, d.subscription_id, s.url, d.status, d.attempts, d.last_error, d.next_attempt_at, d.delivered_at
		  FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhook_subscriptions s ON s.id = d.subscription_id
		 WHERE d.id = ?`, deliveryID).Scan(&l.ID, &l.EventID, &l.EventType, &l.Subscription, &l.URL, &l.Status, &l.Attempts, &l.LastError, &next, &delivered)
	if errors.Is(err, sql.ErrNoRows) {
		return DeliveryLogLine{}, fmt.Errorf("delivery %d: %w", deliveryID, ErrNotFound)
	}
	if err != nil {
		return DeliveryLogLine{}, fmt.Errorf("delivery %d: %w", deliveryID, err)
	}
	// As in DeliveryLog: only a pending delivery has a next attempt.
	if l.Status == "pending" {
		l.NextAttempt = time.UnixMilli(next)
	}
	if delivered.Valid {
		l.DeliveredAt = time.UnixMilli(delivered.Int64)
	}
	return l, nil
}
