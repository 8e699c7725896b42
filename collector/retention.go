package collector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// DefaultRetentionInterval is how often serve applies the retention policy: daily is
// enough for limits counted in days, and a restart runs it at once.
const DefaultRetentionInterval = 24 * time.Hour

// RetentionStatus is what status and the metrics show of retention.
type RetentionStatus struct {
	Policy  storage.RetentionPolicy `json:"policy"`
	LastRun *storage.RetentionRun   `json:"last_run,omitempty"` // the last purge that was not a dry run
	DBBytes int64                   `json:"db_bytes"`           // the database's disk use
	Dialect string                  `json:"database"`           // sqlite or postgres
	Totals  storage.PurgeCounts     `json:"purged_total"`       // every row purged so far
}

// RetentionStatus reads the policy, the last purge, the totals and the database's size.
func (s *Service) RetentionStatus(ctx context.Context) (RetentionStatus, error) {
	var st RetentionStatus
	var err error
	if st.Policy, err = s.RetentionPolicy(ctx); err != nil {
		return st, err
	}
	last, ok, err := s.LastRetentionRun(ctx)
	if err != nil {
		return st, err
	}
	if ok {
		st.LastRun = &last
	}
	if st.Totals, err = s.RetentionTotals(ctx); err != nil {
		return st, err
	}
	if st.DBBytes, err = s.Size(ctx); err != nil {
		return st, err
	}
	st.Dialect = s.Dialect()
	return st, nil
}

// PurgeNow applies the chain's retention policy once as owner (see storage.DB.Purge),
// records the run (dry runs too, which status leaves out) and logs its counts per table.
// A policy that keeps everything purges nothing and records nothing. Another
// collector's purge in progress is storage.ErrRetentionBusy.
func (s *Service) PurgeNow(ctx context.Context, owner string, dryRun bool) (storage.PurgeCounts, error) {
	p, err := s.RetentionPolicy(ctx)
	if err != nil {
		return storage.PurgeCounts{}, fmt.Errorf("purge: %w", err)
	}
	if p.Off() {
		return storage.PurgeCounts{}, nil
	}
	run := storage.RetentionRun{StartedAt: s.Now(), DryRun: dryRun}
	counts, err := s.Purge(ctx, p, storage.PurgeOptions{Owner: owner, DryRun: dryRun})
	if errors.Is(err, storage.ErrRetentionBusy) {
		return counts, err
	}
	run.FinishedAt, run.Counts = s.Now(), counts
	if err != nil {
		run.Error = err.Error()
	}
	attrs := []any{"comments_days", p.CommentsDays, "contacts_days", p.ContactsDays, "dry_run", dryRun,
		"took", run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond)}
	for _, c := range counts.ByTable() {
		attrs = append(attrs, c.Table, c.N)
	}
	if err != nil {
		s.logger().Error("retention purge failed; what it purged before is kept", append(attrs, "err", err)...)
	} else {
		s.logger().Info("retention purge", attrs...)
	}
	if rerr := s.RecordRetentionRun(context.WithoutCancel(ctx), run); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return counts, err
}

// RunRetention applies the retention policy now and then every interval until ctx ends,
// as owner, and clears the diagnostics bundles past storage.DiagnosticsTTL; of several collectors on one database, the one holding the lease purges
// and the others skip that round. Failures are logged, for the next round to retry.
// after is the clock's timer (nil: time.After), which tests replace.
func (s *Service) RunRetention(ctx context.Context, owner string, interval time.Duration, after func(time.Duration) <-chan time.Time) error {
	if interval <= 0 {
		return fmt.Errorf("retention: interval %s must be positive", interval)
	}
	if after == nil {
		after = time.After
	}
	if p, err := s.RetentionPolicy(ctx); err == nil {
		if p.Off() {
			s.logger().Info("retention: comments and contacts are kept forever (npscollector retention set limits them)")
		} else {
			s.logger().Info("retention", "comments_days", p.CommentsDays, "contacts_days", p.ContactsDays, "every", interval)
		}
	}
	for {
		// Diagnostics bundles expire whatever the policy says of comments and contacts.
		if n, err := s.ExpireDiagnostics(ctx); err != nil && ctx.Err() == nil {
			s.logger().Error("retention: expire diagnostics bundles", "err", err)
		} else if n > 0 {
			s.logger().Info("retention: diagnostics bundles expired", "count", n)
		}
		_, err := s.PurgeNow(ctx, owner, false)
		switch {
		case errors.Is(err, storage.ErrRetentionBusy):
			s.logger().Info("retention purge skipped: another collector is purging")
		case err != nil && ctx.Err() == nil:
			s.logger().Error("retention purge", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-after(interval):
		}
	}
}
