-- compatible: previous
-- Staged rollouts of the kiosk package: each row sets the version the kiosks in it
-- should run, for a percentage of the fleet (by a stable hash of the device id) and/or
-- the kiosks of named stores; the newest row is the rollout in force, halted when
-- halted_at is set. Each device's row keeps what its updater last said: the version it
-- was asked for and how that went (pending, upgraded, failed, rolled_back).
CREATE TABLE rollouts (
    id         TEXT PRIMARY KEY,
    version    TEXT NOT NULL,
    percent    INTEGER NOT NULL,
    stores     TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    halted_at  INTEGER
);

ALTER TABLE devices ADD COLUMN update_target TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN update_state TEXT NOT NULL DEFAULT '';
