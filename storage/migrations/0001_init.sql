-- The first schema: joining, the checklist, walks, hazards, photos,
-- the inbox of received updates and the append-only event log.
-- Times are ISO 8601 with their UTC offset; dates are YYYY-MM-DD.

CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    self_inspection_due TEXT,
    rectification_due TEXT,
    supervision_due TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE schools (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    ownership TEXT NOT NULL CHECK (ownership IN ('public', 'private')),
    district TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES people(id)
);

CREATE TABLE buildings (
    id INTEGER PRIMARY KEY,
    school_id INTEGER NOT NULL REFERENCES schools(id),
    name TEXT NOT NULL,
    use TEXT NOT NULL,
    floors INTEGER NOT NULL CHECK (floors >= 1),
    year_built INTEGER,
    out_of_use INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES people(id),
    UNIQUE (school_id, name)
);

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    tg_user_id INTEGER NOT NULL UNIQUE,
    chat_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'zh',
    joined_at TEXT NOT NULL
);

CREATE TABLE memberships (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    school_id INTEGER REFERENCES schools(id),
    role TEXT NOT NULL CHECK (role IN ('taskforce', 'supervisor', 'principal', 'leader', 'staff')),
    invitation_id INTEGER REFERENCES invitations(id),
    created_at TEXT NOT NULL,
    UNIQUE (person_id, school_id, role)
);

CREATE TABLE invitations (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    school_id INTEGER REFERENCES schools(id),
    created_by INTEGER REFERENCES people(id),  -- NULL: the command line
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    max_uses INTEGER NOT NULL CHECK (max_uses >= 1),
    uses INTEGER NOT NULL DEFAULT 0,
    revoked_at TEXT,
    revoked_by INTEGER REFERENCES people(id)
);

CREATE TABLE checklist_versions (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);

CREATE TABLE checklist_items (
    id INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES checklist_versions(id),
    position INTEGER NOT NULL,
    code TEXT NOT NULL,
    category TEXT NOT NULL,
    uses TEXT NOT NULL,             -- comma-separated; '' = every use
    built_before INTEGER,
    text_zh TEXT NOT NULL,
    text_en TEXT NOT NULL,
    UNIQUE (version_id, code)
);

-- A walk: one building inspected once in a campaign.
CREATE TABLE inspections (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    building_id INTEGER NOT NULL REFERENCES buildings(id),
    checklist_version_id INTEGER NOT NULL REFERENCES checklist_versions(id),
    walker_id INTEGER NOT NULL REFERENCES people(id),
    started_by INTEGER NOT NULL REFERENCES people(id),
    started_at TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    extra_done INTEGER NOT NULL DEFAULT 0,
    closed_at TEXT,
    closed_by INTEGER REFERENCES people(id),
    UNIQUE (campaign_id, building_id)
);

CREATE TABLE answers (
    id INTEGER PRIMARY KEY,
    inspection_id INTEGER NOT NULL REFERENCES inspections(id),
    item_id INTEGER NOT NULL REFERENCES checklist_items(id),
    choice TEXT NOT NULL CHECK (choice IN ('ok', 'hz', 'na')),
    answered_by INTEGER NOT NULL REFERENCES people(id),
    answered_at TEXT NOT NULL,
    UNIQUE (inspection_id, item_id)
);

CREATE TABLE hazards (
    id INTEGER PRIMARY KEY,
    school_id INTEGER NOT NULL REFERENCES schools(id),
    building_id INTEGER REFERENCES buildings(id),   -- NULL until a quick report names it
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    inspection_id INTEGER REFERENCES inspections(id),
    item_id INTEGER REFERENCES checklist_items(id),  -- NULL: a free-form hazard
    source TEXT NOT NULL CHECK (source IN ('walk', 'quick')),
    reported_by INTEGER NOT NULL REFERENCES people(id),
    reported_at TEXT NOT NULL,
    photos_done INTEGER NOT NULL DEFAULT 0,
    description TEXT,
    fixable_now INTEGER,
    deadline TEXT,
    responsible_id INTEGER REFERENCES people(id),
    responsible_name TEXT,
    measures TEXT,
    takes_out_of_use INTEGER,
    major INTEGER,
    funding TEXT,
    contingency_plan TEXT,
    -- draft while questions remain; open once reported in full
    -- withdrawn: a draft its reporter cancelled (kept, never counted)
    state TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'open', 'withdrawn')),
    completed_at TEXT
);
CREATE INDEX hazards_by_building ON hazards (building_id, state);
CREATE INDEX hazards_by_reporter ON hazards (reported_by, state);

CREATE TABLE photos (
    id INTEGER PRIMARY KEY,
    hazard_id INTEGER NOT NULL REFERENCES hazards(id),
    kind TEXT NOT NULL DEFAULT 'before' CHECK (kind IN ('before', 'after')),
    sha256 TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    tg_file_unique_id TEXT,
    uploaded_by INTEGER NOT NULL REFERENCES people(id),
    uploaded_at TEXT NOT NULL,
    UNIQUE (hazard_id, sha256)
);

-- What the bot waits for next from a person (a typed name, a floor count, ...).
CREATE TABLE pending_inputs (
    tg_user_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);

-- Received updates, stored before they are confirmed to Telegram; done_at is
-- set in the transaction that applies the update.
CREATE TABLE inbox (
    update_id INTEGER PRIMARY KEY,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    done_at TEXT,
    error TEXT
);
CREATE INDEX inbox_pending ON inbox (done_at) WHERE done_at IS NULL;

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_id INTEGER REFERENCES people(id),  -- NULL: the command line or the bot itself
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX events_by_subject ON events (subject, subject_id);

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
