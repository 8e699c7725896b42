-- Reserved: 0018 is the store formats and segment rollups migration of the
-- insight-segments branch. This no-op only keeps the numbering without gaps on the
-- insight-drivers branch; delete it when merging, in favour of that branch's 0018.
SELECT 1;
