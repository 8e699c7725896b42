package storage

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache keeps statements prepared once for a pool, for reports run often enough that
// parsing and planning them each time shows (SQLite's driver caches nothing; pgx caches
// per connection, which this does not hurt).
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// get is q prepared on c, preparing it the first time.
func (s *stmtCache) get(ctx context.Context, c conn, q string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m[q]; ok {
		return st, nil
	}
	st, err := c.pool.PrepareContext(ctx, c.d.rebind(q))
	if err != nil {
		return nil, err
	}
	if s.m == nil {
		s.m = map[string]*sql.Stmt{}
	}
	s.m[q] = st
	return st, nil
}

// query runs q, prepared on c once, with args.
func (s *stmtCache) query(ctx context.Context, c conn, q string, args ...any) (*sql.Rows, error) {
	st, err := s.get(ctx, c, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *stmtCache) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, st := range s.m {
		errs = append(errs, st.Close())
	}
	s.m = nil
	return errors.Join(errs...)
}
