-- The integration API (issue 19): GET /v1/responses pages responses in the collector's
-- own received order, and API tokens carry scopes.
--
-- A response's position is (xid, seq): the id of the transaction that inserted it and a
-- sequence value. A sequence alone is not enough: transactions commit out of order, so
-- a reader paging by seq could pass a value whose transaction commits later and never
-- see that row. The reader therefore only serves rows whose xid is below its snapshot's
-- xmin (every transaction below it has ended), ordered by (xid, seq); any row that
-- commits later has an xid at or above that xmin, so it sorts after every row served.
-- storage/cursor.go and docs/architecture.md give the whole argument.
--
-- The volatile default rewrites the table once, giving every existing row this
-- migration's xid: lower than any later insert's.
ALTER TABLE responses ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE SEQUENCE responses_seq;
ALTER TABLE responses ADD COLUMN seq BIGINT;
UPDATE responses SET seq = o.n
  FROM (SELECT id, row_number() OVER (ORDER BY received_at, id) AS n FROM responses) o
 WHERE o.id = responses.id;
SELECT setval('responses_seq', COALESCE((SELECT MAX(seq) FROM responses), 0) + 1, false);
ALTER TABLE responses ALTER COLUMN seq SET DEFAULT nextval('responses_seq'),
                      ALTER COLUMN seq SET NOT NULL;
ALTER SEQUENCE responses_seq OWNED BY responses.seq;
CREATE INDEX responses_position ON responses (xid, seq);
-- A store's token always reads one store: without this, its poll would scan every other
-- store's rows stored since its own last one, at every poll.
CREATE INDEX responses_store_position ON responses (store_id, xid, seq);

-- What a token may do (space-separated: read:reports read:responses read:contacts
-- write:cases admin). Tokens made before scopes could read every report, comments and
-- cases with their contacts, change cases and send invitations: they keep exactly that.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
UPDATE api_tokens SET scopes = 'read:reports read:contacts write:cases';
