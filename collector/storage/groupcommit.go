package storage

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/npskiosk/npskiosk/nps"
)

// Group commit.
//
// Every InsertBatch is handed to a writer goroutine of its DB. The writer takes the
// request at the head of the queue and every request that queued behind it while the
// previous group was being written (at most groupMax, and it never waits for more),
// runs them in one transaction with a savepoint around each (its responses, their
// themes, cases and events), then adds what those that succeeded stored to the rollups
// and report sums once per store (writeCounts), commits once and then answers every
// caller. A request that fails inside the database is rolled back to its savepoint and
// fails alone, with its own error, while the others of its group commit. When the
// group's rollups fail, every request of the group is tried again alone (commitGroup).
// The caller hears of its batch only after the commit, so an acknowledged batch is
// durable; a commit that fails fails every request of its group, none of whose rows are
// then stored.
//
// One commit per group is what makes this fast: on SQLite the writer's fsync, on both
// databases the round trips of BEGIN and COMMIT, are shared by every request that queued
// while the previous group was written; and a store's rollups and report sums, a dozen
// statements or more, are written once a group rather than once an upload.
//
// SQLite has one writer, as it has one write connection. PostgreSQL has pgWriters, each
// with a connection of its own (DB.ingest) that no reader can take from it, and each
// upload goes to the writer of its store (writerFor). A writer spends most of its time
// waiting for round trips, so several overlap them; and because a store's every row of
// rollups and report sums belongs to one writer (see writerFor), the writers never wait
// for each other's locks nor deadlock over them.

// groupMax caps the requests of one group: enough for every kiosk uploading at once to
// share a commit, few enough that a group's transaction (and the locks it holds on
// PostgreSQL) stays short. PostgreSQL's is lower: a transaction keeps the ids of its
// first 64 subtransactions (a savepoint each) where every snapshot finds them, and past
// that every other session's snapshot must look them up on disk.
const (
	groupMax         = 128
	groupMaxPostgres = 60
)

// pgWriters is how many group writers a DB on PostgreSQL runs. It must divide every
// shard count of the report sums (reportShards, snapshotShards: 16, 64 and 8), so that
// all the stores of one shard have one writer (TestWritersOwnTheirShards). On a shared
// two-core machine 2, 4 and 8 measured alike within its noise (BenchmarkIngest, 0.56 to
// 0.82 of the raw insert rate); more writers split the groups, so more commits, and
// fewer overlap fewer round trips.
const pgWriters = 4

// errClosed answers the requests that were still queued when the database was closed.
var errClosed = errors.New("database is closed")

// A request's state, changed only by compare-and-swap: the writer takes a queued
// request, or its caller, whose context ended, abandons it; never both.
const (
	requestQueued int32 = iota
	requestTaken
	requestAbandoned
)

// insertRequest is one InsertBatch waiting for the writer, with everything that could
// be computed without the database already computed.
type insertRequest struct {
	origin    Origin
	batch     []NewResponse
	rows      [][]any // each response's columns but seq (insertColumns), in order
	listening map[string]bool
	now       time.Time
	state     atomic.Int32
	done      chan insertAnswer // buffered: the writer never waits for a caller
}

type insertAnswer struct {
	res BatchResult
	err error
}

// groupWriter is a writer goroutine of a DB.
type groupWriter struct {
	db       *DB
	queue    chan *insertRequest
	stop     chan struct{} // closed by Close
	stopped  chan struct{} // closed when the goroutine has returned
	stopOnce sync.Once
	max      int // requests a group, at most
	// beforeGroup, when set (by tests, before the first InsertBatch), is called with each
	// group before it is written.
	beforeGroup func(size int)
}

// startGroupWriters starts the DB's writers: one on SQLite, pgWriters on PostgreSQL.
func startGroupWriters(db *DB) []*groupWriter {
	n, most := 1, groupMax
	if db.dialect.name == "postgres" {
		n, most = pgWriters, groupMaxPostgres
	}
	writers := make([]*groupWriter, n)
	for i := range writers {
		w := &groupWriter{db: db, queue: make(chan *insertRequest, 4*groupMax),
			stop: make(chan struct{}), stopped: make(chan struct{}), max: most}
		go w.run()
		writers[i] = w
	}
	return writers
}

// writerFor is the writer of a store's uploads: by the store's FNV-1a hash, as the
// report sums' shards are (shardOf, snapshotShard), so that with a writer count that
// divides every shard count, the stores of one shard row share a writer.
func (db *DB) writerFor(storeID string) *groupWriter {
	h := fnv.New32a()
	h.Write([]byte(storeID))
	return db.writers[h.Sum32()%uint32(len(db.writers))]
}

