-- PLACEHOLDER on branch contacts-erase only: 0022 belongs to the retention work, merged
-- separately; migrations must run without gaps, so this stands in for it here. Delete this
-- file when merging (the retention branch's 0022 replaces it).
SELECT 1;
