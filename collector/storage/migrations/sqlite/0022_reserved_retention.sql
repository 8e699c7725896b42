-- Placeholder for the retention migration (issue 19, another branch): migration versions
-- run without gaps, and 0024 needs a 0022 before it. Replace with the real 0022 on merge.
SELECT 1;
