-- Holding under attack (issue 11).
--
-- The bot works in private chats only. A group, supergroup or channel is told
-- so once: this table remembers which were told.
CREATE TABLE group_chats (
    chat_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('group', 'supergroup', 'channel')),
    told_at TEXT NOT NULL
);

-- A person's chat is their private chat, whose id Telegram makes their user id.
-- `/start <code>` sent in a group once stored the group instead: such rows are
-- put right, and triggers refuse it from now on.
UPDATE people SET chat_id = tg_user_id WHERE chat_id <> tg_user_id;

CREATE TRIGGER people_private_chat_insert BEFORE INSERT ON people
WHEN NEW.chat_id <> NEW.tg_user_id
BEGIN
    SELECT RAISE(ABORT, 'a person''s chat is their private chat');
END;

CREATE TRIGGER people_private_chat_update BEFORE UPDATE OF chat_id, tg_user_id ON people
WHEN NEW.chat_id <> NEW.tg_user_id
BEGIN
    SELECT RAISE(ABORT, 'a person''s chat is their private chat');
END;

-- A failure after an update was applied (its reply failed, a later step broke)
-- was recorded nowhere: the inbox row was already done. Failures are kept here
-- for the operator (`xiaoan errors`), and outlive the inbox's pruning.
CREATE TABLE update_errors (
    id INTEGER PRIMARY KEY,
    update_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    tg_user_id INTEGER,
    kind TEXT NOT NULL,
    after_commit INTEGER NOT NULL CHECK (after_commit IN (0, 1)),
    error TEXT NOT NULL
);
CREATE INDEX update_errors_at ON update_errors (at);
