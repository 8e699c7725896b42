package collector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// The re-tagging job's defaults: a batch is one short transaction, and a lease outlives
// many batches but not a crashed collector by long.
const (
	retagBatch      = 500
	retagLease      = time.Minute
	retagScanPeriod = time.Minute
)

// SetSurvey gives stores a new survey (see storage.DB.SetSurvey) and, when that changes
// a store's comment taxonomy, starts re-tagging its responses: the worker of this or
// any collector on the database picks the job up (RunThemeWorker).
func (s *Service) SetSurvey(ctx context.Context, survey wire.Survey, storeIDs []string) (int, error) {
	v, err := s.DB.SetSurvey(ctx, survey, storeIDs)
	if err != nil {
		return v, err
	}
	if _, err := s.SyncThemeJobs(ctx, storeIDs, false); err != nil {
		return v, fmt.Errorf("set survey: %w", err)
	}
	s.wakeThemes()
	return v, nil
}

// SyncThemeJobs starts a re-tagging job for each store (every store when storeIDs is
// empty) whose survey's taxonomy is not the one its last job tagged with, or for each
// of them when force. It returns the stores whose job started.
func (s *Service) SyncThemeJobs(ctx context.Context, storeIDs []string, force bool) ([]string, error) {
	if len(storeIDs) == 0 {
		stores, err := s.StoreList(ctx)
		if err != nil {
			return nil, fmt.Errorf("re-tagging: %w", err)
		}
		for _, st := range stores {
			storeIDs = append(storeIDs, st.ID)
		}
	}
	current, err := s.ThemeJobFingerprints(ctx)
	if err != nil {
		return nil, fmt.Errorf("re-tagging: %w", err)
	}
	var started []string
	for _, id := range storeIDs {
		survey, err := s.Survey(ctx, id)
		if err != nil {
			return started, fmt.Errorf("re-tagging: %w", err)
		}
		fp := TaxonomyFingerprint(survey.Taxonomy())
		if !force && current[id] == fp {
			continue
		}
		ok, err := s.StartThemeJob(ctx, id, fp, force)
		if err != nil {
			return started, fmt.Errorf("re-tagging: %w", err)
		}
		if ok {
			started = append(started, id)
			s.logger().Info("re-tagging comments: taxonomy changed", "store", id, "taxonomy", fp)
		}
	}
	return started, nil
}

// RunThemeJobs claims unfinished re-tagging jobs (of storeID, or of any store when it
// is empty) as owner and runs each to its end, batch by batch, calling progress (when not
// nil) and logging after each. A job whose lease another collector holds is left to it.
// It returns when there is no job left to claim.
func (s *Service) RunThemeJobs(ctx context.Context, owner, storeID string, progress func(storage.ThemeJob)) error {
	for {
		job, ok, err := s.ClaimThemeJob(ctx, owner, storeID, retagLease)
		if err != nil || !ok {
			return err
		}
		if err := s.runThemeJob(ctx, owner, job, progress); err != nil {
			return err
		}
	}
}

// runThemeJob re-tags one claimed job's store to its end, or until its lease is lost.
func (s *Service) runThemeJob(ctx context.Context, owner string, job storage.ThemeJob, progress func(storage.ThemeJob)) error {
	survey, err := s.Survey(ctx, job.StoreID)
	if err != nil {
		return fmt.Errorf("re-tag %s: %w", job.StoreID, err)
	}
	t, err := s.analyzers.taggerFor(survey)
	if err != nil {
		return fmt.Errorf("re-tag %s: %w", job.StoreID, err)
	}
	if t.fingerprint != job.Fingerprint {
		// The survey changed since the job started: start the job of its new taxonomy,
		// which replaces this one, and claim that next.
		_, err := s.SyncThemeJobs(ctx, []string{job.StoreID}, false)
		return err
	}
	tag := func(src storage.TagSource) *storage.Tags {
		return t.tags(src.Score, src.Reasons, src.Comment, src.Locale)
	}
	batch := s.retagBatch
	if batch <= 0 {
		batch = retagBatch
	}
	for !job.Finished() {
		var n int
		job, n, err = s.RetagBatch(ctx, owner, job, batch, retagLease, tag)
		if errors.Is(err, storage.ErrLeaseLost) {
			s.logger().Info("re-tagging comments: job taken over or replaced", "store", job.StoreID)
			return nil
		}
		if err != nil {
			return err
		}
		s.logger().Info("re-tagging comments", "store", job.StoreID, "done", job.Done, "total", job.Total, "batch", n)
		if progress != nil {
			progress(job)
		}
	}
	return nil
}

// RunThemeWorker keeps the stores' comment tags in step with their surveys' taxonomies
// until ctx ends: every minute, and when SetSurvey changes one, it starts the jobs of
// the stores whose taxonomy changed (also by another collector or the CLI) and runs the
// unfinished ones no other collector holds, as owner (unique per process). When ctx
// ends it hands back the leases it holds, so another collector resumes its job at once.
func (s *Service) RunThemeWorker(ctx context.Context, owner string) error {
	defer func() {
		release, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.DB.ReleaseThemeJobs(release, owner); err != nil {
			s.logger().Error("re-tagging comments: hand back leases", "err", err)
		}
	}()
	for {
		if _, err := s.SyncThemeJobs(ctx, nil, false); err != nil && ctx.Err() == nil {
			s.logger().Error("re-tagging comments", "err", err)
		}
		if err := s.RunThemeJobs(ctx, owner, "", nil); err != nil && ctx.Err() == nil {
			s.logger().Error("re-tagging comments", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.themeWakeChan():
		case <-time.After(retagScanPeriod):
		}
	}
}

func (s *Service) themeWakeChan() chan struct{} {
	s.themeOnce.Do(func() { s.themeWake = make(chan struct{}, 1) })
	return s.themeWake
}

// wakeThemes wakes the worker without blocking.
func (s *Service) wakeThemes() {
	select {
	case s.themeWakeChan() <- struct{}{}:
	default:
	}
}
