-- Placeholder for the contacts-at-rest migration (issue 19, another branch): migration
-- versions run without gaps, and 0024 needs a 0023 before it. Replace with the real 0023
-- on merge.
SELECT 1;
