-- The integration API (issue 19): GET /v1/responses pages responses in the collector's
-- own received order, and API tokens carry scopes.
--
-- seq is each response's position in received order. SQLite has one writer, so a value
-- handed out inside the writing transaction grows in commit order: a reader that has
-- seen position n has seen every committed row up to n. The values come from
-- response_seq (reserved per batch in InsertBatch), not from the rowid: SQLite reuses
-- the highest rowid after that row is deleted (retention, erasure), which would put a
-- new row behind a cursor that already passed it. Gaps (duplicates in a batch) are fine.
ALTER TABLE responses ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE responses SET seq = o.n
  FROM (SELECT id, row_number() OVER (ORDER BY received_at, rowid) AS n FROM responses) o
 WHERE o.id = responses.id;
CREATE UNIQUE INDEX responses_seq ON responses (seq);
-- A store's token always reads one store: without this, its poll would scan every other
-- store's rows stored since its own last one, at every poll.
CREATE INDEX responses_store_seq ON responses (store_id, seq);

CREATE TABLE response_seq (last INTEGER NOT NULL) STRICT;
INSERT INTO response_seq (last) SELECT COALESCE(MAX(seq), 0) FROM responses;

-- What a token may do (space-separated: read:reports read:responses read:contacts
-- write:cases admin). Tokens made before scopes could read every report, comments and
-- cases with their contacts, change cases and send invitations: they keep exactly that.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
UPDATE api_tokens SET scopes = 'read:reports read:contacts write:cases';
