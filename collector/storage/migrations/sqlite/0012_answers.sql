-- Answers to a survey's extra questions (per channel or touchpoint), as JSON by
-- question key: {"delivery_speed": ["4"], "found": ["yes"]}; '' when none.
ALTER TABLE responses ADD COLUMN answers TEXT NOT NULL DEFAULT '';
