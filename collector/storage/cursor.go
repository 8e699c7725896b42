package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The received-order cursor (GET /v1/responses, migration 0024).
//
// Every response has a position that the collector gives it when it stores it, and a
// reader pages by position: "the rows after p, in order". For that never to skip or
// repeat a row, a row that becomes visible later must sort after every position already
// served.
//
// SQLite has one writer: InsertBatch reserves its positions (seq, from response_seq)
// inside its transaction, so positions grow in commit order, and a reader's snapshot
// holds every committed row up to the highest position it sees.
//
// PostgreSQL commits concurrent transactions in any order, so a sequence value alone
// breaks the rule: a reader could serve seq 11 while the transaction holding seq 10 is
// still open, and never see 10. There a position is (xid, seq), xid being the id of the
// inserting transaction (pg_current_xact_id(), a column default), and a reader serves
// only the rows whose xid is below its snapshot's xmin. That works because:
//
//   - every transaction below xmin has ended, committed or aborted: the rows the
//     statement sees with such an xid are all the rows those transactions will ever
//     have inserted (a transaction's rows become visible together, at its commit);
//   - a transaction that ends later was running at the snapshot or started after it, so
//     its xid is at or above xmin (xids are handed out in increasing order, and xmin is
//     the lowest running one), and its rows sort after every row served, whose xids are
//     below xmin;
//   - xmin never goes down from one statement to the next, so each page reads a prefix,
//     in (xid, seq) order, of a set that only grows at its end.
//
// A page therefore takes the first rows after the cursor among those below xmin, and
// the next page starts where it ended. The price is latency: a row shows once every
// transaction older than its own has ended, so a transaction left open anywhere on the
// PostgreSQL server (xids are server-wide) holds new rows back, without losing them.
// UPDATEs keep a row's position (the columns are not touched); deleted rows simply
// disappear from later pages.

// Position is a response's place in received order. The zero Position is before the
// first response.
type Position struct {
	XID uint64 // the inserting transaction on PostgreSQL; 0 on SQLite
	Seq int64
}

// cursorPrefix versions the cursor's encoding, so that it can change.
const cursorPrefix = "r1:"

// Cursor is the position as the API hands it out: opaque to clients.
func (p Position) Cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatUint(p.XID, 10) + ":" + strconv.FormatInt(p.Seq, 10)))
}

// ParseCursor reads a Cursor; the empty string is the zero Position. Anything else that
// is not a cursor is ErrInvalid.
func ParseCursor(s string) (Position, error) {
	if s == "" {
		return Position{}, nil
	}
	bad := fmt.Errorf("%w: cursor %q is not one this collector handed out", ErrInvalid, s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Position{}, bad
	}
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return Position{}, bad
	}
	x, q, ok := strings.Cut(rest, ":")
	if !ok {
		return Position{}, bad
	}
	xid, err1 := strconv.ParseUint(x, 10, 63)
	seq, err2 := strconv.ParseInt(q, 10, 64)
	if err1 != nil || err2 != nil || seq < 0 {
		return Position{}, bad
	}
	return Position{XID: xid, Seq: seq}, nil
}

// reservePositions hands out n positions in received order to one InsertBatch on
// SQLite: the batch's rows take base+1 … base+n. On PostgreSQL the columns' defaults
// give them, and it returns -1.
func reservePositions(ctx context.Context, t tx, n int) (base int64, err error) {
	if t.d.name != "sqlite" {
		return -1, nil
	}
	var last int64
	if err := t.QueryRowContext(ctx, `UPDATE response_seq SET last = last + ? RETURNING last`, n).Scan(&last); err != nil {
		return 0, fmt.Errorf("reserve positions: %w", err)
	}
	return last - int64(n), nil
}

// Page sizes of ResponsesAfter.
const (
	DefaultResponsePage = 100
	MaxResponsePage     = 1000
)

// ResponseQuery selects a page of responses in received order.
type ResponseQuery struct {
	After   Position // the cursor: rows after it
	Limit   int      // 1 to MaxResponsePage; 0: DefaultResponsePage
	StoreID string   // empty: every store
	Region  string   // the stores of this region; empty: every region
	Channel string   // empty: every channel
	// Since keeps the responses the collector received at or after it (received_at, not
	// the shopper's time); zero: all.
	Since time.Time
	// Contacts includes the shopper's contact where they agreed to be contacted.
	Contacts bool
}

