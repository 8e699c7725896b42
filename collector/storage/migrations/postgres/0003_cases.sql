-- Follow-up rules: the chain's (scope '') and any store's own, as JSON followup.Rule.
CREATE TABLE follow_up_rules (
    scope      TEXT PRIMARY KEY,
    rule       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A follow-up case, opened at ingest in the same transaction as its response.
CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    response_id TEXT NOT NULL UNIQUE REFERENCES responses (id),
    store_id    TEXT NOT NULL REFERENCES stores (id),
    status      TEXT NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',
    opened_at   BIGINT NOT NULL,
    due_at      BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1
);

CREATE INDEX cases_store_status ON cases (store_id, status, due_at);

-- Every change of a case: who, when, what.
CREATE TABLE case_events (
    id          BIGSERIAL PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases (id),
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT NOT NULL DEFAULT '',
    to_status   TEXT NOT NULL DEFAULT '',
    owner       TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT ''
);

CREATE INDEX case_events_case ON case_events (case_id, id);
