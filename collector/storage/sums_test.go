package storage

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// TestReportSumsEqualScan is the property the report sums rest on: whatever was
// uploaded, in whatever order, revised or moved between regions, every report read from
// them equals the same report by a full scan of the responses, for random filters and
// random ranges, on both databases; and the sums kept at each upload equal the sums built
// from the rollups in one go.
func TestReportSumsEqualScan(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := openOn(t, b)
		rng := rand.New(rand.NewPCG(20, 12))
		h := seedRandomHistory(t, db, rng)

		for i := range 300 {
			f := h.randomFilter(rng)
			name := fmt.Sprintf("#%d %+v", i, f)
			rolled, err := db.NPS(ctx, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			scanned, err := scanNPS(ctx, db, f)
			if err != nil {
				t.Fatal(err)
			}
			if rolled != scanned {
				t.Fatalf("%s: NPS from sums %+v, by scan %+v", name, rolled, scanned)
			}
			perStore, err := db.perStore(ctx, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			perStoreScan, err := scanPerStore(ctx, db, f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(byStoreID(perStore), byStoreID(perStoreScan)) {
				t.Fatalf("%s: per store from sums %v, by scan %v", name, perStore, perStoreScan)
			}
			for _, interval := range []string{"day", "week"} {
				trend, err := db.Trend(ctx, f, interval)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				trendScan, err := scanTrendBy(ctx, db, f, interval)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(trend, trendScan) {
					t.Fatalf("%s: trend by %s from sums %v, by scan %v", name, interval, trend, trendScan)
				}
			}
		}

		// What each upload kept equals what a rebuild from the rollups makes.
		kept := h.sumTables(t, db)
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := rebuildReportSums(ctx, tx); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		rebuilt := h.sumTables(t, db)
		for table, rows := range rebuilt {
			if !slices.Equal(kept[table], rows) {
				t.Errorf("%s: kept at upload %d rows, rebuilt %d rows, and they differ", table, len(kept[table]), len(rows))
			}
		}
	})
}

type randomHistory struct {
	first, last time.Time // the days responses fall on, in UTC
	stores      []string
	regions     []string
	formats     []string
	channels    []string
	touchpoints []string
	segments    []string
}

// seedRandomHistory uploads about 2,000 responses to 12 stores in six time zones, in
// batches whose days come in random order (so series grow at both ends and across gaps),
// then revises some (moving their counts to another category or segment) and moves two
// stores to another region and format.
func seedRandomHistory(t *testing.T, db *DB, rng *rand.Rand) randomHistory {
	t.Helper()
	ctx := context.Background()
	h := randomHistory{
		first:       time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC),
		last:        time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
		regions:     []string{"", "North", "South", "East"},
		formats:     []string{"", "express", "supermarket"},
		channels:    []string{"kiosk", "qr", "web"},
		touchpoints: []string{"", "door", "till"},
		segments:    []string{"", "vip", "new"},
	}
	zones := []string{"UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo", "Pacific/Kiritimati", "Pacific/Pago_Pago"}
	locs := map[string]*time.Location{}
	for i := range 12 {
		id := fmt.Sprintf("S%02d", i)
		zone := zones[i%len(zones)]
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		locs[id] = loc
		if err := db.AddStore(ctx, Store{ID: id, Name: "Store " + id, Timezone: zone,
			Region: h.regions[rng.IntN(len(h.regions))], Format: h.formats[rng.IntN(len(h.formats))]}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.write.ExecContext(ctx, `INSERT INTO devices (id, store_id, name, created_at) VALUES (?, ?, 'Till', 0)`, "D"+id, id); err != nil {
			t.Fatal(err)
		}
		h.stores = append(h.stores, id)
	}
	span := h.last.Sub(h.first)
	var stored []NewResponse
	storeOf := map[string]string{}
	for range 100 {
		store := h.stores[rng.IntN(len(h.stores))]
		// Each batch lands around one moment, as a device's queue does.
		around := h.first.Add(time.Duration(rng.Int64N(int64(span))))
		var batch []NewResponse
		for range 1 + rng.IntN(40) {
			at := around.Add(time.Duration(rng.Int64N(int64(72*time.Hour))) - 36*time.Hour)
			r := NewResponse{Response: wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: rng.IntN(11),
				Reasons: []string{}, Locale: "en", SurveyVersion: 1, CreatedAt: at, CompletedAt: at.Add(10 * time.Second),
				Outcome: response.OutcomeSubmitted, Channel: h.channels[rng.IntN(len(h.channels))],
				Segment: h.segments[rng.IntN(len(h.segments))], Suspect: rng.IntN(20) == 0}}
			if r.Channel != "kiosk" {
				r.Touchpoint = h.touchpoints[rng.IntN(len(h.touchpoints))]
			}
			r.Day = at.In(locs[store]).Format(time.DateOnly)
			r.Hash = r.ID
			batch = append(batch, r)
			storeOf[r.ID] = store
		}
		if _, err := db.InsertBatch(ctx, Origin{StoreID: store, DeviceID: "D" + store}, batch); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, batch...)
	}
	// Revisions: a new score and perhaps a new segment, moved in the rollups as
	// ReviseResponse moves them.
	for _, r := range stored[:len(stored)/10] {
		score, segment := rng.IntN(11), h.segments[rng.IntN(len(h.segments))]
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE responses SET score = ?, segment = ? WHERE id = ?`, score, segment, r.ID); err != nil {
			t.Fatal(err)
		}
		moves := rollupMove(rollupKey{r.Day, r.Channel, r.Touchpoint, r.Segment}, rollupKey{r.Day, r.Channel, r.Touchpoint, segment},
			r.Score, score, r.Suspect)
		if len(moves) > 0 {
			if err := addRollups(ctx, tx, storeOf[r.ID], moves); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range h.stores[:2] {
		region, format := "West", "outlet"
		if err := db.SetStore(ctx, id, StoreChange{Region: &region, Format: &format}); err != nil {
			t.Fatal(err)
		}
	}
	h.regions = append(h.regions, "West")
	h.formats = append(h.formats, "outlet")
	return h
}

// randomFilter picks a range around the history (sometimes past either end) and a few
// random narrowings, some of which only the rollups can answer.
func (h randomHistory) randomFilter(rng *rand.Rand) Filter {
	days := int(h.last.Sub(h.first).Hours()/24) + 20
	from := h.first.AddDate(0, 0, rng.IntN(days)-10)
	to := from.AddDate(0, 0, rng.IntN(days))
	f := Filter{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly)}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	switch rng.IntN(4) {
	case 0:
		f.StoreID = pick(h.stores)
	case 1:
		f.Region = pick(h.regions)
	case 2:
		f.Format = pick(h.formats)
	}
	if rng.IntN(8) == 0 {
		f.Region, f.Format = pick(h.regions), pick(h.formats)
	}
	switch rng.IntN(5) {
	case 0:
		f.Channel = pick(h.channels)
	case 1:
		f.Touchpoint = pick(h.touchpoints)
	case 2:
		f.Channel, f.Touchpoint = pick(h.channels), pick(h.touchpoints)
	case 3:
		f.Segment = pick(h.segments)
	}
	if rng.IntN(8) == 0 {
		f.Segment, f.Channel = pick(h.segments), pick(h.channels)
	}
	return f
}

// sumTables reads the report-sum tables whole: scope_days in key order with its shards
// added up, store_snapshots as each store's totals on each day they change (two tables
// that agree on every day's totals are equal, whichever days have rows).
func (h randomHistory) sumTables(t *testing.T, db *DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, q := range map[string]string{
		"scope_days": `SELECT scope, slice, day, SUM(promoters), SUM(passives), SUM(detractors), SUM(suspect) FROM scope_days
			GROUP BY scope, slice, day HAVING SUM(promoters) <> 0 OR SUM(passives) <> 0 OR SUM(detractors) <> 0 OR SUM(suspect) <> 0
			ORDER BY scope, slice, day`,
	} {
		rows, err := db.read.QueryContext(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var (
				a, b, c string
				n       nps.Tally
				s       int64
			)
			if err := rows.Scan(&a, &b, &c, &n.Promoters, &n.Passives, &n.Detractors, &s); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], fmt.Sprint(a, "|", b, "|", c, "|", n, s))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	out["store_snapshots"] = snapshotChanges(t, db)
	return out
}

// snapshotChanges is store_snapshots as each store's totals per scope and slice on each
// day they change, in order.
func snapshotChanges(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.read.QueryContext(context.Background(),
		`SELECT scope, slice, shard, day, counts FROM store_snapshots ORDER BY scope, slice, shard, day`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var (
		out     []string
		shard   string
		current map[string]dayCounts
	)
	for rows.Next() {
		var (
			scope, slice, day string
			n                 int
			counts            []byte
		)
		if err := rows.Scan(&scope, &slice, &n, &day, &counts); err != nil {
			t.Fatal(err)
		}
		if key := fmt.Sprint(scope, "|", slice, "|", n); key != shard {
			shard, current = key, map[string]dayCounts{}
		}
		s, err := decodeSnapshot(counts)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSortedFunc(s, func(a, b storeTotal) int { return strings.Compare(a.store, b.store) }) {
			t.Fatalf("snapshot %s on %s is not in store order: %v", shard, day, s)
		}
		now := map[string]dayCounts{}
		for _, e := range s {
			if e.counts.empty() {
				t.Fatalf("snapshot %s on %s holds an empty store: %v", shard, day, s)
			}
			now[e.store] = e.counts
		}
		for _, id := range slices.Sorted(maps.Keys(now)) {
			if now[id] != current[id] {
				out = append(out, fmt.Sprint(scope, "|", slice, "|", id, "|", day, "|", now[id]))
			}
		}
		for _, id := range slices.Sorted(maps.Keys(current)) {
			if _, ok := now[id]; !ok {
				out = append(out, fmt.Sprint(scope, "|", slice, "|", id, "|", day, "|gone"))
			}
		}
		current = now
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// openOn opens a collector database on b, closed when the test ends.
func openOn(t *testing.T, b storagetest.Backend) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{Path: b.Path(t), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// byStoreID is a per-store report in store id order, to compare two.
func byStoreID(stores []StoreNPS) []StoreNPS {
	return slices.SortedFunc(slices.Values(stores), func(a, b StoreNPS) int { return strings.Compare(a.ID, b.ID) })
}

// A busy scope: every shard of a region has a row on both days a range needs, so
// PostgreSQL reads them in one statement and probes for none (the random history above
// is too thin for that, and probes nearly always). The stores table still equals a scan,
// for the region, for one of its stores and for the chain around it, whose 64 shards are
// not all busy: some are read by day, the rest probed.
func TestStoresTableOfABusyScopeEqualsScan(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := openOn(t, b)
		rng := rand.New(rand.NewPCG(3, 5))
		shards := map[int]bool{}
		var stores []string
		for i := 0; len(shards) < snapshotShards("r:R") || len(stores) < 24; i++ {
			id := fmt.Sprintf("B%03d", i)
			shards[snapshotShard(id, "r:R")] = true
			stores = append(stores, id)
			if err := db.AddStore(ctx, Store{ID: id, Name: id, Timezone: "UTC", Region: "R"}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.write.ExecContext(ctx, `INSERT INTO devices (id, store_id, name, created_at) VALUES (?, ?, 'Till', 0)`, "D"+id, id); err != nil {
				t.Fatal(err)
			}
		}
		first := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		for d := range 5 {
			for _, id := range stores {
				if _, err := db.InsertBatch(ctx, Origin{StoreID: id, DeviceID: "D" + id}, groupBatch(rng, first.AddDate(0, 0, d), 1+rng.IntN(3))); err != nil {
					t.Fatal(err)
				}
			}
		}
		day := func(d int) string { return first.AddDate(0, 0, d).Format(time.DateOnly) }
		// Every shard of the region has a row on the range's two days: nothing to probe.
		var rows int
		if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM store_snapshots WHERE scope = 'r:R' AND slice = '' AND day IN (?, ?)`,
			day(4), day(0)).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 2*snapshotShards("r:R") {
			t.Fatalf("%d snapshots of the region on the two days, want one a shard a day: %d", rows, 2*snapshotShards("r:R"))
		}
		for _, f := range []Filter{
			{From: day(1), To: day(4), Region: "R"},
			{From: day(1), To: day(3), Region: "R"},
			{From: day(1), To: day(4), Region: "R", StoreID: stores[3]},
			{From: day(1), To: day(4), StoreID: stores[5]},
			{From: day(1), To: day(4)},
		} {
			got, err := db.perStore(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := scanPerStore(ctx, db, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 || !slices.Equal(byStoreID(got), byStoreID(want)) {
				t.Errorf("%+v: from the sums %v, by scan %v", f, got, want)
			}
		}
	})
}
