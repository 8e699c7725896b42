-- Segments: stores carry a format (supermarket, express, outlet, …: a label like a
-- channel's) beside their region, and the rollups are kept per customer segment too, so
-- every report can be cut by region, format, segment and channel from the rollups alone.
-- SQLite cannot change a primary key in place: daily_rollups is rebuilt by copy and
-- rename, as in 0008.
ALTER TABLE stores ADD COLUMN format TEXT NOT NULL DEFAULT '';
CREATE INDEX stores_region ON stores (region, id);
CREATE INDEX stores_format ON stores (format, id);

CREATE TABLE daily_rollups_new (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    day        TEXT NOT NULL,
    channel    TEXT NOT NULL DEFAULT 'kiosk',
    touchpoint TEXT NOT NULL DEFAULT '',
    segment    TEXT NOT NULL DEFAULT '',
    promoters  INTEGER NOT NULL DEFAULT 0,
    passives   INTEGER NOT NULL DEFAULT 0,
    detractors INTEGER NOT NULL DEFAULT 0,
    suspect    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, day, channel, touchpoint, segment)
) STRICT;

-- Every count moves over under segment '' first, then the responses that carry a
-- segment are moved to rows of their own. Moving (rather than rebuilding from the
-- responses alone) keeps whatever the rollups count that the responses no longer hold.
INSERT INTO daily_rollups_new (store_id, day, channel, touchpoint, promoters, passives, detractors, suspect)
SELECT store_id, day, channel, touchpoint, promoters, passives, detractors, suspect FROM daily_rollups;

INSERT INTO daily_rollups_new (store_id, day, channel, touchpoint, segment, promoters, passives, detractors, suspect)
SELECT store_id, day, channel, touchpoint, segment,
       SUM(CASE WHEN suspect THEN 0 WHEN score >= 9 THEN 1 ELSE 0 END),
       SUM(CASE WHEN suspect THEN 0 WHEN score BETWEEN 7 AND 8 THEN 1 ELSE 0 END),
       SUM(CASE WHEN suspect THEN 0 WHEN score <= 6 THEN 1 ELSE 0 END),
       SUM(CASE WHEN suspect THEN 1 ELSE 0 END)
  FROM responses WHERE segment <> ''
 GROUP BY store_id, day, channel, touchpoint, segment;

UPDATE daily_rollups_new AS d
   SET promoters = d.promoters - s.promoters, passives = d.passives - s.passives,
       detractors = d.detractors - s.detractors, suspect = d.suspect - s.suspect
  FROM (SELECT store_id, day, channel, touchpoint, SUM(promoters) AS promoters, SUM(passives) AS passives,
               SUM(detractors) AS detractors, SUM(suspect) AS suspect
          FROM daily_rollups_new WHERE segment <> '' GROUP BY store_id, day, channel, touchpoint) AS s
 WHERE d.segment = '' AND d.store_id = s.store_id AND d.day = s.day AND d.channel = s.channel
   AND d.touchpoint = s.touchpoint;

-- A day whose every response carries a segment leaves an empty '' row behind.
DELETE FROM daily_rollups_new
 WHERE segment = '' AND promoters = 0 AND passives = 0 AND detractors = 0 AND suspect = 0;

DROP TABLE daily_rollups;
ALTER TABLE daily_rollups_new RENAME TO daily_rollups;
