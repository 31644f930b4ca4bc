-- Day-one friction.
-- The command menu set for each person's chat (by role): what was last set,
-- so a change of role or of the texts sets it again, and nothing else does.
CREATE TABLE command_menus (
    person_id INTEGER PRIMARY KEY REFERENCES people(id),
    digest TEXT NOT NULL,
    set_at TEXT NOT NULL
);

-- The question a person may answer by typing (a date, say): its message,
-- so the typed answer is confirmed in the question's place.
CREATE TABLE open_questions (
    chat_id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    message_id INTEGER NOT NULL,
    html TEXT NOT NULL,
    asked_at TEXT NOT NULL
);
