-- Answers to the survey's extra questions asked of kiosks, as JSON by question key
-- ({"found": ["yes"], "speed": ["4"]}); '' when none were asked or answered.
ALTER TABLE responses ADD COLUMN answers TEXT NOT NULL DEFAULT '';
