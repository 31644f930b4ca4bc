-- The scheduler and the lasting mechanism (长效机制).
-- A school may walk its buildings again in rounds opened by a recurring
-- inspection; the campaign's own walk is round NULL. The inspections table is
-- rebuilt (SQLite cannot drop a table's UNIQUE in place) so that a building is
-- walked once per campaign and round.

-- A recurring inspection set by a principal or leader: every week, month or term.
CREATE TABLE recurring_inspections (
    id INTEGER PRIMARY KEY,
    school_id INTEGER NOT NULL REFERENCES schools(id),
    every TEXT NOT NULL CHECK (every IN ('week', 'month', 'term')),
    set_by INTEGER NOT NULL REFERENCES people(id),
    set_at TEXT NOT NULL,
    stopped_at TEXT,
    stopped_by INTEGER REFERENCES people(id)
);
CREATE UNIQUE INDEX recurring_one_live ON recurring_inspections (school_id)
    WHERE stopped_at IS NULL;

-- One new walk of a school's buildings, opened by a recurring inspection for a
-- period (the week, month or term starting on period_start), due on ``due``.
CREATE TABLE inspection_rounds (
    id INTEGER PRIMARY KEY,
    school_id INTEGER NOT NULL REFERENCES schools(id),
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    recurring_id INTEGER NOT NULL REFERENCES recurring_inspections(id),
    period_start TEXT NOT NULL,
    due TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    UNIQUE (recurring_id, period_start)
);
CREATE INDEX inspection_rounds_by_school ON inspection_rounds (school_id, campaign_id);

CREATE TABLE inspections_new (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    building_id INTEGER NOT NULL REFERENCES buildings(id),
    round_id INTEGER REFERENCES inspection_rounds(id),  -- NULL: the campaign's walk
    checklist_version_id INTEGER NOT NULL REFERENCES checklist_versions(id),
    walker_id INTEGER NOT NULL REFERENCES people(id),
    started_by INTEGER NOT NULL REFERENCES people(id),
    started_at TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    extra_done INTEGER NOT NULL DEFAULT 0,
    closed_at TEXT,
    closed_by INTEGER REFERENCES people(id)
);
INSERT INTO inspections_new (
    id, campaign_id, building_id, checklist_version_id, walker_id, started_by, started_at,
    last_activity_at, extra_done, closed_at, closed_by
)
SELECT
    id, campaign_id, building_id, checklist_version_id, walker_id, started_by, started_at,
    last_activity_at, extra_done, closed_at, closed_by
FROM inspections;
DROP TABLE inspections;
ALTER TABLE inspections_new RENAME TO inspections;
CREATE UNIQUE INDEX inspections_one_walk
    ON inspections (campaign_id, building_id, IFNULL(round_id, 0));
CREATE INDEX inspections_by_walker ON inspections (walker_id, campaign_id);

-- The campaign in force: the one started last (from the config or the command line).
ALTER TABLE campaigns ADD COLUMN in_force INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX campaigns_one_in_force ON campaigns (in_force) WHERE in_force = 1;

-- The hour a person prefers their reminders at (NULL: reminders.send_hour).
ALTER TABLE people ADD COLUMN reminder_hour INTEGER;

-- The planner's reads: hazards near or past their deadline, counts per school.
CREATE INDEX hazards_by_deadline ON hazards (state, deadline);
CREATE INDEX hazards_by_school_deadline ON hazards (school_id, state, deadline);
CREATE INDEX fix_reports_waiting ON fix_reports (state, submitted_at);
