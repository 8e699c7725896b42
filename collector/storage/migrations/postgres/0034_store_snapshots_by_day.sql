-- compatible: previous
-- A scope's stores table needs, for each shard, its latest snapshot on or before the
-- range's last day and on or before the day before its first (storeTotals). In a busy
-- scope every shard has a row on both days, and this index finds all of them in one
-- range scan, where the primary key took two index probes a shard: 16 for a region, 128
-- for the chain, 10-20 µs each on the 2-core machine. store_snapshots_at returns those
-- rows, then probes as before only the shards that had none on a day (a quiet shard or
-- slice, a range ending today before a shop opened), in the same call. Planned once per
-- connection, as store_snapshot_pairs (0032), which it replaces and which stays for the
-- build before this one.
CREATE INDEX store_snapshots_by_day ON store_snapshots (scope, slice, day, shard);

CREATE FUNCTION store_snapshots_at(p_scope TEXT, p_slice TEXT, p_to TEXT, p_before TEXT, p_shards INTEGER[])
RETURNS TABLE (shard INTEGER, is_to BOOLEAN, counts BYTEA)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    found BIGINT;
BEGIN
    RETURN QUERY
        SELECT s.shard::INTEGER, s.day = p_to, s.counts FROM store_snapshots s
         WHERE s.scope = p_scope AND s.slice = p_slice AND s.day IN (p_to, p_before)
           AND s.shard = ANY(p_shards);
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found = 2 * cardinality(p_shards) THEN
        RETURN;
    END IF;
    -- Some shard has no row on one of the days: every shard's latest row on or before
    -- each, as store_snapshot_pairs reads them. The rows found above come again; the
    -- caller keeps the later.
    RETURN QUERY
        SELECT g.n, true,
               (SELECT s.counts FROM store_snapshots s
                 WHERE s.scope = p_scope AND s.slice = p_slice AND s.shard = g.n AND s.day <= p_to
                 ORDER BY s.day DESC LIMIT 1)
          FROM unnest(p_shards) AS g(n)
        UNION ALL
        SELECT g.n, false,
               (SELECT s.counts FROM store_snapshots s
                 WHERE s.scope = p_scope AND s.slice = p_slice AND s.shard = g.n AND s.day <= p_before
                 ORDER BY s.day DESC LIMIT 1)
          FROM unnest(p_shards) AS g(n);
END
$$;
