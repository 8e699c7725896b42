package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/sync/wire"
)

// Enrollment keys provision many kiosks of one store from one secret: IT puts the key in
// a provisioning file (or an MSI property, or MDM) and each kiosk enrolls itself on its
// first start, where a device code (AddDevice) needs a shell on every device.

// EnrollmentKeyPrefix starts every enrollment key (wire.EnrollmentKeyPrefix).
const EnrollmentKeyPrefix = wire.EnrollmentKeyPrefix

// EnrollmentKeyTTL is how long a new enrollment key works by default.
const EnrollmentKeyTTL = 7 * 24 * time.Hour

// MaxEnrollmentKeyUses bounds the devices one key may make: a key that leaks can make
// no more than this many before it is noticed.
const MaxEnrollmentKeyUses = 1000

// EnrollmentKey is a store-scoped key that enrolls up to MaxUses devices.
type EnrollmentKey struct {
	ID      string `json:"id"`
	StoreID string `json:"store_id"`
	// Key is the secret itself, only when the key was just made: the collector keeps
	// its hash.
	Key       string             `json:"key,omitempty"`
	MaxUses   int                `json:"max_uses"`
	Uses      int                `json:"uses"`
	ExpiresAt time.Time          `json:"expires_at"`
	CreatedAt time.Time          `json:"created_at"`
	Revoked   bool               `json:"revoked"`
	Devices   []EnrollmentKeyUse `json:"devices,omitempty"`
}

// EnrollmentKeyUse is a device an enrollment key made.
type EnrollmentKeyUse struct {
	DeviceID string    `json:"device_id"`
	Name     string    `json:"name"`
	UsedAt   time.Time `json:"used_at"`
}

// newEnrollmentKey is EK- and three groups of five from codeAlphabet (74 bits): short
// enough to type on a kiosk's on-screen keyboard.
func newEnrollmentKey() (string, error) {
	code, err := newCode() // two groups
	if err != nil {
		return "", err
	}
	more, err := newCode()
	if err != nil {
		return "", err
	}
	return EnrollmentKeyPrefix + code + "-" + more[:5], nil
}

// AddEnrollmentKey makes a key that enrolls up to uses devices of a store until ttl
// passes (0: EnrollmentKeyTTL).
func (db *DB) AddEnrollmentKey(ctx context.Context, storeID string, uses int, ttl time.Duration) (EnrollmentKey, error) {
	if uses < 1 || uses > MaxEnrollmentKeyUses {
		return EnrollmentKey{}, fmt.Errorf("add enrollment key: %w: uses must be 1 to %d, not %d", ErrInvalid, MaxEnrollmentKeyUses, uses)
	}
	if ttl < 0 {
		return EnrollmentKey{}, fmt.Errorf("add enrollment key: %w: the lifetime %s is negative", ErrInvalid, ttl)
	}
	if ttl == 0 {
		ttl = EnrollmentKeyTTL
	}
	var exists bool
	if err := db.write.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM stores WHERE id = ?)`, storeID).Scan(&exists); err != nil {
		return EnrollmentKey{}, fmt.Errorf("add enrollment key: %w", err)
	}
	if !exists {
		return EnrollmentKey{}, fmt.Errorf("add enrollment key: store %q: %w (add it with npscollector store add)", storeID, ErrNotFound)
	}
	secret, err := newEnrollmentKey()
	if err != nil {
		return EnrollmentKey{}, fmt.Errorf("add enrollment key: %w", err)
	}
	now := db.now()
	k := EnrollmentKey{ID: uuid.Must(uuid.NewV7()).String(), StoreID: storeID, Key: secret, MaxUses: uses,
		ExpiresAt: now.Add(ttl).Truncate(time.Millisecond), CreatedAt: now.Truncate(time.Millisecond)}
	_, err = db.write.ExecContext(ctx, `
		INSERT INTO enrollment_keys (id, store_id, key_hash, max_uses, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, storeID, hashSecret(secret), uses, k.ExpiresAt.UnixMilli(), k.CreatedAt.UnixMilli())
	if err != nil {
		return EnrollmentKey{}, fmt.Errorf("add enrollment key: %w", err)
	}
	db.log.Info("enrollment key added", "key", k.ID, "store", storeID, "uses", uses, "expires", k.ExpiresAt)
	return k, nil
}

