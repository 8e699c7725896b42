package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/response"
)

// Errors of e-mail invitations, for errors.Is.
var (
	// ErrUnsubscribed: the address asked for no more invitations.
	ErrUnsubscribed = errors.New("the address asked for no more invitations")
	// ErrQuietPeriod: the address was invited within the quiet period.
	ErrQuietPeriod = errors.New("the address was invited within the quiet period")
)

// EmailLinkLabel marks the links that npscollector makes for e-mail invitations.
const EmailLinkLabel = "E-mail invitations"

// AddressHash is what the collector keeps of an e-mail address: the SHA-256 of its
// normalised form, enough to recognise it again and not to write to it.
func AddressHash(address string) string { return hashSecret(NormalizeEmail(address)) }

// Invitation is an e-mail invitation as the collector keeps it: no address, only its
// hash; no token, only its hash.
type Invitation struct {
	ID             string    `json:"id"`
	StoreID        string    `json:"store_id"`
	Link           Link      `json:"-"` // the store's e-mail link its answer comes through
	Touchpoint     string    `json:"touchpoint,omitempty"`
	Language       string    `json:"language"`
	OrderID        string    `json:"order_id,omitempty"`
	Segment        string    `json:"segment,omitempty"`
	ResponseID     string    `json:"response_id"`
	CreatedAt      time.Time `json:"created_at"`
	ExpiresAt      time.Time `json:"expires_at"`
	SentAt         time.Time `json:"sent_at,omitzero"`
	FailedAt       time.Time `json:"failed_at,omitzero"`
	SendError      string    `json:"send_error,omitempty"`
	AnsweredAt     time.Time `json:"answered_at,omitzero"`
	UnsubscribedAt time.Time `json:"unsubscribed_at,omitzero"`
}

// Expired reports whether the invitation takes no more answers at now.
func (inv Invitation) Expired(now time.Time) bool { return !now.Before(inv.ExpiresAt) }

// NewInvitation is an invitation to make.
type NewInvitation struct {
	StoreID    string
	Touchpoint string // optional
	Address    string // used for its hash only
	Language   string
	OrderID    string // optional
	Segment    string // optional
	ExpiresAt  time.Time
	// QuietSince refuses the address (ErrQuietPeriod) when it has an invitation made
	// after it that did not fail to send. Zero: no quiet period.
	QuietSince time.Time
}

