-- compatible: previous
-- A device added for the kiosk's setup screen has a setup PIN beside its one-time code:
-- the screen shows which store the code joins, and enrolls, only with both. Kept is a
-- hash of code and PIN together, so the PIN alone says nothing. Wrong PINs are counted:
-- at MaxSetupPINFailures the code stops working.
ALTER TABLE devices ADD COLUMN setup_pin_hash TEXT;
ALTER TABLE devices ADD COLUMN setup_pin_failures INTEGER NOT NULL DEFAULT 0;
