package storage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/followup"
)

// The states of a thank-you e-mail.
const (
	ThankYouPending   = "pending"   // queued, or waiting to be tried again
	ThankYouSent      = "sent"      // the SMTP server took it
	ThankYouFailed    = "failed"    // given up: the SMTP server kept refusing, or it was too late
	ThankYouSkipped   = "skipped"   // not sent: the address unsubscribed, or the contact went
	ThankYouCancelled = "cancelled" // not sent: the answer was revised and is no longer thanked
)

// NewThankYou is a thank-you e-mail to queue with a response in InsertBatch or
// ReviseResponse, when the store's thank-you rule matches it.
type NewThankYou struct {
	Language  string // en, es, fr or de
	ReviewURL string // the rule's review page, or empty
}

// ThanksRule returns the thank-you rule for a store: its own, else the chain's, else
// none (followup.NoThanks).
func (db *DB) ThanksRule(ctx context.Context, storeID string) (followup.ThanksRule, error) {
	var body sql.NullString
	err := db.read.QueryRowContext(ctx,
		`SELECT rule FROM thanks_rules WHERE scope IN (?, '') ORDER BY scope DESC LIMIT 1`, storeID).Scan(&body)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return followup.ThanksRule{}, fmt.Errorf("thank-you rule of %s: %w", storeID, err)
	}
	return thanksRuleFrom(storeID, body)
}

// thanksRuleFrom is the thank-you rule stored as body; none when there is none.
func thanksRuleFrom(storeID string, body sql.NullString) (followup.ThanksRule, error) {
	if !body.Valid {
		return followup.NoThanks(), nil
	}
	var r followup.ThanksRule
	if err := json.Unmarshal([]byte(body.String), &r); err != nil {
		return followup.ThanksRule{}, fmt.Errorf("thank-you rule of %s: %w", storeID, err)
	}
	return r, nil
}

