-- Supervision (督查): draws, visits, supervision walks, findings.
-- A hazard found off the school's list keeps the visit that found it (its
-- origin) and whether it is accident-grade (按事故对待); a building the school
-- never registered keeps the visit that added it (遗漏建筑). Columns are added,
-- not rebuilt, so that nothing another migration added to these tables is lost.

-- A draw (双随机): its seed, the candidate lists and the result, so that anyone
-- can make it again (``xiaoan draw --verify``). Lists are JSON.
CREATE TABLE supervision_draws (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    seed TEXT NOT NULL,
    schools_asked INTEGER NOT NULL CHECK (schools_asked >= 1),
    supervisors_per_visit INTEGER NOT NULL CHECK (supervisors_per_visit >= 1),
    districts TEXT NOT NULL DEFAULT '[]',
    kinds TEXT NOT NULL DEFAULT '[]',
    school_candidates TEXT NOT NULL,   -- [{id, name, district, kind}] in id order
    supervisor_pool TEXT NOT NULL,     -- [{id, name, school_ids}] in id order
    result TEXT NOT NULL,              -- [{school_id, supervisor_ids}] in drawing order
    drawn_by INTEGER REFERENCES people(id),  -- NULL: the command line
    drawn_at TEXT NOT NULL
);

-- A visit to one school: drawn (planned until started on site) or chosen by hand.
CREATE TABLE supervision_visits (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    school_id INTEGER NOT NULL REFERENCES schools(id),
    draw_id INTEGER REFERENCES supervision_draws(id),
    chosen_by TEXT NOT NULL CHECK (chosen_by IN ('drawn', 'by_hand')),
    state TEXT NOT NULL DEFAULT 'planned' CHECK (state IN ('planned', 'started', 'ended')),
    created_at TEXT NOT NULL,
    started_at TEXT,
    started_by INTEGER REFERENCES people(id),
    ended_at TEXT,
    ended_by INTEGER REFERENCES people(id)
);
-- One visit at a time per school: planned or under way.
CREATE UNIQUE INDEX supervision_visits_one_live ON supervision_visits (campaign_id, school_id)
    WHERE state != 'ended';
CREATE INDEX supervision_visits_by_school ON supervision_visits (school_id, campaign_id);

CREATE TABLE visit_supervisors (
    visit_id INTEGER NOT NULL REFERENCES supervision_visits(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    PRIMARY KEY (visit_id, person_id)
);
CREATE INDEX visit_supervisors_by_person ON visit_supervisors (person_id);

-- A building walked in supervision mode, answered blind; one walker at a time
-- per building, and the visit's supervisors may walk different buildings at once.
CREATE TABLE supervision_walks (
    id INTEGER PRIMARY KEY,
    visit_id INTEGER NOT NULL REFERENCES supervision_visits(id),
    building_id INTEGER NOT NULL REFERENCES buildings(id),
    checklist_version_id INTEGER NOT NULL REFERENCES checklist_versions(id),
    walker_id INTEGER NOT NULL REFERENCES people(id),
    started_at TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    finished_at TEXT,
    UNIQUE (visit_id, building_id)
);

-- The supervisor's answer, and the school's own answer on the item when it was
-- given (kept as it stood then: the record says what was contradicted).
CREATE TABLE supervision_answers (
    id INTEGER PRIMARY KEY,
    walk_id INTEGER NOT NULL REFERENCES supervision_walks(id),
    item_id INTEGER NOT NULL REFERENCES checklist_items(id),
    choice TEXT NOT NULL CHECK (choice IN ('ok', 'hz', 'na')),
    school_choice TEXT CHECK (school_choice IN ('ok', 'hz', 'na')),
    answered_by INTEGER NOT NULL REFERENCES people(id),
    answered_at TEXT NOT NULL,
    UNIQUE (walk_id, item_id)
);

-- What a supervisor found. A draft while its photos, description and weight are
-- given; then recorded with its kind: listed (hazard_id: the school's hazard it
-- matches), off_list / accident (hazard_id: the hazard it put on the ledger),
-- rectified_badly (hazard_id: the closed hazard it reopened; closed_fix_id: the
-- fix whose two signatures stay on record; verifier_id: who closed it),
-- missed_building (building_id: the building added).
CREATE TABLE supervision_findings (
    id INTEGER PRIMARY KEY,
    visit_id INTEGER NOT NULL REFERENCES supervision_visits(id),
    walk_id INTEGER REFERENCES supervision_walks(id),
    building_id INTEGER REFERENCES buildings(id),
    item_id INTEGER REFERENCES checklist_items(id),
    state TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'recorded', 'withdrawn')),
    kind TEXT CHECK (kind IN ('listed', 'off_list', 'accident', 'rectified_badly',
                              'missed_building')),
    photos_done INTEGER NOT NULL DEFAULT 0,
    description TEXT,
    major INTEGER,
    hazard_id INTEGER REFERENCES hazards(id),
    closed_fix_id INTEGER REFERENCES fix_reports(id),
    verifier_id INTEGER REFERENCES people(id),
    found_by INTEGER NOT NULL REFERENCES people(id),
    found_at TEXT NOT NULL,
    recorded_at TEXT
);
CREATE INDEX supervision_findings_by_visit ON supervision_findings (visit_id, state);
CREATE INDEX supervision_findings_by_hazard ON supervision_findings (hazard_id);

CREATE TABLE finding_photos (
    id INTEGER PRIMARY KEY,
    finding_id INTEGER NOT NULL REFERENCES supervision_findings(id),
    sha256 TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    tg_file_unique_id TEXT,
    uploaded_by INTEGER NOT NULL REFERENCES people(id),
    uploaded_at TEXT NOT NULL,
    UNIQUE (finding_id, sha256)
);

ALTER TABLE hazards ADD COLUMN visit_id INTEGER REFERENCES supervision_visits(id);
ALTER TABLE hazards ADD COLUMN accident_grade INTEGER NOT NULL DEFAULT 0;
ALTER TABLE buildings ADD COLUMN missed_visit_id INTEGER REFERENCES supervision_visits(id);
