package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"github.com/google/uuid"
)

// Scope kinds of a user: what part of the chain they may see.
const (
	UserScopeChain  = "chain"
	UserScopeRegion = "region"
	UserScopeStore  = "store"
)

// UserLanguages are the languages a user's pages and e-mails may be in.
var UserLanguages = []string{"en", "es", "fr", "de"}

// MinPasswordLength is the shortest password a user may have.
const MinPasswordLength = 10

// maxPasswordLength bounds the work argon2 is asked to do for one sign-in.
const maxPasswordLength = 1024

// SessionTTL is how long a dashboard session lasts after sign-in.
const SessionTTL = 12 * time.Hour

// User is a person who signs in to the dashboard.
type User struct {
	ID         string    `json:"id"`
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	Language   string    `json:"language"`
	ScopeKind  string    `json:"scope_kind"`      // chain, region or store
	Scope      string    `json:"scope,omitempty"` // the region or the store id
	CreatedAt  time.Time `json:"created_at"`
	DisabledAt time.Time `json:"disabled_at,omitzero"`
	// Alerts are the events e-mailed to the person about what they see; see SetUserAlerts.
	Alerts []string `json:"alerts"`
	// Contacts: the person may see shoppers' contact details (the contacts permission);
	// without it the dashboard shows ContactHiddenText in their place.
	Contacts bool `json:"contacts"`
}

// Disabled reports whether the user may no longer sign in.
func (u User) Disabled() bool { return !u.DisabledAt.IsZero() }

// Reader is what the user reads reports as.
func (u User) Reader() Reader {
	r := Reader{UserID: u.ID, Name: u.Name, HideContacts: !u.Contacts}
	switch u.ScopeKind {
	case UserScopeStore:
		r.StoreID = u.Scope
	case UserScopeRegion:
		r.Region = u.Scope
	}
	return r
}

// NewUser is a user to add, with their first password.
type NewUser struct {
	Email, Name, Language string
	ScopeKind, Scope      string // empty kind: the chain
	Password              string
	Alerts                []string // events e-mailed to them; nil: none
	// NoContacts: they may not see shoppers' contact details (User.Contacts).
	NoContacts bool
}

// NormalizeEmail is how an address is stored and looked up: trimmed and lowercased.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CheckPassword says why a password is refused, or returns nil.
func CheckPassword(p string) error {
	if utf8.RuneCountInString(p) < MinPasswordLength {
		return fmt.Errorf("%w: a password needs at least %d characters", ErrInvalid, MinPasswordLength)
	}
	if len(p) > maxPasswordLength {
		return fmt.Errorf("%w: a password may have at most %d bytes", ErrInvalid, maxPasswordLength)
	}
	return nil
}

