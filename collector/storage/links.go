package storage

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/response"
)

// Link is a survey link: the short code of a URL (/s/CODE) that a QR code, a message or
// a web page carries, answering for one store through one channel and touchpoint.
type Link struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"` // link, site or app; see the LinkKind constants
	Code       string    `json:"code"`
	StoreID    string    `json:"store_id"`
	Channel    string    `json:"channel"`
	Touchpoint string    `json:"touchpoint,omitempty"`
	Label      string    `json:"label,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	DisabledAt time.Time `json:"disabled_at,omitzero"`
	// Origins are the web origins (https://shop.example.com) a site or app key answers
	// from; BundleIDs the mobile apps (com.example.shop). RatePerMinute bounds its
	// answers; zero leaves the default to the handler.
	Origins       []string `json:"origins,omitempty"`
	BundleIDs     []string `json:"bundle_ids,omitempty"`
	RatePerMinute int      `json:"rate_per_minute,omitempty"`
}

// The kinds of link.
const (
	LinkKindSurvey = "link" // a URL to the web survey, /s/CODE: printed, sent, or shown on the kiosk
	LinkKindSite   = "site" // a website widget's key: answers from its origins only
	LinkKindApp    = "app"  // a mobile app's or another system's key for the submission API
)

// AllowsOrigin reports whether a request's Origin header is one the key lists.
func (l Link) AllowsOrigin(origin string) bool {
	o, err := NormalizeOrigin(origin)
	return err == nil && slices.Contains(l.Origins, o)
}

// AllowsBundle reports whether an app's bundle id is one the key lists.
func (l Link) AllowsBundle(id string) bool { return id != "" && slices.Contains(l.BundleIDs, id) }

// NormalizeOrigin is an origin as browsers send it: scheme://host[:port], lowercase,
// the default port left out. It must be https, or http to localhost for development.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: origin %q must be scheme://host[:port] and nothing more", ErrInvalid, s)
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	if scheme != "https" && !(scheme == "http" && (host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host == "::1")) {
		return "", fmt.Errorf("%w: origin %q must be https (http only to localhost)", ErrInvalid, s)
	}
	port := u.Port()
	if port == "443" && scheme == "https" || port == "80" && scheme == "http" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// bundlePattern is a reverse-DNS app id, as iOS and Android name apps.
var bundlePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$`)

// ErrLinkClosed is wrapped when a link is disabled or has expired.
var ErrLinkClosed = errors.New("this survey link is closed")

// Open says whether the link takes answers at now, or why not (wrapping ErrLinkClosed).
func (l Link) Open(now time.Time) error {
	switch {
	case !l.DisabledAt.IsZero():
		return fmt.Errorf("link %s: %w: disabled on %s", l.Code, ErrLinkClosed, l.DisabledAt.UTC().Format(time.DateOnly))
	case !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt):
		return fmt.Errorf("link %s: %w: expired on %s", l.Code, ErrLinkClosed, l.ExpiresAt.UTC().Format(time.DateOnly))
	}
	return nil
}

// NewLink is a link to make.
type NewLink struct {
	Kind       string    // empty: a survey link
	StoreID    string    // required
	Channel    string    // required: qr, web, email or another label (not kiosk)
	Touchpoint string    // optional
	Label      string    // optional: what it is printed on, for people
	ExpiresAt  time.Time // zero: never
	// Origins (required for a site key), BundleIDs and RatePerMinute: see Link.
	Origins       []string
	BundleIDs     []string
	RatePerMinute int
}

// linkAlphabet leaves out 0, 1, i, l and o, which are read wrong off paper.
const linkAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// LinkCodeLength gives 31⁸ ≈ 8.5·10¹¹ codes: guessing one is hopeless at any rate limit.
const LinkCodeLength = 8

// newLinkCode makes a random link code.
func newLinkCode() string {
	b := make([]byte, LinkCodeLength)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	for i := range b {
		b[i] = linkAlphabet[int(b[i])%len(linkAlphabet)]
	}
	return string(b)
}

// ValidLinkCode reports whether s could be a link code, so a mistyped URL is refused
// without a query.
func ValidLinkCode(s string) bool {
	if len(s) != LinkCodeLength {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune(linkAlphabet, c) {
			return false
		}
	}
	return true
}

