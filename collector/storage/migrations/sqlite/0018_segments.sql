-- Segments: stores carry a format (supermarket, express, outlet, …: a label like a
-- channel's) beside their region, and responses with a customer segment are also
-- counted per segment, so every report can be cut by region, format, segment and
-- channel from rollups alone.
ALTER TABLE stores ADD COLUMN format TEXT NOT NULL DEFAULT '';
CREATE INDEX stores_region ON stores (region, id);
CREATE INDEX stores_format ON stores (format, id);

-- The per-day counts of the responses that carry a segment, beside daily_rollups (which
-- counts every response, whatever its segment). A segment key in daily_rollups itself
-- would split each store's day into a row per segment and slow every report that does
-- not ask for one (most of them): with five responses a store a day and four segments,
-- about three times the rows. Reports with a segment read this table instead; it is
-- keyed segment first and then by day, so one segment's period is one index range.
CREATE TABLE segment_rollups (
    segment    TEXT NOT NULL,
    day        TEXT NOT NULL,
    store_id   TEXT NOT NULL REFERENCES stores (id),
    channel    TEXT NOT NULL,
    touchpoint TEXT NOT NULL DEFAULT '',
    promoters  INTEGER NOT NULL DEFAULT 0,
    passives   INTEGER NOT NULL DEFAULT 0,
    detractors INTEGER NOT NULL DEFAULT 0,
    suspect    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (segment, day, store_id, channel, touchpoint)
) STRICT;

INSERT INTO segment_rollups (segment, day, store_id, channel, touchpoint, promoters, passives, detractors, suspect)
SELECT segment, day, store_id, channel, touchpoint,
       SUM(CASE WHEN suspect THEN 0 WHEN score >= 9 THEN 1 ELSE 0 END),
       SUM(CASE WHEN suspect THEN 0 WHEN score BETWEEN 7 AND 8 THEN 1 ELSE 0 END),
       SUM(CASE WHEN suspect THEN 0 WHEN score <= 6 THEN 1 ELSE 0 END),
       SUM(CASE WHEN suspect THEN 1 ELSE 0 END)
  FROM responses WHERE segment <> ''
 GROUP BY segment, day, store_id, channel, touchpoint;
