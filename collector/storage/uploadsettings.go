package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// UploadSettings is what an upload from a device is checked and stored by: the device's
// enrollment, its store's survey and the store's follow-up and thank-you rules.
type UploadSettings struct {
	EnrolledAt time.Time // zero when the device never was enrolled
	Survey     wire.Survey
	FollowUp   followup.Rule
	Thanks     followup.ThanksRule
}

// UploadSettings reads a device's UploadSettings in one statement, where DeviceEnrolledAt,
// Survey, FollowUpRule and ThanksRule take four: every upload needs them all, and on
// PostgreSQL each statement is a round trip and a backend's work beside the upload's own.
func (db *DB) UploadSettings(ctx context.Context, deviceID string) (UploadSettings, error) {
	st, err := db.stmts.get(ctx, db.read, `SELECT d.enrolled_at, s.id, s.name, s.survey,
		(SELECT r.rule FROM follow_up_rules r WHERE r.scope IN (s.id, '') ORDER BY r.scope DESC LIMIT 1),
		(SELECT t.rule FROM thanks_rules t WHERE t.scope IN (s.id, '') ORDER BY t.scope DESC LIMIT 1)
		FROM devices d JOIN stores s ON s.id = d.store_id WHERE d.id = ?`)
	if err != nil {
		return UploadSettings{}, fmt.Errorf("upload settings of device %s: %w", deviceID, err)
	}
	var (
		enrolled                 sql.NullInt64
		storeID, name, survey    string
		followUpRule, thanksRule sql.NullString
		out                      UploadSettings
	)
	err = st.QueryRowContext(ctx, deviceID).Scan(&enrolled, &storeID, &name, &survey, &followUpRule, &thanksRule)
	if errors.Is(err, sql.ErrNoRows) {
		return UploadSettings{}, fmt.Errorf("upload settings of device %s: %w", deviceID, ErrNotFound)
	}
	if err != nil {
		return UploadSettings{}, fmt.Errorf("upload settings of device %s: %w", deviceID, err)
	}
	if enrolled.Valid {
		out.EnrolledAt = time.UnixMilli(enrolled.Int64)
	}
	if out.Survey, err = surveyFrom(storeID, name, survey); err != nil {
		return UploadSettings{}, err
	}
	if out.FollowUp, err = followUpRuleFrom(storeID, followUpRule); err != nil {
		return UploadSettings{}, err
	}
	if out.Thanks, err = thanksRuleFrom(storeID, thanksRule); err != nil {
		return UploadSettings{}, err
	}
	return out, nil
}
