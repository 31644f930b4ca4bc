-- Evidence (issue 15): photo fingerprints and flags, and the hash-chained event log.

-- What each photo says about itself, and what was found wrong with it.
-- phash: perceptual hash (signed 64 bits); NULL for a flat picture, and for a
--   photo stored before this migration until its file is read at the next start.
-- taken_at, latitude, longitude: from the original's EXIF; NULL: no metadata.
-- reused_of: the photo on record this one matches; kept because the sender
--   insisted. time_flag: 'before_hazard' (taken before the hazard was recorded)
--   or 'stale' (taken days before the fix was reported).
ALTER TABLE photos ADD COLUMN phash INTEGER;
ALTER TABLE photos ADD COLUMN crop_hashes TEXT;  -- JSON list: hashes of a few crops of it
ALTER TABLE photos ADD COLUMN taken_at TEXT;
ALTER TABLE photos ADD COLUMN latitude REAL;
ALTER TABLE photos ADD COLUMN longitude REAL;
ALTER TABLE photos ADD COLUMN reused_of INTEGER REFERENCES photos(id);
ALTER TABLE photos ADD COLUMN time_flag TEXT
    CHECK (time_flag IS NULL OR time_flag IN ('before_hazard', 'stale'));
CREATE INDEX photos_by_fix ON photos (fix_report_id);

-- A photo that matched one on record, waiting for its sender to send another
-- or to keep it anyway (one per person: a new photo replaces it).
CREATE TABLE suspect_photos (
    tg_user_id INTEGER PRIMARY KEY,
    hazard_id INTEGER NOT NULL REFERENCES hazards(id),
    fix_report_id INTEGER REFERENCES fix_reports(id),
    kind TEXT NOT NULL CHECK (kind IN ('before', 'after')),
    photo TEXT NOT NULL,             -- JSON of the stored photo (storage.photos.StoredPhoto)
    file_unique_id TEXT,
    matches INTEGER NOT NULL REFERENCES photos(id),
    created_at TEXT NOT NULL
);

-- The chain: each event carries its position in its chain (one chain per
-- school, 'city' for the rest), the previous event's hash and its own.
-- Events written before this migration are chained at the next start, in
-- the order they were written (the only change the trigger below allows).
ALTER TABLE events ADD COLUMN chain TEXT;
ALTER TABLE events ADD COLUMN seq INTEGER;
ALTER TABLE events ADD COLUMN prev_hash TEXT;
ALTER TABLE events ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX events_by_chain ON events (chain, seq) WHERE chain IS NOT NULL;
CREATE INDEX events_by_hash ON events (hash);
-- xiaoan verify walks each chain in the order its events were written.
CREATE INDEX events_by_chain_order ON events (chain, id);

-- The last event of each chain: where the next one links to. One row per
-- chain, so writers for different schools never touch the same row.
CREATE TABLE chain_heads (
    chain TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);

-- Heads recorded by the daily job (and on demand): digest is the hash over
-- all heads at that moment, heads their JSON {chain: [seq, hash]}.
CREATE TABLE chain_anchors (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    digest TEXT NOT NULL,
    heads TEXT NOT NULL
);
CREATE INDEX chain_anchors_by_digest ON chain_anchors (digest);

DROP TRIGGER events_append_only_update;
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
WHEN OLD.hash IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
