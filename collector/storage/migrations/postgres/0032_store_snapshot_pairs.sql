-- compatible: previous
-- Every stores table reads, per shard of its scope, the latest store snapshot on or
-- before each end of its range (storeTotals). As one prepared statement, PostgreSQL
-- planned it again on each run, a custom plan for its arguments that is always the
-- same two backward index probes a shard: a tenth of a millisecond, a quarter of a
-- region's stores table. Called through this function the statement is planned once
-- per connection, generically.
CREATE FUNCTION store_snapshot_pairs(p_scope TEXT, p_slice TEXT, p_to TEXT, p_before TEXT, p_shards INTEGER[])
RETURNS TABLE (to_counts BYTEA, before_counts BYTEA)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY SELECT
        (SELECT s.counts FROM store_snapshots s
          WHERE s.scope = p_scope AND s.slice = p_slice AND s.shard = g.shard AND s.day <= p_to
          ORDER BY s.day DESC LIMIT 1),
        (SELECT s.counts FROM store_snapshots s
          WHERE s.scope = p_scope AND s.slice = p_slice AND s.shard = g.shard AND s.day <= p_before
          ORDER BY s.day DESC LIMIT 1)
    FROM unnest(p_shards) WITH ORDINALITY AS g(shard, n)
    ORDER BY g.n;
END
$$;