// close stops the writer after the group it is writing, failing what is still queued.
func (w *groupWriter) close() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.stopped
}

// submit queues r and waits for its answer. A caller whose context ends before the
// writer took its request gets the context's error, and nothing of its batch is
// written; once taken, the request's outcome is its answer (the group is short).
func (w *groupWriter) submit(ctx context.Context, r *insertRequest) (BatchResult, error) {
	r.done = make(chan insertAnswer, 1)
	select {
	case w.queue <- r:
	case <-ctx.Done():
		return BatchResult{}, fmt.Errorf("insert batch: %w", ctx.Err())
	case <-w.stop:
		return BatchResult{}, fmt.Errorf("insert batch: %w", errClosed)
	}
	var gone error
	select {
	case a := <-r.done:
		return a.res, a.err
	case <-ctx.Done():
		gone = ctx.Err()
	case <-w.stopped: // queued as the writer stopped: it will never take it
		gone = errClosed
	}
	if r.state.CompareAndSwap(requestQueued, requestAbandoned) {
		return BatchResult{}, fmt.Errorf("insert batch: %w", gone)
	}
	a := <-r.done
	return a.res, a.err
}

func (w *groupWriter) run() {
	defer close(w.stopped)
	for {
		select {
		case <-w.stop:
			w.failQueued()
			return
		case first := <-w.queue:
			group := w.take(first)
			if len(group) > 0 {
				if w.beforeGroup != nil {
					w.beforeGroup(len(group))
				}
				w.db.groups.groups.Add(1)
				w.db.groups.requests.Add(int64(len(group)))
				w.db.commitGroup(group)
			}
		}
	}
}

// groupStats counts the groups the writers wrote and the upload requests in them.
type groupStats struct{ groups, requests atomic.Int64 }

// IngestGroups is how many groups the writers have written since Open (each one
// transaction, but for a request retried alone) and how many upload requests they held:
// requests ÷ groups is how much group commit saves.
func (db *DB) IngestGroups() (groups, requests int64) {
	return db.groups.groups.Load(), db.groups.requests.Load()
}

// take is first and the requests queued behind it, up to w.max, less those whose
// callers gave up.
func (w *groupWriter) take(first *insertRequest) []*insertRequest {
	var group []*insertRequest
	add := func(r *insertRequest) {
		if r.state.CompareAndSwap(requestQueued, requestTaken) {
			group = append(group, r)
		}
	}
	add(first)
	for len(group) < w.max {
		select {
		case r := <-w.queue:
			add(r)
		default:
			return group
		}
	}
	return group
}

func (w *groupWriter) failQueued() {
	for {
		select {
		case r := <-w.queue:
			if r.state.CompareAndSwap(requestQueued, requestTaken) {
				r.done <- insertAnswer{err: fmt.Errorf("insert batch: %w", errClosed)}
			}
		default:
			return
		}
	}
}

// commitGroup writes a group and answers its callers. A request that failed in a
// group for what may not be its own fault is tried again alone, in its own transaction:
// on PostgreSQL a lock conflict (another collector's group, or a revision, taking the
// same rows in another order: PostgreSQL breaks the deadlock by failing one statement),
// and the group's rollups failing, which fails every request of the group.
func (db *DB) commitGroup(group []*insertRequest) {
	// Not a caller's context: once taken, a request is written or failed for all to see,
	// and Close waits for the group.
	ctx := context.Background()
	answers := db.writeGroup(ctx, group)
	for i, r := range group {
		if err := answers[i].err; len(group) > 1 && (retryAlone(err) || errors.Is(err, errGroupCounts)) {
			db.log.Info("insert batch: retried alone after its group failed", "store", r.origin.StoreID, "err", err)
			answers[i] = db.writeGroup(ctx, group[i:i+1])[0]
		}
		r.done <- answers[i]
	}
}

// errGroupCounts marks the failure of a group's rollups, which no one request of it
// can be blamed for.
var errGroupCounts = errors.New("the group's rollups failed")