// EnrollmentKeys lists every enrollment key, newest first, with the devices each made.
func (db *DB) EnrollmentKeys(ctx context.Context) ([]EnrollmentKey, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT id, store_id, max_uses, uses, expires_at, created_at, revoked_at IS NOT NULL
		  FROM enrollment_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list enrollment keys: %w", err)
	}
	var (
		out   []EnrollmentKey
		index = map[string]int{}
	)
	for rows.Next() {
		var (
			k                EnrollmentKey
			expires, created int64
		)
		if err := rows.Scan(&k.ID, &k.StoreID, &k.MaxUses, &k.Uses, &expires, &created, &k.Revoked); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list enrollment keys: %w", err)
		}
		k.ExpiresAt, k.CreatedAt = time.UnixMilli(expires), time.UnixMilli(created)
		index[k.ID] = len(out)
		out = append(out, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list enrollment keys: %w", err)
	}
	uses, err := db.read.QueryContext(ctx, `
		SELECT u.key_id, u.device_id, d.name, u.used_at
		  FROM enrollment_key_uses u JOIN devices d ON d.id = u.device_id ORDER BY u.used_at, d.name`)
	if err != nil {
		return nil, fmt.Errorf("list enrollment keys: %w", err)
	}
	defer uses.Close()
	for uses.Next() {
		var (
			keyID string
			u     EnrollmentKeyUse
			at    int64
		)
		if err := uses.Scan(&keyID, &u.DeviceID, &u.Name, &at); err != nil {
			return nil, fmt.Errorf("list enrollment keys: %w", err)
		}
		u.UsedAt = time.UnixMilli(at)
		if i, ok := index[keyID]; ok {
			out[i].Devices = append(out[i].Devices, u)
		}
	}
	if err := uses.Err(); err != nil {
		return nil, fmt.Errorf("list enrollment keys: %w", err)
	}
	return out, nil
}

// RevokeEnrollmentKey stops a key from enrolling more devices; those it made stay
// enrolled (revoke them one by one with RevokeDevice).
func (db *DB) RevokeEnrollmentKey(ctx context.Context, id string) error {
	res, err := db.write.ExecContext(ctx, `UPDATE enrollment_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		db.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("revoke enrollment key %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke enrollment key %s: %w (or already revoked)", id, ErrNotFound)
	}
	db.log.Info("enrollment key revoked", "key", id)
	return nil
}

// newDeviceToken is a device's bearer token: 256 random bits.
func newDeviceToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "dev_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// maxDeviceName is the longest device name a kiosk may give itself.
const maxDeviceName = 64

// deviceName is the name a kiosk asked for, made safe to show, or one made up from its
// id.
func deviceName(asked, id string) string {
	name := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(asked))
	if r := []rune(name); len(r) > maxDeviceName {
		name = string(r[:maxDeviceName])
	}
	if name == "" {
		name = "Kiosk " + id[len(id)-8:]
	}
	return name
}

// enrollWithKey makes a new device of the key's store, enrolled, and counts the use:
// the count is taken in the same statement that checks it, so concurrent kiosks cannot
// overrun it on either database. Any failure is ErrUnauthorized, saying no more.
func (db *DB) enrollWithKey(ctx context.Context, key, name string) (wire.EnrollResponse, error) {
	token, err := newDeviceToken()
	if err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	now := db.now().UnixMilli()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	defer tx.Rollback()
	var (
		r     wire.EnrollResponse
		keyID string
	)
	err = tx.QueryRowContext(ctx, `
		UPDATE enrollment_keys SET uses = uses + 1
		 WHERE key_hash = ? AND revoked_at IS NULL AND expires_at > ? AND uses < max_uses
		RETURNING id, store_id`, hashSecret(key), now).Scan(&keyID, &r.StoreID)
	if errors.Is(err, sql.ErrNoRows) {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w: the enrollment key is unknown, revoked, expired or used up", ErrUnauthorized)
	}
	if err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT name FROM stores WHERE id = ?`, r.StoreID).Scan(&r.StoreName); err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: store %s: %w", r.StoreID, err)
	}
	r.DeviceID = uuid.Must(uuid.NewV7()).String()
	name = deviceName(name, r.DeviceID)
	if _, err := tx.ExecContext(ctx, `INSERT INTO devices (id, store_id, name, token_hash, enrolled_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.DeviceID, r.StoreID, name, hashSecret(token), now, now); err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO enrollment_key_uses (key_id, device_id, used_at) VALUES (?, ?, ?)`,
		keyID, r.DeviceID, now); err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	r.Token = token
	db.log.Info("device enrolled with an enrollment key", "key", keyID, "device", r.DeviceID, "name", name, "store", r.StoreID)
	return r, nil
}
