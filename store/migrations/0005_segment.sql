-- The customer segment the kiosk was set to when the shopper tapped (its config's
-- segment); '' when none, as every response before it. It uploads as the response's
-- segment, which the collector's reports filter by.
ALTER TABLE responses ADD COLUMN segment TEXT NOT NULL DEFAULT '';