// AddUser adds a user who may sign in at once. The e-mail must be new; a store scope
// must name a known store.
func (db *DB) AddUser(ctx context.Context, nu NewUser) (User, error) {
	u := User{ID: uuid.Must(uuid.NewV7()).String(), Email: NormalizeEmail(nu.Email), Name: strings.TrimSpace(nu.Name),
		Language: nu.Language, ScopeKind: nu.ScopeKind, Scope: strings.TrimSpace(nu.Scope), CreatedAt: db.now()}
	if u.Language == "" {
		u.Language = "en"
	}
	if u.ScopeKind == "" {
		u.ScopeKind = UserScopeChain
	}
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || len(u.Email) > 254 {
		return User{}, fmt.Errorf("add user: %w: %q is not an e-mail address", ErrInvalid, nu.Email)
	}
	if u.Name == "" || utf8.RuneCountInString(u.Name) > 100 {
		return User{}, fmt.Errorf("add user %s: %w: a name of 1 to 100 characters is required", u.Email, ErrInvalid)
	}
	if !slices.Contains(UserLanguages, u.Language) {
		return User{}, fmt.Errorf("add user %s: %w: language must be one of %s", u.Email, ErrInvalid, strings.Join(UserLanguages, ", "))
	}
	switch u.ScopeKind {
	case UserScopeChain:
		if u.Scope != "" {
			return User{}, fmt.Errorf("add user %s: %w: a chain user has no scope", u.Email, ErrInvalid)
		}
	case UserScopeRegion:
		if u.Scope == "" {
			return User{}, fmt.Errorf("add user %s: %w: a region user needs the region", u.Email, ErrInvalid)
		}
	case UserScopeStore:
		var exists bool
		if err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM stores WHERE id = ?)`, u.Scope).Scan(&exists); err != nil {
			return User{}, fmt.Errorf("add user %s: %w", u.Email, err)
		}
		if !exists {
			return User{}, fmt.Errorf("add user %s: store %q: %w", u.Email, u.Scope, ErrNotFound)
		}
	default:
		return User{}, fmt.Errorf("add user %s: %w: scope must be chain, region or store", u.Email, ErrInvalid)
	}
	if err := CheckPassword(nu.Password); err != nil {
		return User{}, fmt.Errorf("add user %s: %w", u.Email, err)
	}
	for _, e := range nu.Alerts {
		if !slices.Contains(UserAlertEvents, e) {
			return User{}, fmt.Errorf("add user %s: %w: %q cannot be e-mailed to a person (choose from %s)",
				u.Email, ErrInvalid, e, strings.Join(UserAlertEvents, ", "))
		}
	}
	hash, err := argon2id.CreateHash(nu.Password, argon2id.DefaultParams)
	if err != nil {
		return User{}, fmt.Errorf("add user %s: hash password: %w", u.Email, err)
	}
	_, err = db.write.ExecContext(ctx, `
		INSERT INTO users (id, email, name, language, scope_kind, scope, password_hash, created_at, contacts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.Name, u.Language, u.ScopeKind, u.Scope, hash, u.CreatedAt.UnixMilli(), !nu.NoContacts)
	if isUniqueViolation(err) {
		return User{}, fmt.Errorf("add user %s: %w", u.Email, ErrExists)
	}
	if err != nil {
		return User{}, fmt.Errorf("add user %s: %w", u.Email, err)
	}
	u.CreatedAt = time.UnixMilli(u.CreatedAt.UnixMilli())
	if len(nu.Alerts) > 0 {
		if err := db.SetUserAlerts(ctx, u.ID, nu.Alerts); err != nil {
			return u, fmt.Errorf("add user %s: added, but: %w", u.Email, err)
		}
		u.Alerts = slices.Compact(slices.Sorted(slices.Values(nu.Alerts)))
	}
	return u, nil
}

const userColumns = `id, email, name, language, scope_kind, scope, created_at, disabled_at, contacts`

// sessionUserColumns are userColumns of the users table aliased u, beside sessions.
const sessionUserColumns = `u.id, u.email, u.name, u.language, u.scope_kind, u.scope, u.created_at, u.disabled_at, u.contacts`

// scanUser reads userColumns, then any extra columns into extra.
func scanUser(s interface{ Scan(...any) error }, extra ...any) (User, error) {
	var (
		u        User
		created  int64
		disabled sql.NullInt64
	)
	if err := s.Scan(append([]any{&u.ID, &u.Email, &u.Name, &u.Language, &u.ScopeKind, &u.Scope, &created, &disabled, &u.Contacts}, extra...)...); err != nil {
		return User{}, err
	}
	u.CreatedAt = time.UnixMilli(created)
	if disabled.Valid {
		u.DisabledAt = time.UnixMilli(disabled.Int64)
	}
	return u, nil
}