// SetThanksRule sets a store's thank-you rule, or the chain's when storeID is empty.
func (db *DB) SetThanksRule(ctx context.Context, storeID string, r followup.ThanksRule) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("set thank-you rule: %w: %w", ErrInvalid, err)
	}
	if storeID != "" {
		var exists bool
		if err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM stores WHERE id = ?)`, storeID).Scan(&exists); err != nil {
			return fmt.Errorf("set thank-you rule: %w", err)
		}
		if !exists {
			return fmt.Errorf("set thank-you rule: store %q: %w", storeID, ErrNotFound)
		}
	}
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("set thank-you rule: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, `
		INSERT INTO thanks_rules (scope, rule, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (scope) DO UPDATE SET rule = excluded.rule, updated_at = excluded.updated_at`,
		storeID, string(body), db.now().UnixMilli()); err != nil {
		return fmt.Errorf("set thank-you rule: %w", err)
	}
	return nil
}

// queueThankYou queues a response's thank-you inside the transaction that stores it. A
// response is thanked once: one that has a thank-you queued or sent keeps it, and only
// one cancelled by an earlier revision is queued again. It reports whether it queued.
func queueThankYou(ctx context.Context, t tx, storeID string, r NewResponse, now time.Time) (bool, error) {
	res, err := t.ExecContext(ctx, `
		INSERT INTO thank_yous (id, response_id, store_id, language, review_url, address_hash, status, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, '', 'pending', ?, ?)
		ON CONFLICT (response_id) DO UPDATE SET status = 'pending', language = excluded.language,
		       review_url = excluded.review_url, next_attempt_at = excluded.next_attempt_at, last_error = ''
		 WHERE thank_yous.status = 'cancelled'`,
		uuid.Must(uuid.NewV7()).String(), r.ID, storeID, r.Thanks.Language, r.Thanks.ReviewURL, now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("queue thank-you for %s: %w", r.ID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// cancelThankYou drops the queued, unsent thank-you of a response whose revision is no
// longer thanked (a 10 changed to a 6, a contact taken back).
func cancelThankYou(ctx context.Context, t tx, responseID string) error {
	if _, err := t.ExecContext(ctx, `
		UPDATE thank_yous SET status = 'cancelled', last_error = 'the answer was changed and is no longer thanked'
		 WHERE response_id = ? AND status = 'pending'`, responseID); err != nil {
		return fmt.Errorf("cancel thank-you for %s: %w", responseID, err)
	}
	return nil
}

// ThankYou is a thank-you e-mail as the worker sends it.
type ThankYou struct {
	ID         string
	ResponseID string
	StoreID    string
	StoreName  string
	Language   string
	ReviewURL  string
	Score      int
	Attempts   int
	CreatedAt  time.Time
	// Address is the shopper's e-mail address, read from the response as it is claimed.
	Address string
	// Token is the secret of the e-mail's unsubscribe link: the same on every attempt.
	Token string
}

// thanksTokenKey names the key the unsubscribe tokens of thank-you e-mails are made with.
const thanksTokenKey = "thank-you-unsubscribe"

// thanksToken is a thank-you's unsubscribe token: an HMAC of its id, so every attempt
// (and every collector) writes the same link without the token being stored. It has the
// length and alphabet of an invitation token, so both open the same unsubscribe page.
func thanksToken(key []byte, id string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("thank-you unsubscribe\x00" + id))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// ClaimThankYous leases up to limit due thank-you e-mails to the caller until
// leaseUntil, as ClaimDeliveries does deliveries. On the way it settles those that must
// not go out: one queued before staleBefore fails (a thank-you days late is worse than
// none), one whose response no longer holds an e-mail address with consent, or whose
// address unsubscribed from the chain or its store, is skipped.
func (db *DB) ClaimThankYous(ctx context.Context, limit int, leaseUntil, staleBefore time.Time) ([]ThankYou, error) {
	now := db.now().UnixMilli()
	var due bool
	if err := db.read.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM thank_yous WHERE status = 'pending' AND next_attempt_at <= ? AND leased_until < ?)`,
		now, now).Scan(&due); err != nil {
		return nil, fmt.Errorf("claim thank-yous: %w", err)
	}
	if !due {
		return nil, nil
	}
	key, err := db.Secret(ctx, thanksTokenKey)
	if err != nil {
		return nil, fmt.Errorf("claim thank-yous: %w", err)
	}
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("claim thank-yous: %w", err)
	}
	defer t.Rollback()
	rows, err := t.QueryContext(ctx, `
		SELECT d.id FROM thank_yous d
		 WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.leased_until < ?
		 ORDER BY d.next_attempt_at, d.id LIMIT ?`+db.dialect.skipLocked, now, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim thank-yous: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim thank-yous: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim thank-yous: %w", err)
	}
	var out []ThankYou
	for _, id := range ids {
		var (
			ty      ThankYou
			created int64
			contact string
			consent bool
		)
		if err := t.QueryRowContext(ctx, `
			SELECT ty.id, ty.response_id, ty.store_id, s.name, ty.language, ty.review_url, ty.attempts, ty.created_at,
			       r.score, r.contact, r.contact_consent
			  FROM thank_yous ty JOIN responses r ON r.id = ty.response_id JOIN stores s ON s.id = ty.store_id
			 WHERE ty.id = ?`, id).Scan(&ty.ID, &ty.ResponseID, &ty.StoreID, &ty.StoreName, &ty.Language, &ty.ReviewURL,
			&ty.Attempts, &created, &ty.Score, &contact, &consent); err != nil {
			return nil, fmt.Errorf("claim thank-you %s: %w", id, err)
		}
		ty.CreatedAt = time.UnixMilli(created)
		address, isEmail := followup.ContactEmail(openStored(db.vault, contact))
		settle := func(status, why string) error {
			_, err := t.ExecContext(ctx, `UPDATE thank_yous SET status = ?, last_error = ?, leased_until = 0 WHERE id = ?`, status, why, id)
			return err
		}
		switch {
		case created < staleBefore.UnixMilli():
			err = settle(ThankYouFailed, "not sent in time: no SMTP server sent it within a day of the answer")
		case !isEmail || !consent:
			err = settle(ThankYouSkipped, "the answer no longer holds an e-mail address with consent")
		default:
			hash := AddressHash(address)
			var unsubscribed bool
			if err = t.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM unsubscribes WHERE address_hash = ? AND store_id IN ('', ?))`,
				hash, ty.StoreID).Scan(&unsubscribed); err != nil {
				break
			}
			if unsubscribed {
				if _, err = t.ExecContext(ctx, `UPDATE thank_yous SET address_hash = ? WHERE id = ?`, hash, id); err == nil {
					err = settle(ThankYouSkipped, "the address unsubscribed")
				}
				break
			}
			ty.Address, ty.Token = address, thanksToken(key, id)
			if _, err = t.ExecContext(ctx, `UPDATE thank_yous SET leased_until = ?, address_hash = ?, token_hash = ? WHERE id = ?`,
				leaseUntil.UnixMilli(), hash, hashSecret(ty.Token), id); err == nil {
				out = append(out, ty)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("claim thank-you %s: %w", id, err)
		}
	}
	if err := t.Commit(); err != nil {
		return nil, fmt.Errorf("claim thank-yous: %w", err)
	}
	return out, nil
}

// RecordThankYou records an attempt to send a thank-you: sent, tried again at
// a.Retry, or failed for good when a.Retry is zero. A.PauseAfter is not used: there is
// no subscription to pause.
func (db *DB) RecordThankYou(ctx context.Context, ty ThankYou, a Attempt) error {
	now := db.now().UnixMilli()
	var err error
	switch {
	case a.Err == "":
		_, err = db.write.ExecContext(ctx, `
			UPDATE thank_yous SET status = 'sent', attempts = attempts + 1, sent_at = ?, leased_until = 0, last_error = ''
			 WHERE id = ?`, now, ty.ID)
	case a.Retry.IsZero():
		_, err = db.write.ExecContext(ctx, `
			UPDATE thank_yous SET status = 'failed', attempts = attempts + 1, leased_until = 0, last_error = ? WHERE id = ?`,
			truncate(a.Err, 500), ty.ID)
	default:
		_, err = db.write.ExecContext(ctx, `
			UPDATE thank_yous SET attempts = attempts + 1, next_attempt_at = ?, leased_until = 0, last_error = ? WHERE id = ?`,
			a.Retry.UnixMilli(), truncate(a.Err, 500), ty.ID)
	}
	if err != nil {
		return fmt.Errorf("record thank-you %s: %w", ty.ID, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// ThankYouLine is a thank-you e-mail as people see it: on a case's contact history and
// the Follow-ups page. It holds no address.
type ThankYouLine struct {
	ID             string    `json:"id"`
	ResponseID     string    `json:"response_id"`
	StoreID        string    `json:"store_id"`
	CaseID         string    `json:"case_id,omitempty"`
	Score          int       `json:"score"`
	Channel        string    `json:"channel"`
	Touchpoint     string    `json:"touchpoint,omitempty"`
	Language       string    `json:"language"`
	ReviewURL      string    `json:"review_url,omitempty"`
	Status         string    `json:"status"`
	Attempts       int       `json:"attempts"`
	LastError      string    `json:"last_error,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	SentAt         time.Time `json:"sent_at,omitzero"`
	UnsubscribedAt time.Time `json:"unsubscribed_at,omitzero"`
}