// EmailLink returns the store's link for e-mail invitations at a touchpoint, making it
// on first use. Two collectors making it at once make two, which is harmless: answers
// are reported by channel and touchpoint, not by link.
func (db *DB) EmailLink(ctx context.Context, storeID, touchpoint string) (Link, error) {
	l, err := scanLink(db.read.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM links
		 WHERE store_id = ? AND channel = ? AND touchpoint = ? AND label = ? AND disabled_at IS NULL AND expires_at IS NULL
		 ORDER BY created_at, id LIMIT 1`, storeID, response.ChannelEmail, touchpoint, EmailLinkLabel))
	if err == nil {
		return l, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Link{}, fmt.Errorf("e-mail link of %s: %w", storeID, err)
	}
	return db.addLink(ctx, NewLink{StoreID: storeID, Channel: response.ChannelEmail, Touchpoint: touchpoint, Label: EmailLinkLabel})
}

// newInvitationToken makes the secret in an invitation's links: 256 random bits.
func newInvitationToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// InvitationTokenLength is the length of every invitation token.
const InvitationTokenLength = 43

// ValidInvitationToken reports whether s could be an invitation token, so a mangled
// URL is refused without a query.
func ValidInvitationToken(s string) bool {
	if len(s) != InvitationTokenLength {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// AddInvitation records an invitation before it is sent and returns it with its token
// (kept nowhere: only its hash is stored). An address that unsubscribed from the chain
// or the store is refused with ErrUnsubscribed, one invited since nv.QuietSince with
// ErrQuietPeriod; the check and the insert are one transaction, serialised per address,
// so two invitations at once cannot both pass it.
func (db *DB) AddInvitation(ctx context.Context, nv NewInvitation) (Invitation, string, error) {
	if nv.Address == "" || nv.Language == "" {
		return Invitation{}, "", fmt.Errorf("add invitation: %w: an address and a language are required", ErrInvalid)
	}
	st, err := db.Store(ctx, nv.StoreID)
	if err != nil {
		return Invitation{}, "", fmt.Errorf("add invitation: %w", err)
	}
	loc, err := time.LoadLocation(st.Timezone)
	if err != nil {
		return Invitation{}, "", fmt.Errorf("add invitation: store %s time zone: %w", st.ID, err)
	}
	link, err := db.EmailLink(ctx, nv.StoreID, nv.Touchpoint)
	if err != nil {
		return Invitation{}, "", fmt.Errorf("add invitation: %w", err)
	}
	now := time.UnixMilli(db.now().UnixMilli())
	if !nv.ExpiresAt.After(now) {
		return Invitation{}, "", fmt.Errorf("add invitation: %w: it would expire before it is sent", ErrInvalid)
	}
	addr := AddressHash(nv.Address)
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return Invitation{}, "", fmt.Errorf("add invitation: %w", err)
	}
	defer t.Rollback()
	if db.dialect.lockText != "" {
		if _, err := t.ExecContext(ctx, db.dialect.lockText, "invite:"+addr); err != nil {
			return Invitation{}, "", fmt.Errorf("add invitation: lock: %w", err)
		}
	}
	var unsubscribed bool
	if err := t.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM unsubscribes WHERE address_hash = ? AND store_id IN ('', ?))`,
		addr, nv.StoreID).Scan(&unsubscribed); err != nil {
		return Invitation{}, "", fmt.Errorf("add invitation: %w", err)
	}
	if unsubscribed {
		return Invitation{}, "", fmt.Errorf("add invitation: %w", ErrUnsubscribed)
	}
	if !nv.QuietSince.IsZero() {
		var last sql.NullInt64
		if err := t.QueryRowContext(ctx, `SELECT MAX(created_at) FROM invitations WHERE address_hash = ? AND failed_at IS NULL AND created_at > ?`,
			addr, nv.QuietSince.UnixMilli()).Scan(&last); err != nil {
			return Invitation{}, "", fmt.Errorf("add invitation: %w", err)
		}
		if last.Valid {
			return Invitation{}, "", fmt.Errorf("add invitation: %w: last invited on %s", ErrQuietPeriod,
				time.UnixMilli(last.Int64).In(loc).Format(time.DateOnly))
		}
	}
	inv := Invitation{ID: uuid.Must(uuid.NewV7()).String(), StoreID: nv.StoreID, Link: link, Touchpoint: nv.Touchpoint,
		Language: nv.Language, OrderID: nv.OrderID, Segment: nv.Segment, ResponseID: uuid.Must(uuid.NewV7()).String(),
		CreatedAt: now, ExpiresAt: time.UnixMilli(nv.ExpiresAt.UnixMilli())}
	token := newInvitationToken()
	if _, err := t.ExecContext(ctx, `
		INSERT INTO invitations (id, token_hash, store_id, link_id, touchpoint, address_hash, language, order_id, segment,
		                         response_id, day, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inv.ID, hashSecret(token), inv.StoreID, link.ID, inv.Touchpoint, addr, inv.Language, inv.OrderID, inv.Segment,
		inv.ResponseID, now.In(loc).Format(time.DateOnly), now.UnixMilli(), inv.ExpiresAt.UnixMilli()); err != nil {
		return Invitation{}, "", fmt.Errorf("add invitation: %w", err)
	}
	if err := t.Commit(); err != nil {
		return Invitation{}, "", fmt.Errorf("add invitation: %w", err)
	}
	return inv, token, nil
}

const invitationColumns = `i.id, i.store_id, i.touchpoint, i.language, i.order_id, i.segment, i.response_id, i.created_at,
	i.expires_at, i.sent_at, i.failed_at, i.send_error, i.answered_at, i.unsubscribed_at,
	l.id, l.code, l.store_id, l.channel, l.touchpoint, l.label, l.created_at, l.expires_at, l.disabled_at`

func scanInvitation(s interface{ Scan(...any) error }) (Invitation, error) {
	var (
		inv                                  Invitation
		created, expires, linkCreated        int64
		sent, failed, answered, unsubscribed sql.NullInt64
		linkExpires, linkDisabled            sql.NullInt64
	)
	l := &inv.Link
	if err := s.Scan(&inv.ID, &inv.StoreID, &inv.Touchpoint, &inv.Language, &inv.OrderID, &inv.Segment, &inv.ResponseID,
		&created, &expires, &sent, &failed, &inv.SendError, &answered, &unsubscribed,
		&l.ID, &l.Code, &l.StoreID, &l.Channel, &l.Touchpoint, &l.Label, &linkCreated, &linkExpires, &linkDisabled); err != nil {
		return Invitation{}, err
	}
	inv.CreatedAt, inv.ExpiresAt, l.CreatedAt = time.UnixMilli(created), time.UnixMilli(expires), time.UnixMilli(linkCreated)
	for _, v := range []struct {
		n  sql.NullInt64
		to *time.Time
	}{{sent, &inv.SentAt}, {failed, &inv.FailedAt}, {answered, &inv.AnsweredAt}, {unsubscribed, &inv.UnsubscribedAt},
		{linkExpires, &l.ExpiresAt}, {linkDisabled, &l.DisabledAt}} {
		if v.n.Valid {
			*v.to = time.UnixMilli(v.n.Int64)
		}
	}
	return inv, nil
}

// InvitationByToken finds the invitation a token belongs to, answered, expired or not;
// an unknown token is ErrNotFound.
func (db *DB) InvitationByToken(ctx context.Context, token string) (Invitation, error) {
	if !ValidInvitationToken(token) {
		return Invitation{}, fmt.Errorf("invitation: %w", ErrNotFound)
	}
	inv, err := scanInvitation(db.read.QueryRowContext(ctx, `SELECT `+invitationColumns+`
		  FROM invitations i JOIN links l ON l.id = i.link_id WHERE i.token_hash = ?`, hashSecret(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return Invitation{}, fmt.Errorf("invitation: %w", ErrNotFound)
	}
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation: %w", err)
	}
	return inv, nil
}

// MarkInvitationSent notes that the SMTP server took the invitation.
func (db *DB) MarkInvitationSent(ctx context.Context, id string) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE invitations SET sent_at = ? WHERE id = ?`, db.now().UnixMilli(), id); err != nil {
		return fmt.Errorf("invitation %s sent: %w", id, err)
	}
	return nil
}

