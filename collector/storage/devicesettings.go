package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// ChainScope is the scope of the settings every store's kiosks get unless the store's own
// settings say otherwise.
const ChainScope = "*"

// ScopeSettings is one scope's device settings as HQ set them: the chain's (ChainScope)
// or a store's.
type ScopeSettings struct {
	Scope     string                  `json:"scope"`
	Settings  devicesettings.Settings `json:"settings"`
	Version   int64                   `json:"version"` // 0: never set
	UpdatedBy string                  `json:"updated_by,omitempty"`
	UpdatedAt time.Time               `json:"updated_at,omitzero"`
}

// ScopeDeviceSettings reads one scope's settings; a scope never set has none (version 0).
func (db *DB) ScopeDeviceSettings(ctx context.Context, scope string) (ScopeSettings, error) {
	return db.scopeSettings(ctx, db.read, scope)
}

// querier is a pool or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) scopeSettings(ctx context.Context, q querier, scope string) (ScopeSettings, error) {
	out := ScopeSettings{Scope: scope}
	var (
		body string
		at   int64
	)
	err := q.QueryRowContext(ctx, `SELECT body, version, updated_by, updated_at FROM device_settings WHERE scope = ?`, scope).
		Scan(&body, &out.Version, &out.UpdatedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return ScopeSettings{}, fmt.Errorf("device settings of %s: %w", scope, err)
	}
	if err := json.Unmarshal([]byte(body), &out.Settings); err != nil {
		return ScopeSettings{}, fmt.Errorf("device settings of %s: %w", scope, err)
	}
	out.UpdatedAt = time.UnixMilli(at)
	return out, nil
}

// DeviceSettings is what the kiosks of a store get (GET /v1/device/settings): the store's
// settings laid over the chain's, field by field, with the higher of the two versions.
func (db *DB) DeviceSettings(ctx context.Context, storeID string) (wire.DeviceSettings, error) {
	chain, err := db.ScopeDeviceSettings(ctx, ChainScope)
	if err != nil {
		return wire.DeviceSettings{}, err
	}
	own, err := db.ScopeDeviceSettings(ctx, storeID)
	if err != nil {
		return wire.DeviceSettings{}, err
	}
	return wire.DeviceSettings{Version: max(chain.Version, own.Version), Settings: own.Settings.Over(chain.Settings)}, nil
}

// UpdateDeviceSettings changes one scope's settings: the fields set in set replace the
// scope's, then the fields named in clear (devicesettings field names) are unset. The
// scope is ChainScope or a store's id. The result must pass Validate. Its version
// becomes one more than the highest of any scope, so every kiosk of the scope sees a
// change; by (who changed it) is kept with it.
func (db *DB) UpdateDeviceSettings(ctx context.Context, scope string, set devicesettings.Settings, clear []string, by string) (ScopeSettings, error) {
	if err := set.Validate(); err != nil {
		return ScopeSettings{}, fmt.Errorf("set device settings: %w: %w", ErrInvalid, err)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return ScopeSettings{}, fmt.Errorf("set device settings: %w", err)
	}
	defer tx.Rollback()
	// Writers of any scope take turns (PostgreSQL: several collectors, one lock), so
	// that two changes never read the same highest version and both write it. SQLite
	// has one writer anyway.
	if db.dialect.lockText != "" {
		if _, err := tx.ExecContext(ctx, db.dialect.lockText, "device_settings"); err != nil {
			return ScopeSettings{}, fmt.Errorf("set device settings: lock: %w", err)
		}
	}
	if scope != ChainScope {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM stores WHERE id = ?)`, scope).Scan(&exists); err != nil {
			return ScopeSettings{}, fmt.Errorf("set device settings: %w", err)
		}
		if !exists {
			return ScopeSettings{}, fmt.Errorf("set device settings: store %q: %w (add it with npscollector store add)", scope, ErrNotFound)
		}
	}
	cur, err := db.scopeSettings(ctx, tx, scope)
	if err != nil {
		return ScopeSettings{}, fmt.Errorf("set device settings: %w", err)
	}
	next, err := set.Over(cur.Settings).Without(clear...)
	if err != nil {
		return ScopeSettings{}, fmt.Errorf("set device settings: %w: %w", ErrInvalid, err)
	}
	var top int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM device_settings`).Scan(&top); err != nil {
		return ScopeSettings{}, fmt.Errorf("set device settings: %w", err)
	}
	body, err := json.Marshal(next)
	if err != nil {
		return ScopeSettings{}, fmt.Errorf("set device settings: %w", err)
	}
	now := db.now().Truncate(time.Millisecond)
	out := ScopeSettings{Scope: scope, Settings: next, Version: top + 1, UpdatedBy: by, UpdatedAt: now}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO device_settings (scope, body, version, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (scope) DO UPDATE SET body = excluded.body, version = excluded.version,
		       updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		scope, string(body), out.Version, by, now.UnixMilli()); err != nil {
		return ScopeSettings{}, fmt.Errorf("set device settings: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return ScopeSettings{}, fmt.Errorf("set device settings: %w", err)
	}
	db.log.Info("device settings changed", "scope", scope, "version", out.Version, "by", by, "fields", next.Set())
	return out, nil
}

// AllDeviceSettings lists every scope that has had settings: the chain's first, then
// the stores' by id.
func (db *DB) AllDeviceSettings(ctx context.Context) ([]ScopeSettings, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT scope, body, version, updated_by, updated_at FROM device_settings
		 ORDER BY CASE WHEN scope = '*' THEN 0 ELSE 1 END, scope`)
	if err != nil {
		return nil, fmt.Errorf("list device settings: %w", err)
	}
	defer rows.Close()
	var out []ScopeSettings
	for rows.Next() {
		var (
			s    ScopeSettings
			body string
			at   int64
		)
		if err := rows.Scan(&s.Scope, &body, &s.Version, &s.UpdatedBy, &at); err != nil {
			return nil, fmt.Errorf("list device settings: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &s.Settings); err != nil {
			return nil, fmt.Errorf("device settings of %s: %w", s.Scope, err)
		}
		s.UpdatedAt = time.UnixMilli(at)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list device settings: %w", err)
	}
	return out, nil
}
