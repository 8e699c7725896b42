-- Survey links of two more kinds: a website's widget key ('site') and a mobile app's key
-- ('app'). Each answers for one store, channel and touchpoint like a printed link, but
-- only from the web origins (and app bundle ids) it lists, at its own rate. Their
-- answers are stored through the link like any other, so every report splits them.
ALTER TABLE links ADD COLUMN kind TEXT NOT NULL DEFAULT 'link';
ALTER TABLE links ADD COLUMN origins TEXT NOT NULL DEFAULT '';
ALTER TABLE links ADD COLUMN bundle_ids TEXT NOT NULL DEFAULT '';
ALTER TABLE links ADD COLUMN rate_per_minute INTEGER NOT NULL DEFAULT 0;
