-- compatible: previous
-- Settings HQ gives kiosks (npscollector settings set): the manager PIN's hash, the idle
-- timeout, languages, display name, brightness and sleep hours, for the chain (scope
-- '*') or one store (its id), as JSON; a store's fields override the chain's one by one.
-- version grows with every write of any scope (a cleared scope keeps its row, body '{}',
-- so the highest version never goes back). Devices report the version they run with and
-- the settings they override locally.
CREATE TABLE device_settings (
    scope      TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
);

ALTER TABLE devices ADD COLUMN settings_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN local_overrides TEXT NOT NULL DEFAULT '';
