-- Report sums (issue 20): what lets a report over any range of days read a few rows
-- instead of summing a row per store and day. Derived from daily_rollups and
-- segment_rollups and kept with them in the same transaction (storage/sums.go); the
-- first Open after this migration fills them (buildReportSums), which report_sums_state
-- records. No foreign keys: the rows are derived, and stores are never deleted.
--
-- A slice is which responses a row counts: '' every one, 'c:<channel>', 't:<touchpoint>',
-- 'c:<channel>/t:<touchpoint>' or 'g:<segment>' (labels are a-z, 0-9, - and _).

-- Each day's counts of the chain (scope ''), of a region ('r:<region>') and of a store
-- format ('f:<format>'), per slice: a chain's trend over 30 days reads 30 days' rows, not
-- 30 times every store's. shard spreads each day over rows picked by store, so that
-- concurrent uploads from different stores do not all wait on one row.
CREATE TABLE scope_days (
    scope      TEXT NOT NULL,
    slice      TEXT NOT NULL,
    day        TEXT NOT NULL,
    shard      INTEGER NOT NULL,
    promoters  INTEGER NOT NULL,
    passives   INTEGER NOT NULL,
    detractors INTEGER NOT NULL,
    suspect    INTEGER NOT NULL,
    PRIMARY KEY (scope, slice, day, shard)
) STRICT, WITHOUT ROWID;

-- Prefix sums per store and slice: the counts of every day up to and including day, with
-- a row for every day from the slice's first day at the store to its last (gaps carried
-- forward), so that a range's counts for every store are two rows a store, all stores'
-- rows for one day read as one index range.
CREATE TABLE store_sums (
    slice      TEXT NOT NULL,
    day        TEXT NOT NULL,
    store_id   TEXT NOT NULL,
    promoters  INTEGER NOT NULL,
    passives   INTEGER NOT NULL,
    detractors INTEGER NOT NULL,
    suspect    INTEGER NOT NULL,
    PRIMARY KEY (slice, day, store_id)
) STRICT, WITHOUT ROWID;

-- Each store slice's first and last day in store_sums and its counts on the last: the
-- counts of a store whose last day is before a range's end.
CREATE TABLE store_sums_last (
    slice      TEXT NOT NULL,
    store_id   TEXT NOT NULL,
    first_day  TEXT NOT NULL,
    last_day   TEXT NOT NULL,
    promoters  INTEGER NOT NULL,
    passives   INTEGER NOT NULL,
    detractors INTEGER NOT NULL,
    suspect    INTEGER NOT NULL,
    PRIMARY KEY (slice, store_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE report_sums_state (
    built INTEGER NOT NULL
) STRICT;
INSERT INTO report_sums_state (built) VALUES (0);

-- One store's trend for one segment reads its own rows, not every store's.
CREATE INDEX segment_rollups_store ON segment_rollups (store_id, segment, day);
