-- Segments: stores carry a format (supermarket, express, outlet, …: a label like a
-- channel's) beside their region, and the rollups are kept per customer segment too, so
-- every report can be cut by region, format, segment and channel from the rollups alone.
ALTER TABLE stores ADD COLUMN format TEXT NOT NULL DEFAULT '';
CREATE INDEX stores_region ON stores (region, id);
CREATE INDEX stores_format ON stores (format, id);

ALTER TABLE daily_rollups ADD COLUMN segment TEXT NOT NULL DEFAULT '';
ALTER TABLE daily_rollups DROP CONSTRAINT daily_rollups_pkey;
ALTER TABLE daily_rollups ADD PRIMARY KEY (store_id, day, channel, touchpoint, segment);

-- Every count is under segment '' now; the responses that carry a segment are moved to
-- rows of their own. Moving (rather than rebuilding from the responses alone) keeps
-- whatever the rollups count that the responses no longer hold.
INSERT INTO daily_rollups (store_id, day, channel, touchpoint, segment, promoters, passives, detractors, suspect)
SELECT store_id, day, channel, touchpoint, segment,
       SUM(CASE WHEN suspect THEN 0 WHEN score >= 9 THEN 1 ELSE 0 END),
       SUM(CASE WHEN suspect THEN 0 WHEN score BETWEEN 7 AND 8 THEN 1 ELSE 0 END),
       SUM(CASE WHEN suspect THEN 0 WHEN score <= 6 THEN 1 ELSE 0 END),
       SUM(CASE WHEN suspect THEN 1 ELSE 0 END)
  FROM responses WHERE segment <> ''
 GROUP BY store_id, day, channel, touchpoint, segment;

UPDATE daily_rollups AS d
   SET promoters = d.promoters - s.promoters, passives = d.passives - s.passives,
       detractors = d.detractors - s.detractors, suspect = d.suspect - s.suspect
  FROM (SELECT store_id, day, channel, touchpoint, SUM(promoters) AS promoters, SUM(passives) AS passives,
               SUM(detractors) AS detractors, SUM(suspect) AS suspect
          FROM daily_rollups WHERE segment <> '' GROUP BY store_id, day, channel, touchpoint) AS s
 WHERE d.segment = '' AND d.store_id = s.store_id AND d.day = s.day AND d.channel = s.channel
   AND d.touchpoint = s.touchpoint;

-- A day whose every response carries a segment leaves an empty '' row behind.
DELETE FROM daily_rollups
 WHERE segment = '' AND promoters = 0 AND passives = 0 AND detractors = 0 AND suspect = 0;