// writeGroup runs a group's requests in one transaction, each in a savepoint when there
// are several, then adds what the requests that succeeded stored to the rollups, once
// per store, and commits once.
func (db *DB) writeGroup(ctx context.Context, group []*insertRequest) []insertAnswer {
	answers := make([]insertAnswer, len(group))
	failAll := func(err error) []insertAnswer {
		for i := range answers {
			answers[i] = insertAnswer{err: err}
		}
		return answers
	}
	t, err := db.ingest.BeginTx(ctx, nil)
	if err != nil {
		return failAll(fmt.Errorf("insert batch: begin: %w", err))
	}
	defer t.Rollback()
	if err := lockIngest(ctx, t, group); err != nil {
		return failAll(err)
	}
	counts := groupCounts{stores: map[string]*storeCounts{}, devices: map[string]bool{}}
	if len(group) == 1 {
		// Alone, the transaction is the savepoint.
		res, c, err := db.insertRequestTx(ctx, t, group[0])
		if err != nil {
			return failAll(err)
		}
		counts.add(group[0], c)
		if err := writeCounts(ctx, t, counts); err != nil {
			return failAll(err)
		}
		if err := t.Commit(); err != nil {
			return failAll(fmt.Errorf("insert batch: commit: %w", err))
		}
		answers[0].res = res
		return answers
	}
	for i, r := range group {
		// The previous request's savepoint is released as this one's is set: one round
		// trip (without arguments, both drivers run several statements).
		step := `SAVEPOINT insert_request`
		if i > 0 {
			step = `RELEASE SAVEPOINT insert_request; ` + step
		}
		if _, err := t.ExecContext(ctx, step); err != nil {
			return failAll(fmt.Errorf("insert batch: savepoint: %w", err))
		}
		var c storeCounts
		answers[i].res, c, answers[i].err = db.insertRequestTx(ctx, t, r)
		if answers[i].err != nil {
			if _, err := t.ExecContext(ctx, `ROLLBACK TO SAVEPOINT insert_request`); err != nil {
				return failAll(fmt.Errorf("insert batch: roll back to savepoint: %w", err))
			}
		} else {
			counts.add(r, c)
		}
	}
	if _, err := t.ExecContext(ctx, `RELEASE SAVEPOINT insert_request`); err != nil {
		return failAll(fmt.Errorf("insert batch: release savepoint: %w", err))
	}
	if err := writeCounts(ctx, t, counts); err != nil {
		return failAll(fmt.Errorf("%w: %w", errGroupCounts, err))
	}
	if err := t.Commit(); err != nil {
		return failAll(fmt.Errorf("insert batch: commit: %w", err))
	}
	return answers
}

// retryAlone reports whether a request that failed in a group may succeed alone:
// PostgreSQL's deadlock_detected and serialization_failure.
func retryAlone(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 40P01") || strings.Contains(msg, "SQLSTATE 40001")
}

// storeCounts are what one request's new responses add to its store's rollups.
type storeCounts struct {
	rollups map[rollupKey]dayCounts
	themes  map[themeKey]nps.Tally
}

// groupCounts are what a group's stored requests add up to: their storeCounts by
// store, and the devices they came from, as of the latest request. Each store's rollups
// and report sums are written once a group (writeCounts), where each request used to
// write its own, a dozen statements or more each; the devices' last contact likewise.
type groupCounts struct {
	stores  map[string]*storeCounts
	devices map[string]bool
	now     time.Time
}

func (g *groupCounts) add(r *insertRequest, c storeCounts) {
	if r.origin.DeviceID != "" {
		g.devices[r.origin.DeviceID] = true
	}
	if r.now.After(g.now) {
		g.now = r.now
	}
	if len(c.rollups) == 0 && len(c.themes) == 0 {
		return
	}
	sum := g.stores[r.origin.StoreID]
	if sum == nil {
		sum = &storeCounts{rollups: map[rollupKey]dayCounts{}, themes: map[themeKey]nps.Tally{}}
		g.stores[r.origin.StoreID] = sum
	}
	for k, d := range c.rollups {
		s := sum.rollups[k]
		s.add(d)
		sum.rollups[k] = s
	}
	for k, d := range c.themes {
		s := sum.themes[k]
		s.Promoters += d.Promoters
		s.Passives += d.Passives
		s.Detractors += d.Detractors
		sum.themes[k] = s
	}
}

// writeCounts adds a group's counts to the rollups, the report sums and theme_rollups,
// store by store in id order, so that two groups take the stores' locks in one order,
// and notes its devices' uploads.
func writeCounts(ctx context.Context, t tx, counts groupCounts) error {
	for _, storeID := range slices.Sorted(maps.Keys(counts.stores)) {
		c := counts.stores[storeID]
		if err := addRollups(ctx, t, storeID, c.rollups); err != nil {
			return fmt.Errorf("insert batch: %w", err)
		}
		if err := addThemeRollups(ctx, t, storeID, c.themes); err != nil {
			return fmt.Errorf("insert batch: %w", err)
		}
	}
	return noteUploads(ctx, t, counts.devices, counts.now)
}