// Users lists every user, disabled ones too, by name.
func (db *DB) Users(ctx context.Context) ([]User, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name, email`)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	alerts, err := db.userAlerts(ctx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Alerts = alerts[out[i].ID]
	}
	return out, nil
}

// User finds a user by id.
func (db *DB) User(ctx context.Context, id string) (User, error) { return db.userWhere(ctx, "id", id) }

// UserByEmail finds a user by e-mail, in any case.
func (db *DB) UserByEmail(ctx context.Context, email string) (User, error) {
	return db.userWhere(ctx, "email", NormalizeEmail(email))
}

// userWhere finds the user whose column (id or email, both unique) has a value.
func (db *DB) userWhere(ctx context.Context, column, value string) (User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+column+` = ?`, value))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %s: %w", value, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", value, err)
	}
	var events string
	err = db.read.QueryRowContext(ctx, `SELECT events FROM webhook_subscriptions WHERE user_id = ?`, u.ID).Scan(&events)
	switch {
	case err == nil:
		u.Alerts = strings.Split(strings.Trim(events, ","), ",")
	case !errors.Is(err, sql.ErrNoRows):
		return User{}, fmt.Errorf("user %s: alerts: %w", value, err)
	}
	return u, nil
}

// DisableUser stops a user signing in and ends their sessions, in one transaction, so
// that no collector serves them another page. The user stays, for case histories.
func (db *DB) DisableUser(ctx context.Context, email string) error {
	email = NormalizeEmail(email)
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("disable user %s: %w", email, err)
	}
	defer tx.Rollback()
	var id string
	var disabled sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT id, disabled_at FROM users WHERE email = ?`, email).Scan(&id, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("disable user %s: %w", email, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("disable user %s: %w", email, err)
	}
	if disabled.Valid {
		return fmt.Errorf("disable user %s: %w: already disabled", email, ErrConflict)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = ? WHERE id = ?`, db.now().UnixMilli(), id); err != nil {
		return fmt.Errorf("disable user %s: %w", email, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
		return fmt.Errorf("disable user %s: end sessions: %w", email, err)
	}
	if err := dropUserSubscription(ctx, tx, id); err != nil {
		return fmt.Errorf("disable user %s: %w", email, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("disable user %s: %w", email, err)
	}
	return nil
}

// decoyHash is compared against when the e-mail is unknown, so that an unknown address
// costs the same argon2 work as a wrong password and the timing tells nothing.
// It is made on first use: commands that never sign anyone in skip the work.
var decoyHash = sync.OnceValue(func() string {
	h, err := argon2id.CreateHash("decoy password never used", argon2id.DefaultParams)
	if err != nil {
		panic(err)
	}
	return h
})

// AuthenticateUser checks an e-mail and password. An unknown e-mail, a wrong password
// and a disabled user all return ErrUnauthorized, after the same work.
func (db *DB) AuthenticateUser(ctx context.Context, email, password string) (User, error) {
	if len(password) > maxPasswordLength {
		password = password[:maxPasswordLength]
	}
	var hash string
	u, err := scanUser(db.read.QueryRowContext(ctx,
		`SELECT `+userColumns+`, password_hash FROM users WHERE email = ?`, NormalizeEmail(email)), &hash)
	known := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("authenticate user: %w", err)
	}
	if !known {
		hash = decoyHash()
	}
	match, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return User{}, fmt.Errorf("authenticate user: %w", err)
	}
	if !known || !match || u.Disabled() {
		return User{}, ErrUnauthorized
	}
	return u, nil
}

// NewSession starts a session for a user and returns its token, for the cookie. Only
// the token's hash is stored. Expired sessions are cleared on the way.
func (db *DB) NewSession(ctx context.Context, userID string) (token string, expires time.Time, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", time.Time{}, fmt.Errorf("new session: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(raw)
	now := db.now()
	expires = now.Add(SessionTTL)
	if _, err := db.write.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.UnixMilli()); err != nil {
		return "", time.Time{}, fmt.Errorf("new session: clear expired: %w", err)
	}
	_, err = db.write.ExecContext(ctx,
		`INSERT INTO sessions (id, user_id, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?)`,
		hashSecret(token), userID, now.UnixMilli(), expires.UnixMilli(), now.UnixMilli())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("new session for %s: %w", userID, err)
	}
	return token, expires, nil
}

// sessionTouchEvery spares the writer: last_seen_at is updated at most this often.
const sessionTouchEvery = time.Minute

// SessionUser returns the user of an unexpired session whose user is not disabled, or
// ErrUnauthorized.
func (db *DB) SessionUser(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, ErrUnauthorized
	}
	now := db.now()
	id := hashSecret(token)
	var seen int64
	row := db.read.QueryRowContext(ctx, `
		SELECT `+sessionUserColumns+`, s.last_seen_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id = ? AND s.expires_at > ? AND u.disabled_at IS NULL`, id, now.UnixMilli())
	u, err := scanUser(row, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrUnauthorized
	}
	if err != nil {
		return User{}, fmt.Errorf("session user: %w", err)
	}
	if now.Sub(time.UnixMilli(seen)) >= sessionTouchEvery {
		if _, err := db.write.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, now.UnixMilli(), id); err != nil {
			db.log.Warn("note session last seen", "err", err)
		}
	}
	return u, nil
}

// EndSession deletes a session; ending one that is gone already is not an error.
func (db *DB) EndSession(ctx context.Context, token string) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, hashSecret(token)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// SetUserContacts gives a user the contacts permission (see User.Contacts) or takes it
// away; it applies from their next page.
func (db *DB) SetUserContacts(ctx context.Context, email string, may bool) (User, error) {
	res, err := db.write.ExecContext(ctx, `UPDATE users SET contacts = ? WHERE email = ?`, may, NormalizeEmail(email))
	if err != nil {
		return User{}, fmt.Errorf("set contacts permission of %s: %w", email, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return User{}, fmt.Errorf("set contacts permission of %s: %w", email, ErrNotFound)
	}
	return db.UserByEmail(ctx, email)
}
