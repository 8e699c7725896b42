package storage

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/npskiosk/npskiosk/sync/wire"
)

// MaxSetupPINFailures is how many wrong setup PINs a device's code takes: then the code
// stops working, and IT adds the device again. Six digits and five tries give a guesser
// one chance in 200,000, on top of having to know the code.
const MaxSetupPINFailures = 5

// newSetupPIN is a random six-digit PIN for a kiosk's setup screen.
func newSetupPIN() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("setup PIN: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// setupPINHash binds a setup PIN to its code, so that the hash of a six-digit PIN says
// nothing without the code, of which only a hash is kept either.
func setupPINHash(code, pin string) string { return hashSecret(code + "\x00" + pin) }

// pendingCode is a device's code as Enroll and CheckEnrollment find it.
type pendingCode struct {
	deviceID, storeID, storeName, deviceName string
	expires                                  int64
	enrolled                                 sql.NullInt64
	pinHash                                  sql.NullString
}

// findCode finds the unexpired, unrevoked device a code belongs to.
func findCode(ctx context.Context, q queryRower, code string, now int64) (pendingCode, error) {
	var p pendingCode
	err := q.QueryRowContext(ctx,
		`SELECT d.id, d.store_id, s.name, d.name, d.code_expires_at, d.enrolled_at, d.setup_pin_hash
		   FROM devices d JOIN stores s ON s.id = d.store_id
		  WHERE d.code_hash = ? AND d.code_expires_at > ? AND d.revoked_at IS NULL`,
		hashSecret(code), now).Scan(&p.deviceID, &p.storeID, &p.storeName, &p.deviceName, &p.expires, &p.enrolled, &p.pinHash)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("%w: the code is unknown, used or expired", ErrUnauthorized)
	}
	return p, err
}

// queryRower is what findCode reads with: the database or a transaction.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkSetupPIN says whether pin is the setup PIN of the code's device. A device added
// before setup PINs has none, and any PIN passes. A wrong PIN counts, in its own
// statement so that the refusal's rollback keeps it, and the last allowed one voids the
// code.
func (db *DB) checkSetupPIN(ctx context.Context, p pendingCode, code, pin string) error {
	if !p.pinHash.Valid {
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(p.pinHash.String), []byte(setupPINHash(code, pin))) == 1 {
		return nil
	}
	now := db.now().UnixMilli()
	var failures int
	err := db.write.QueryRowContext(ctx, `
		UPDATE devices SET setup_pin_failures = setup_pin_failures + 1,
		       code_expires_at = CASE WHEN setup_pin_failures + 1 >= ? THEN ? ELSE code_expires_at END
		 WHERE id = ? RETURNING setup_pin_failures`, MaxSetupPINFailures, now, p.deviceID).Scan(&failures)
	if err != nil {
		return fmt.Errorf("count a wrong setup PIN: %w", err)
	}
	if failures >= MaxSetupPINFailures {
		db.log.Warn("too many wrong setup PINs: the device's enrollment code no longer works; add the device again",
			"device", p.deviceID, "store", p.storeID, "failures", failures)
	} else {
		db.log.Info("wrong setup PIN", "device", p.deviceID, "store", p.storeID, "failures", failures)
	}
	return fmt.Errorf("%w: wrong setup PIN", ErrUnauthorized)
}

// CheckEnrollment is what Enroll would do with req, without doing it: the store and the
// device name a code or key joins, for the setup screen to show before the technician
// confirms. A code's setup PIN is checked (and a wrong one counted) as Enroll checks
// it; nothing is spent.
func (db *DB) CheckEnrollment(ctx context.Context, req wire.EnrollRequest) (wire.EnrollPreview, error) {
	now := db.now().UnixMilli()
	if strings.HasPrefix(req.Code, EnrollmentKeyPrefix) {
		var p wire.EnrollPreview
		err := db.read.QueryRowContext(ctx, `
			SELECT s.id, s.name FROM enrollment_keys k JOIN stores s ON s.id = k.store_id
			 WHERE k.key_hash = ? AND k.revoked_at IS NULL AND k.expires_at > ? AND k.uses < k.max_uses`,
			hashSecret(req.Code), now).Scan(&p.StoreID, &p.StoreName)
		if errors.Is(err, sql.ErrNoRows) {
			return p, fmt.Errorf("check enrollment: %w: the enrollment key is unknown, revoked, expired or used up", ErrUnauthorized)
		}
		if err != nil {
			return p, fmt.Errorf("check enrollment: %w", err)
		}
		if strings.TrimSpace(req.Name) != "" {
			p.DeviceName = deviceName(req.Name, "")
		}
		return p, nil
	}
	p, err := findCode(ctx, db.write, req.Code, now)
	if err != nil {
		return wire.EnrollPreview{}, fmt.Errorf("check enrollment: %w", err)
	}
	if err := db.checkSetupPIN(ctx, p, req.Code, req.SetupPIN); err != nil {
		return wire.EnrollPreview{}, fmt.Errorf("check enrollment: %w", err)
	}
	return wire.EnrollPreview{StoreID: p.storeID, StoreName: p.storeName, DeviceName: p.deviceName}, nil
}