// ReceivedResponse is a stored response as the integration API lists it.
type ReceivedResponse struct {
	ID         string              `json:"id"`
	Store      string              `json:"store"`
	Device     string              `json:"device,omitempty"` // empty for a survey link's response
	Channel    string              `json:"channel"`
	Touchpoint string              `json:"touchpoint,omitempty"`
	Segment    string              `json:"segment,omitempty"`
	Score      int                 `json:"score"`
	Reasons    []string            `json:"reasons"`
	Comment    string              `json:"comment"`
	Answers    map[string][]string `json:"answers,omitempty"`
	Locale     string              `json:"locale"`
	CreatedAt  time.Time           `json:"created_at"`
	ReceivedAt time.Time           `json:"received_at"`
	// Contact is set only for a reader allowed contacts, and only where the shopper
	// agreed to be contacted. ContactSealed is then the key id of a contact this
	// collector cannot open.
	Contact       string `json:"contact,omitempty"`
	ContactSealed string `json:"contact_sealed,omitempty"`
}

// ResponsesAfter returns up to q.Limit responses after q.After in received order, and the
// position to ask from next: the last row's, or q.After when there is none (a client
// polls with it for newer rows). The filters compose with the cursor: the position
// moves past rows they leave out only as far as the rows returned.
func (db *DB) ResponsesAfter(ctx context.Context, q ResponseQuery) ([]ReceivedResponse, Position, error) {
	if q.Limit == 0 {
		q.Limit = DefaultResponsePage
	}
	if q.Limit < 1 || q.Limit > MaxResponsePage {
		return nil, q.After, fmt.Errorf("responses: %w: limit must be 1 to %d", ErrInvalid, MaxResponsePage)
	}
	var (
		xid   = "0"
		conds []string
		args  []any
		order = "r.seq"
	)
	if db.dialect.name == "postgres" {
		xid, order = "CAST(CAST(r.xid AS TEXT) AS BIGINT)", "r.xid, r.seq"
		conds = append(conds, "(r.xid, r.seq) > (CAST(CAST(? AS TEXT) AS xid8), ?)",
			"r.xid < (SELECT pg_snapshot_xmin(pg_current_snapshot()))")
		args = append(args, strconv.FormatUint(q.After.XID, 10), q.After.Seq)
	} else {
		conds = append(conds, "r.seq > ?")
		args = append(args, q.After.Seq)
	}
	if q.StoreID != "" {
		conds = append(conds, "r.store_id = ?")
		args = append(args, q.StoreID)
	}
	if q.Region != "" {
		conds = append(conds, "r.store_id IN (SELECT id FROM stores WHERE region = ?)")
		args = append(args, q.Region)
	}
	if q.Channel != "" {
		conds = append(conds, "r.channel = ?")
		args = append(args, q.Channel)
	}
	if !q.Since.IsZero() {
		conds = append(conds, "r.received_at >= ?")
		args = append(args, q.Since.UnixMilli())
	}
	args = append(args, q.Limit)
	rows, err := db.read.QueryContext(ctx, `
		SELECT r.id, r.store_id, COALESCE(r.device_id, ''), r.channel, r.touchpoint, r.segment, r.score, r.reasons,
		       r.comment, r.answers, r.locale, r.created_at, r.received_at, r.contact, r.contact_consent,
		       COALESCE(r.contact_sealed, ''), `+xid+`, r.seq
		  FROM responses r
		 WHERE `+strings.Join(conds, " AND ")+`
		 ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, q.After, fmt.Errorf("responses: %w", err)
	}
	defer rows.Close()
	out := []ReceivedResponse{}
	next := q.After
	for rows.Next() {
		var (
			r                         ReceivedResponse
			reasons, answers, contact string
			created, received         int64
			consent                   bool
			sealed                    string
			pos                       Position
		)
		if err := rows.Scan(&r.ID, &r.Store, &r.Device, &r.Channel, &r.Touchpoint, &r.Segment, &r.Score, &reasons,
			&r.Comment, &answers, &r.Locale, &created, &received, &contact, &consent, &sealed, &pos.XID, &pos.Seq); err != nil {
			return nil, q.After, fmt.Errorf("responses: %w", err)
		}
		if err := json.Unmarshal([]byte(reasons), &r.Reasons); err != nil {
			return nil, q.After, fmt.Errorf("responses: reasons of %s: %w", r.ID, err)
		}
		if r.Reasons == nil {
			r.Reasons = []string{}
		}
		if answers != "" {
			if err := json.Unmarshal([]byte(answers), &r.Answers); err != nil {
				return nil, q.After, fmt.Errorf("responses: answers of %s: %w", r.ID, err)
			}
		}
		r.CreatedAt, r.ReceivedAt = time.UnixMilli(created).UTC(), time.UnixMilli(received).UTC()
		if q.Contacts && consent {
			if contact != "" {
				contact = openStored(db.vault, contact)
			}
			r.Contact, r.ContactSealed = contact, sealed
		}
		out = append(out, r)
		next = pos
	}
	if err := rows.Err(); err != nil {
		return nil, q.After, fmt.Errorf("responses: %w", err)
	}
	return out, next, nil
}