// MarkInvitationFailed notes that the invitation could not be sent, and why. A failed
// invitation does not count towards the quiet period.
func (db *DB) MarkInvitationFailed(ctx context.Context, id, reason string) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE invitations SET failed_at = ?, send_error = ? WHERE id = ?`,
		db.now().UnixMilli(), reason, id); err != nil {
		return fmt.Errorf("invitation %s failed: %w", id, err)
	}
	return nil
}

// MarkInvitationAnswered notes when the invitation was first answered; later answers
// revise the response and keep that time.
func (db *DB) MarkInvitationAnswered(ctx context.Context, id string, at time.Time) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE invitations SET answered_at = COALESCE(answered_at, ?) WHERE id = ?`,
		at.UnixMilli(), id); err != nil {
		return fmt.Errorf("invitation %s answered: %w", id, err)
	}
	return nil
}

// Unsubscribe records that the address an invitation went to wants no more
// invitations from the chain: it is never invited again. via says how it was asked
// (the page's button, or a mail client's one-click POST). Unsubscribing twice is fine.
func (db *DB) Unsubscribe(ctx context.Context, invitationID, via string) error {
	now := db.now().UnixMilli()
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	defer t.Rollback()
	var addr string
	err = t.QueryRowContext(ctx, `SELECT address_hash FROM invitations WHERE id = ?`, invitationID).Scan(&addr)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("unsubscribe: invitation %s: %w", invitationID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	if _, err := t.ExecContext(ctx, `UPDATE invitations SET unsubscribed_at = COALESCE(unsubscribed_at, ?) WHERE id = ?`,
		now, invitationID); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	if _, err := t.ExecContext(ctx, `INSERT INTO unsubscribes (address_hash, store_id, via, created_at) VALUES (?, '', ?, ?)
		ON CONFLICT (address_hash, store_id) DO NOTHING`, addr, via, now); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	return t.Commit()
}

// ResponseOfLink reads a response that came through a link, as it was stored: to show
// a shopper their answer again before they change it, or to tell a retry from a change. A response of another link, or
// none, is ErrNotFound.
func (db *DB) ResponseOfLink(ctx context.Context, linkID, id string) (response.Response, error) {
	var (
		r                  response.Response
		reasons, answers   string
		created, completed int64
		outcome            string
	)
	err := db.read.QueryRowContext(ctx, `
		SELECT id, score, reasons, comment, contact, contact_consent, locale, survey_version, created_at, completed_at,
		       outcome, suspect, channel, touchpoint, answers, order_id, segment
		  FROM responses WHERE id = ? AND link_id = ?`, id, linkID).Scan(&r.ID, &r.Score, &reasons, &r.Comment, &r.Contact,
		&r.ContactConsent, &r.Locale, &r.SurveyVersion, &created, &completed, &outcome, &r.Suspect, &r.Channel, &r.Touchpoint,
		&answers, &r.OrderID, &r.Segment)
	if errors.Is(err, sql.ErrNoRows) {
		return response.Response{}, fmt.Errorf("response %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return response.Response{}, fmt.Errorf("response %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(reasons), &r.Reasons); err != nil {
		return response.Response{}, fmt.Errorf("response %s: reasons: %w", id, err)
	}
	if answers != "" {
		if err := json.Unmarshal([]byte(answers), &r.Answers); err != nil {
			return response.Response{}, fmt.Errorf("response %s: answers: %w", id, err)
		}
	}
	r.CreatedAt, r.CompletedAt, r.Outcome = time.UnixMilli(created), time.UnixMilli(completed), response.Outcome(outcome)
	if r.Contact, err = db.vault.Open(r.Contact); err != nil {
		return response.Response{}, fmt.Errorf("response %s: %w", id, err)
	}
	return r, nil
}

// InvitationStat is what became of one store's invitations at one touchpoint.
type InvitationStat struct {
	StoreID      string `json:"store_id"`
	Touchpoint   string `json:"touchpoint"`
	Invited      int64  `json:"invited"` // sent
	Answered     int64  `json:"answered"`
	Unsubscribed int64  `json:"unsubscribed"`
	Failed       int64  `json:"failed"` // refused by the SMTP server
}

// AnswerRate is the share of sent invitations answered, 0 to 1.
func (s InvitationStat) AnswerRate() float64 {
	if s.Invited == 0 {
		return 0
	}
	return float64(s.Answered) / float64(s.Invited)
}

// InvitationStats counts the invitations made on the filter's days (the store's local
// day of sending), per store and touchpoint, in that order. A filter on a channel other
// than email has none.
func (db *DB) InvitationStats(ctx context.Context, f Filter) ([]InvitationStat, error) {
	if f.Channel != "" && f.Channel != response.ChannelEmail {
		return nil, nil
	}
	f.Channel = ""
	where, args := f.where("")
	rows, err := db.read.QueryContext(ctx, `
		SELECT store_id, touchpoint,
		       CAST(COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT),
		       CAST(COALESCE(SUM(CASE WHEN sent_at IS NOT NULL AND answered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT),
		       CAST(COALESCE(SUM(CASE WHEN unsubscribed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT),
		       CAST(COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT)
		  FROM invitations WHERE `+where+`
		 GROUP BY store_id, touchpoint ORDER BY store_id, touchpoint`, args...)
	if err != nil {
		return nil, fmt.Errorf("invitation stats: %w", err)
	}
	defer rows.Close()
	var out []InvitationStat
	for rows.Next() {
		var s InvitationStat
		if err := rows.Scan(&s.StoreID, &s.Touchpoint, &s.Invited, &s.Answered, &s.Unsubscribed, &s.Failed); err != nil {
			return nil, fmt.Errorf("invitation stats: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
