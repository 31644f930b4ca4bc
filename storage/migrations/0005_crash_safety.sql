-- Crash safety around the edges: notices in flight, and which question a person saw.

-- A message is marked in flight (committed) before it is handed to Telegram and
-- unmarked by its outcome. One still marked at start-up was being sent when the
-- bot stopped: Telegram may or may not have it. It is sent again once
-- (``interrupted`` counts such stops) and, unless the channel honours an
-- idempotency key (the local chat), recorded as possibly sent twice.
ALTER TABLE outbox ADD COLUMN in_flight_at TEXT;
ALTER TABLE outbox ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN possibly_twice INTEGER NOT NULL DEFAULT 0;

-- Which question of their journey a person has been shown. ``version`` moves in
-- every transaction of the person's own updates (an answer, a new journey...);
-- ``shown_version`` is the version the last question shown was asked at, and
-- ``shown_message_id`` that question's message. A typed text is an answer only
-- when the question it answers is the one shown (``shown_version = version``)
-- and the text came after it (a larger message id): a text re-typed because
-- a crash swallowed the reply is not taken as the answer to the next question.
CREATE TABLE journey_marks (
    tg_user_id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 0,
    shown_version INTEGER,
    shown_message_id INTEGER,
    language TEXT
);