// ForInvitations reports whether the link is the one e-mail invitations answer through
// (see EmailLink): it takes answers only with an invitation's token, never at /s/.
func (l Link) ForInvitations() bool {
	return l.Channel == response.ChannelEmail && l.Label == EmailLinkLabel
}

// AnswersAtSurveyURL reports whether the web survey at /s/CODE takes this link's
// answers: a printed or sent survey link does; a site or app key answers through its
// own endpoints, and the invitations' link only with an invitation's token.
func (l Link) AnswersAtSurveyURL() bool {
	return (l.Kind == "" || l.Kind == LinkKindSurvey) && !l.ForInvitations()
}

// AddLink makes a survey link with a fresh code.
func (db *DB) AddLink(ctx context.Context, nl NewLink) (Link, error) {
	if strings.TrimSpace(nl.Label) == EmailLinkLabel {
		return Link{}, fmt.Errorf("add link: %w: the label %q is kept for the links of e-mail invitations", ErrInvalid, EmailLinkLabel)
	}
	return db.addLink(ctx, nl)
}

func (db *DB) addLink(ctx context.Context, nl NewLink) (Link, error) {
	if err := response.CheckLabel("channel", nl.Channel); err != nil {
		return Link{}, fmt.Errorf("add link: %w", err)
	}
	if nl.Channel == response.ChannelKiosk {
		return Link{}, fmt.Errorf("add link: %w: kiosk is the channel of enrolled kiosks, not of links", ErrInvalid)
	}
	if nl.Touchpoint != "" {
		if err := response.CheckLabel("touchpoint", nl.Touchpoint); err != nil {
			return Link{}, fmt.Errorf("add link: %w", err)
		}
	}
	if !utf8.ValidString(nl.Label) || utf8.RuneCountInString(nl.Label) > 100 {
		return Link{}, fmt.Errorf("add link: %w: a label is at most 100 characters of text", ErrInvalid)
	}
	kind := cmp.Or(nl.Kind, LinkKindSurvey)
	var origins []string
	for _, o := range nl.Origins {
		n, err := NormalizeOrigin(o)
		if err != nil {
			return Link{}, fmt.Errorf("add link: %w", err)
		}
		if !slices.Contains(origins, n) {
			origins = append(origins, n)
		}
	}
	for _, b := range nl.BundleIDs {
		if len(b) > 155 || !bundlePattern.MatchString(b) {
			return Link{}, fmt.Errorf("add link: %w: bundle id %q must be a reverse-DNS app id such as com.example.shop", ErrInvalid, b)
		}
	}
	switch {
	case kind != LinkKindSurvey && kind != LinkKindSite && kind != LinkKindApp:
		return Link{}, fmt.Errorf("add link: %w: kind must be link, site or app", ErrInvalid)
	case kind == LinkKindSite && len(origins) == 0:
		return Link{}, fmt.Errorf("add link: %w: a site key needs the origins of the pages that embed it", ErrInvalid)
	case kind == LinkKindSurvey && (len(origins) > 0 || len(nl.BundleIDs) > 0):
		return Link{}, fmt.Errorf("add link: %w: origins and bundle ids are for site and app keys", ErrInvalid)
	case kind == LinkKindSite && len(nl.BundleIDs) > 0:
		return Link{}, fmt.Errorf("add link: %w: bundle ids are for app keys", ErrInvalid)
	case nl.RatePerMinute < 0 || nl.RatePerMinute > 100000:
		return Link{}, fmt.Errorf("add link: %w: a rate of 0 (the default) to 100000 a minute", ErrInvalid)
	}
	now := db.now()
	if !nl.ExpiresAt.IsZero() && !nl.ExpiresAt.After(now) {
		return Link{}, fmt.Errorf("add link: %w: it would expire before it is made", ErrInvalid)
	}
	var exists bool
	if err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM stores WHERE id = ?)`, nl.StoreID).Scan(&exists); err != nil {
		return Link{}, fmt.Errorf("add link: %w", err)
	}
	if !exists {
		return Link{}, fmt.Errorf("add link: store %q: %w", nl.StoreID, ErrNotFound)
	}
	l := Link{ID: uuid.Must(uuid.NewV7()).String(), Kind: kind, StoreID: nl.StoreID, Channel: nl.Channel, Touchpoint: nl.Touchpoint,
		Label: strings.TrimSpace(nl.Label), CreatedAt: time.UnixMilli(now.UnixMilli()),
		Origins: origins, BundleIDs: slices.Compact(slices.Sorted(slices.Values(nl.BundleIDs))), RatePerMinute: nl.RatePerMinute}
	var expires any
	if !nl.ExpiresAt.IsZero() {
		l.ExpiresAt = time.UnixMilli(nl.ExpiresAt.UnixMilli())
		expires = l.ExpiresAt.UnixMilli()
	}
	for range 5 { // a clash among 8.5·10¹¹ codes is rare; five in a row is a bug
		l.Code = newLinkCode()
		_, err := db.write.ExecContext(ctx, `
			INSERT INTO links (id, code, store_id, channel, touchpoint, label, created_at, expires_at, kind, origins, bundle_ids, rate_per_minute)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.Code, l.StoreID, l.Channel, l.Touchpoint, l.Label, l.CreatedAt.UnixMilli(), expires,
			l.Kind, strings.Join(l.Origins, " "), strings.Join(l.BundleIDs, " "), l.RatePerMinute)
		if isUniqueViolation(err) {
			continue
		}
		if err != nil {
			return Link{}, fmt.Errorf("add link: %w", err)
		}
		return l, nil
	}
	return Link{}, errors.New("add link: no free code after 5 tries")
}

