-- Rectification (整改) and the outbox.
-- Hazard states widen: open -> submitted -> closed, submitted -> open when a fix
-- is returned, open -> unfixable (the building goes out of use and is to be
-- demolished). SQLite cannot widen a CHECK in place: the table is rebuilt the
-- documented way (the runner turns foreign keys off and checks them after).

CREATE TABLE hazards_new (
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
    -- draft while questions remain; open once reported in full;
    -- submitted: a fix reported, waiting for verification; closed: verified (销号);
    -- unfixable: cannot be fixed, the building is out of use until demolished;
    -- withdrawn: a draft its reporter cancelled (kept, never counted)
    state TEXT NOT NULL DEFAULT 'draft'
        CHECK (state IN ('draft', 'open', 'submitted', 'closed', 'unfixable', 'withdrawn')),
    completed_at TEXT,
    closed_at TEXT,
    demolition_due TEXT
);
INSERT INTO hazards_new (
    id, school_id, building_id, campaign_id, inspection_id, item_id, source, reported_by,
    reported_at, photos_done, description, fixable_now, deadline, responsible_id,
    responsible_name, measures, takes_out_of_use, major, funding, contingency_plan, state,
    completed_at
)
SELECT
    id, school_id, building_id, campaign_id, inspection_id, item_id, source, reported_by,
    reported_at, photos_done, description, fixable_now, deadline, responsible_id,
    responsible_name, measures, takes_out_of_use, major, funding, contingency_plan, state,
    completed_at
FROM hazards;
DROP TABLE hazards;
ALTER TABLE hazards_new RENAME TO hazards;
CREATE INDEX hazards_by_building ON hazards (building_id, state);
CREATE INDEX hazards_by_reporter ON hazards (reported_by, state);
CREATE INDEX hazards_by_responsible ON hazards (responsible_id, state);
CREATE INDEX hazards_by_school ON hazards (school_id, state);

-- A fix reported by the responsible person (their signature: who, when, note),
-- then accepted or returned by a verifier (the second signature, or a reason).
CREATE TABLE fix_reports (
    id INTEGER PRIMARY KEY,
    hazard_id INTEGER NOT NULL REFERENCES hazards(id),
    reported_by INTEGER NOT NULL REFERENCES people(id),
    started_at TEXT NOT NULL,
    note TEXT,
    -- draft: after-photos and the note being given; submitted: waiting for a
    -- verifier; accepted: the hazard is closed; returned: sent back with a reason;
    -- dropped: a draft its reporter cancelled
    state TEXT NOT NULL DEFAULT 'draft'
        CHECK (state IN ('draft', 'submitted', 'accepted', 'returned', 'dropped')),
    submitted_at TEXT,
    decided_by INTEGER REFERENCES people(id),
    decided_at TEXT,
    reason TEXT
);
CREATE INDEX fix_reports_by_hazard ON fix_reports (hazard_id, state);
-- At most one fix in the making or waiting per hazard.
CREATE UNIQUE INDEX fix_reports_one_live ON fix_reports (hazard_id)
    WHERE state IN ('draft', 'submitted');

-- After-photos belong to the fix report that brought them.
ALTER TABLE photos ADD COLUMN fix_report_id INTEGER REFERENCES fix_reports(id);

-- Every change of a deadline: asked for (with a reason) and decided, or set
-- directly by a leader (demolition deadlines included).
CREATE TABLE deadline_changes (
    id INTEGER PRIMARY KEY,
    hazard_id INTEGER NOT NULL REFERENCES hazards(id),
    old_deadline TEXT,
    new_deadline TEXT NOT NULL,
    reason TEXT NOT NULL,
    asked_by INTEGER NOT NULL REFERENCES people(id),
    asked_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'asked' CHECK (state IN ('asked', 'approved', 'refused')),
    decided_by INTEGER REFERENCES people(id),
    decided_at TEXT,
    refusal TEXT
);
CREATE INDEX deadline_changes_by_hazard ON deadline_changes (hazard_id);
CREATE UNIQUE INDEX deadline_changes_one_asked ON deadline_changes (hazard_id)
    WHERE state = 'asked';

-- A person who blocked the bot: not written to again until they write to it.
ALTER TABLE people ADD COLUMN blocked_at TEXT;

-- Everything the bot says on its own initiative, written in the same
-- transaction as the change that causes it, sent by a job (ARCHITECTURE "Sending").
-- key is unique: a message planned twice is stored once.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people(id),
    chat_id INTEGER NOT NULL,
    text TEXT NOT NULL,                 -- Telegram HTML, in the person's language
    buttons TEXT NOT NULL DEFAULT '[]', -- JSON rows of [label, callback data]
    photos TEXT NOT NULL DEFAULT '[]',  -- JSON list of photo hashes: an album first
    album_sent_at TEXT,                 -- the album went out; only the text is left
    created_at TEXT NOT NULL,
    not_before TEXT NOT NULL,
    -- pending: to send; sent; failed: gave up after retries; blocked: the person
    -- blocked the bot; dropped: no longer applies (superseded or the subject changed)
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'failed', 'blocked', 'dropped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TEXT,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox (state, not_before) WHERE state = 'pending';
CREATE INDEX outbox_by_person ON outbox (person_id, state);
