-- Full-text search over comments (issue 18, item 6): a tsvector kept by PostgreSQL
-- itself (a generated column) with a GIN index.
--
-- The 'simple' configuration: comments come in four languages (en, es, fr, de) and a
-- response's locale is the screen's, not always the comment's, so a per-language
-- stemmer would stem some comments with the wrong language and miss words a shopper
-- typed; 'simple' lower-cases and splits, nothing more, which is also what the SQLite
-- index does (FTS5 unicode61). Accents are folded with translate(), upper and lower
-- case alike as lower() may not know them under the C locale (translate is immutable,
-- so it may be used in a generated column; the unaccent extension is not always
-- installed and is not immutable); the query is folded the same way (storage's
-- postgresDialect.search, pgAccents).
ALTER TABLE responses ADD COLUMN comment_tsv tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', lower(translate(comment,
        'àáâãäåāçćčèéêëēėęìíîïīñńòóôõöøōùúûüūýÿžźżšśÀÁÂÃÄÅĀÇĆČÈÉÊËĒĖĘÌÍÎÏĪÑŃÒÓÔÕÖØŌÙÚÛÜŪÝŸŽŹŻŠŚ',
        'aaaaaaaccceeeeeeeiiiiinnooooooouuuuuyyzzzssaaaaaaaccceeeeeeeiiiiinnooooooouuuuuyyzzzss')))
) STORED;
CREATE INDEX responses_comment_tsv ON responses USING GIN (comment_tsv);

-- The comments list pages newest first by (created_at, id).
CREATE INDEX responses_created ON responses (created_at, id);
