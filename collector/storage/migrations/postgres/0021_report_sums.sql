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
    shard      BIGINT NOT NULL,
    promoters  BIGINT NOT NULL,
    passives   BIGINT NOT NULL,
    detractors BIGINT NOT NULL,
    suspect    BIGINT NOT NULL,
    PRIMARY KEY (scope, slice, day, shard)
);

-- Each store's running totals per scope and slice, packed: a row holds, for the stores
-- of one shard of the scope, every store's counts from its first day up to and including
-- day (storage/sums.go encodes them). A row is written only on a day something in the
-- shard changed; the state on any day is the shard's latest row on or before it. Every
-- store's counts over a range are then two rows a shard (the range's last day and the
-- day before its first), whatever the number of days, and a scope's stores are a few
-- dozen rows, not a row per store.
CREATE TABLE store_snapshots (
    scope  TEXT NOT NULL,
    slice  TEXT NOT NULL,
    shard  BIGINT NOT NULL,
    day    TEXT NOT NULL,
    counts BYTEA NOT NULL,
    PRIMARY KEY (scope, slice, shard, day)
);

CREATE TABLE report_sums_state (
    built BIGINT NOT NULL
);
INSERT INTO report_sums_state (built) VALUES (0);

-- One store's trend for one segment reads its own rows, not every store's.
CREATE INDEX segment_rollups_store ON segment_rollups (store_id, segment, day);
