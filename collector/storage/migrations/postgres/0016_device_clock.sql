-- A kiosk whose clock was wrong: the collector stores its responses' times corrected by
-- the device's skew (or by their monotonic ages) and keeps the times the device sent here.
-- NULL when the device's times were taken as they are.
ALTER TABLE responses ADD COLUMN device_created_at BIGINT;
ALTER TABLE responses ADD COLUMN device_completed_at BIGINT;
-- Why a response's time cannot be right even corrected: 'before_enrollment' (before its
-- device was enrolled) or 'future' (later than the collector's clock allows). Such a
-- response is kept, flagged suspect and left out of NPS.
ALTER TABLE responses ADD COLUMN clock_flag TEXT;