const linkColumns = `id, code, store_id, channel, touchpoint, label, created_at, expires_at, disabled_at, kind, origins, bundle_ids, rate_per_minute`

func scanLink(s interface{ Scan(...any) error }) (Link, error) {
	var (
		l                 Link
		created           int64
		expires, disabled sql.NullInt64
	)
	var origins, bundles string
	if err := s.Scan(&l.ID, &l.Code, &l.StoreID, &l.Channel, &l.Touchpoint, &l.Label, &created, &expires, &disabled,
		&l.Kind, &origins, &bundles, &l.RatePerMinute); err != nil {
		return Link{}, err
	}
	l.Origins, l.BundleIDs = strings.Fields(origins), strings.Fields(bundles)
	l.CreatedAt = time.UnixMilli(created)
	if expires.Valid {
		l.ExpiresAt = time.UnixMilli(expires.Int64)
	}
	if disabled.Valid {
		l.DisabledAt = time.UnixMilli(disabled.Int64)
	}
	return l, nil
}

// LinkByCode finds a link by its code, open or not.
func (db *DB) LinkByCode(ctx context.Context, code string) (Link, error) {
	l, err := scanLink(db.read.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM links WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, fmt.Errorf("link %q: %w", code, ErrNotFound)
	}
	if err != nil {
		return Link{}, fmt.Errorf("link %q: %w", code, err)
	}
	return l, nil
}

// Links lists the links of a store, or of every store when storeID is empty, newest first.
func (db *DB) Links(ctx context.Context, storeID string) ([]Link, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+linkColumns+` FROM links WHERE ? = '' OR store_id = ? ORDER BY created_at DESC, id`,
		storeID, storeID)
	if err != nil {
		return nil, fmt.Errorf("links: %w", err)
	}
	defer rows.Close()
	var out []Link
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, fmt.Errorf("links: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// DisableLink closes a link by id or code: it answers no more, and its answers stay.
func (db *DB) DisableLink(ctx context.Context, idOrCode string) (Link, error) {
	res, err := db.write.ExecContext(ctx, `UPDATE links SET disabled_at = ? WHERE (id = ? OR code = ?) AND disabled_at IS NULL`,
		db.now().UnixMilli(), idOrCode, idOrCode)
	if err != nil {
		return Link{}, fmt.Errorf("disable link %s: %w", idOrCode, err)
	}
	l, err := scanLink(db.read.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM links WHERE id = ? OR code = ?`, idOrCode, idOrCode))
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, fmt.Errorf("disable link %s: %w", idOrCode, ErrNotFound)
	}
	if err != nil {
		return Link{}, fmt.Errorf("disable link %s: %w", idOrCode, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return l, fmt.Errorf("disable link %s: %w: already disabled", idOrCode, ErrConflict)
	}
	return l, nil
}