// ThankYouFilter selects thank-you e-mails.
type ThankYouFilter struct {
	StoreID    string
	Region     string
	Channel    string // the response's channel; empty: every channel
	ResponseID string
	Limit      int // 1 to 500; zero means 50
}

// ThankYous lists thank-you e-mails, newest first.
func (db *DB) ThankYous(ctx context.Context, f ThankYouFilter) ([]ThankYouLine, error) {
	conds, args := []string{"1 = 1"}, []any{}
	if f.StoreID != "" {
		conds, args = append(conds, "ty.store_id = ?"), append(args, f.StoreID)
	}
	if f.Region != "" {
		conds, args = append(conds, "ty.store_id IN (SELECT id FROM stores WHERE region = ?)"), append(args, f.Region)
	}
	if f.Channel != "" {
		conds, args = append(conds, "r.channel = ?"), append(args, f.Channel)
	}
	if f.ResponseID != "" {
		conds, args = append(conds, "ty.response_id = ?"), append(args, f.ResponseID)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT ty.id, ty.response_id, ty.store_id, COALESCE(c.id, ''), r.score, r.channel, r.touchpoint, ty.language,
		       ty.review_url, ty.status, ty.attempts, ty.last_error, ty.created_at, ty.sent_at, ty.unsubscribed_at
		  FROM thank_yous ty JOIN responses r ON r.id = ty.response_id LEFT JOIN cases c ON c.response_id = ty.response_id
		 WHERE `+strings.Join(conds, " AND ")+`
		 ORDER BY ty.created_at DESC, ty.id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("thank-yous: %w", err)
	}
	defer rows.Close()
	var out []ThankYouLine
	for rows.Next() {
		var (
			l                  ThankYouLine
			created            int64
			sent, unsubscribed sql.NullInt64
		)
		if err := rows.Scan(&l.ID, &l.ResponseID, &l.StoreID, &l.CaseID, &l.Score, &l.Channel, &l.Touchpoint, &l.Language,
			&l.ReviewURL, &l.Status, &l.Attempts, &l.LastError, &created, &sent, &unsubscribed); err != nil {
			return nil, fmt.Errorf("thank-yous: %w", err)
		}
		l.CreatedAt = time.UnixMilli(created)
		if sent.Valid {
			l.SentAt = time.UnixMilli(sent.Int64)
		}
		if unsubscribed.Valid {
			l.UnsubscribedAt = time.UnixMilli(unsubscribed.Int64)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// ThankYouRecipient is who a thank-you's unsubscribe link speaks to.
type ThankYouRecipient struct {
	ID             string
	StoreID        string
	Language       string
	UnsubscribedAt time.Time
}

// ThankYouByToken finds the thank-you e-mail an unsubscribe token came in; an unknown
// token is ErrNotFound.
func (db *DB) ThankYouByToken(ctx context.Context, token string) (ThankYouRecipient, error) {
	if !ValidInvitationToken(token) {
		return ThankYouRecipient{}, fmt.Errorf("thank-you: %w", ErrNotFound)
	}
	var (
		r            ThankYouRecipient
		unsubscribed sql.NullInt64
	)
	err := db.read.QueryRowContext(ctx, `SELECT id, store_id, language, unsubscribed_at FROM thank_yous WHERE token_hash = ?`,
		hashSecret(token)).Scan(&r.ID, &r.StoreID, &r.Language, &unsubscribed)
	if errors.Is(err, sql.ErrNoRows) {
		return ThankYouRecipient{}, fmt.Errorf("thank-you: %w", ErrNotFound)
	}
	if err != nil {
		return ThankYouRecipient{}, fmt.Errorf("thank-you: %w", err)
	}
	if unsubscribed.Valid {
		r.UnsubscribedAt = time.UnixMilli(unsubscribed.Int64)
	}
	return r, nil
}

// UnsubscribeThankYou records that the address a thank-you went to wants no more
// e-mail from the chain: no thank-you and no survey invitation is sent to it again.
// Unsubscribing twice is fine.
func (db *DB) UnsubscribeThankYou(ctx context.Context, id, via string) error {
	now := db.now().UnixMilli()
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	defer t.Rollback()
	var addr string
	err = t.QueryRowContext(ctx, `SELECT address_hash FROM thank_yous WHERE id = ?`, id).Scan(&addr)
	if errors.Is(err, sql.ErrNoRows) || err == nil && addr == "" {
		return fmt.Errorf("unsubscribe: thank-you %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	if _, err := t.ExecContext(ctx, `UPDATE thank_yous SET unsubscribed_at = COALESCE(unsubscribed_at, ?) WHERE id = ?`, now, id); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	if _, err := t.ExecContext(ctx, `INSERT INTO unsubscribes (address_hash, store_id, via, created_at) VALUES (?, '', ?, ?)
		ON CONFLICT (address_hash, store_id) DO NOTHING`, addr, via, now); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	return t.Commit()
}
