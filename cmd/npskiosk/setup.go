package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/kiosk"
	"github.com/npskiosk/npskiosk/store"
	kiosksync "github.com/npskiosk/npskiosk/sync"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// screenSetup is the window's setup screen's way to the collector (kiosk.Setup): it
// checks and enrolls as npskiosk enroll does, into the database the window has open,
// then starts the sync worker the window starts for an enrolled kiosk.
type screenSetup struct {
	m      *Main
	common commonFlags
	db     *store.DB
	// startSync starts the sync worker of the enrolled kiosk's config.
	startSync func(Config) (kiosk.Enrolled, error)
}

// request names a new device after the host when it enrolls with a key, as
// provisioning does; a code's device has the name device add gave it.
func (s *screenSetup) request(req wire.EnrollRequest) wire.EnrollRequest {
	if strings.HasPrefix(req.Code, wire.EnrollmentKeyPrefix) && req.Name == "" {
		req.Name, _ = os.Hostname()
	}
	return req
}

// Check tests the connection with the config's trust settings (its CA, pins and whether
// plain HTTP is allowed) and asks the collector which store the request joins.
func (s *screenSetup) Check(ctx context.Context, collector string, req wire.EnrollRequest) (wire.EnrollPreview, error) {
	cfg, _, err := readConfigFile(s.common.config)
	if err != nil {
		return wire.EnrollPreview{}, err
	}
	trust := cfg.Trust()
	if err := trust.CheckURL(collector); err != nil {
		return wire.EnrollPreview{}, err
	}
	hc, err := trust.HTTPClient(30 * time.Second)
	if err != nil {
		return wire.EnrollPreview{}, err
	}
	return kiosksync.CheckEnrollment(ctx, collector, s.request(req), hc)
}

// Enroll enrolls the kiosk, saves its token in the config and starts syncing.
func (s *screenSetup) Enroll(ctx context.Context, collector string, req wire.EnrollRequest) (kiosk.Enrolled, error) {
	if err := s.m.enrollInto(ctx, s.common, collector, s.request(req), s.db); err != nil {
		return kiosk.Enrolled{}, err
	}
	cfg, err := s.common.load()
	if err != nil {
		return kiosk.Enrolled{}, fmt.Errorf("enrolled, but the config cannot be read again: %w", err)
	}
	return s.startSync(cfg)
}
